// Neural-network functions, as torch.nn.functional names them.
import { checkNumber, checkOneOf, invalidParameterError } from '../util/check.js';
import { op, ops, type Tensor } from './tensor.js';

type Pair = number | [number, number];

function pair(v: Pair, name: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every(Number.isInteger)) throw invalidParameterError(name, 'an integer or a pair of integers', v);
  return p;
}

function expectDims(x: Tensor, dims: number, fn: string): void {
  if (x.ndim !== dims) throw new RangeError(`${fn}: expected a ${dims}-d input, got shape [${x.shape.join(', ')}]`);
}

export const linear = (x: Tensor, weight: Tensor, bias?: Tensor): Tensor => op('aten::linear', x, weight, bias);

export interface Conv2dOptions {
  stride?: Pair;
  /** Symmetric padding, or [left, right, top, bottom] for asymmetric ("same") padding. */
  padding?: Pair | [number, number, number, number];
  dilation?: Pair;
  groups?: number;
}

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | undefined, options: Conv2dOptions = {}): Tensor {
  expectDims(x, 4, 'conv2d');
  const padding = options.padding ?? 0;
  let input = x;
  let sym: [number, number] = [0, 0];
  if (Array.isArray(padding) && padding.length === 4) {
    input = pad(x, padding);
  } else {
    sym = pair(padding as Pair, 'conv2d.padding');
  }
  try {
    return op('aten::conv2d', input, weight, bias, pair(options.stride ?? 1, 'conv2d.stride'), sym, pair(options.dilation ?? 1, 'conv2d.dilation'), options.groups ?? 1);
  } finally {
    if (input !== x) input.dispose();
  }
}

/** Pads the last dims: [left, right, top, bottom, ...] as torch.nn.functional.pad. */
export function pad(x: Tensor, padding: readonly number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
  if (mode === 'constant') return op('aten::constant_pad_nd', x, [...padding], value);
  return op('aten::pad', x, [...padding], mode, undefined);
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}): Tensor {
  const k = pair(kernelSize, 'maxPool2d.kernelSize');
  return op('aten::max_pool2d', x, k, pair(options.stride ?? k, 'maxPool2d.stride'), pair(options.padding ?? 0, 'maxPool2d.padding'), pair(options.dilation ?? 1, 'maxPool2d.dilation'), options.ceilMode ?? false);
}

export function avgPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  const k = pair(kernelSize, 'avgPool2d.kernelSize');
  return op('aten::avg_pool2d', x, k, pair(options.stride ?? k, 'avgPool2d.stride'), pair(options.padding ?? 0, 'avgPool2d.padding'), options.ceilMode ?? false, options.countIncludePad ?? true, undefined);
}

export const adaptiveAvgPool2d = (x: Tensor, outputSize: Pair): Tensor => op('aten::adaptive_avg_pool2d', x, pair(outputSize, 'adaptiveAvgPool2d.outputSize'));

export function adaptiveMaxPool2d(x: Tensor, outputSize: Pair): Tensor {
  const [values, indices] = ops('aten::adaptive_max_pool2d', x, pair(outputSize, 'adaptiveMaxPool2d.outputSize'));
  indices!.dispose();
  return values!;
}

export interface BatchNormArgs {
  runningMean?: Tensor;
  runningVar?: Tensor;
  weight?: Tensor;
  bias?: Tensor;
  training: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch norm; in training mode the running statistics are updated in place (PyTorch semantics). */
export function batchNorm(x: Tensor, a: BatchNormArgs): Tensor {
  return op('aten::batch_norm', x, a.weight, a.bias, a.runningMean, a.runningVar, a.training, a.momentum ?? 0.1, a.eps ?? 1e-5, true);
}

export const layerNorm = (x: Tensor, normalizedShape: number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
  op('aten::layer_norm', x, normalizedShape, weight, bias, eps, true);

export const groupNorm = (x: Tensor, numGroups: number, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor =>
  op('aten::group_norm', x, numGroups, weight, bias, eps, true);

export const relu = (x: Tensor): Tensor => op('aten::relu', x);
export const relu6 = (x: Tensor): Tensor => op('aten::hardtanh', x, 0, 6);
export const silu = (x: Tensor): Tensor => op('aten::silu', x);
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => op('aten::gelu', x, approximate);
export const hardswish = (x: Tensor): Tensor => op('aten::hardswish', x);
export const hardsigmoid = (x: Tensor): Tensor => op('aten::hardsigmoid', x);
export const sigmoid = (x: Tensor): Tensor => op('aten::sigmoid', x);
export const tanh = (x: Tensor): Tensor => op('aten::tanh', x);
export const softmax = (x: Tensor, dim: number): Tensor => op('aten::softmax.int', x, dim, undefined);
export const logSoftmax = (x: Tensor, dim: number): Tensor => op('aten::log_softmax.int', x, dim, undefined);

export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  checkNumber('dropout.p', p, 0, 1);
  return op('aten::dropout', x, p, training);
}

export interface InterpolateOptions {
  size?: [number, number];
  scaleFactor?: number | [number, number];
  mode?: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
}

export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  expectDims(x, 4, 'interpolate');
  if (!options.size === !options.scaleFactor) throw new TypeError('interpolate: give exactly one of size and scaleFactor');
  const scales = options.scaleFactor === undefined ? undefined : typeof options.scaleFactor === 'number' ? [options.scaleFactor, options.scaleFactor] : options.scaleFactor;
  const mode = checkOneOf('interpolate.mode', options.mode ?? 'nearest', ['nearest', 'bilinear', 'bicubic'] as const);
  if (mode === 'nearest') return op('aten::upsample_nearest2d.vec', x, options.size, scales);
  const name = mode === 'bilinear' ? 'aten::upsample_bilinear2d.vec' : 'aten::upsample_bicubic2d.vec';
  return op(name, x, options.size, options.alignCorners ?? false, scales);
}

export type Reduction = 'none' | 'mean' | 'sum';
const reductionCode = (r: Reduction = 'mean'): number => ({ none: 0, mean: 1, sum: 2 })[r];

export interface CrossEntropyOptions {
  weight?: Tensor;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy over logits [N, C] with int64 class targets [N] (or probabilities [N, C]). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ls = checkNumber('crossEntropy.labelSmoothing', options.labelSmoothing ?? 0, 0, 1);
  return op('aten::cross_entropy_loss', logits, target, options.weight, reductionCode(options.reduction), options.ignoreIndex ?? -100, ls);
}

export const nllLoss = (logProbs: Tensor, target: Tensor, options: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor =>
  op('aten::nll_loss', logProbs, target, options.weight, reductionCode(options.reduction), options.ignoreIndex ?? -100);

export const binaryCrossEntropy = (probs: Tensor, target: Tensor, options: { weight?: Tensor; reduction?: Reduction } = {}): Tensor =>
  op('aten::binary_cross_entropy', probs, target, options.weight, reductionCode(options.reduction));

export const binaryCrossEntropyWithLogits = (logits: Tensor, target: Tensor, options: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor =>
  op('aten::binary_cross_entropy_with_logits', logits, target, options.weight, options.posWeight, reductionCode(options.reduction));

/** Divides by the p-norm along dim (at least eps), as F.normalize. */
export function normalize(x: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  const n = x.norm(p, dim, true);
  const c = n.clamp(eps);
  const e = c.expandAs(x);
  const out = x.div(e);
  n.dispose();
  c.dispose();
  e.dispose();
  return out;
}

/** softmax(q kᵀ · scale + bias) v, with plain matmuls so it runs (and exports) everywhere. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: { scale?: number; bias?: Tensor } = {}): Tensor {
  const scale = options.scale ?? 1 / Math.sqrt(q.size(-1));
  const kt = k.transpose(-2, -1);
  const raw = q.matmul(kt);
  const scores = raw.mul(scale);
  const biased = options.bias ? scores.add(options.bias) : scores;
  const attn = softmax(biased, -1);
  const out = attn.matmul(v);
  for (const t of new Set([kt, raw, scores, biased, attn])) t.dispose();
  return out;
}

