// ATen op -> ONNX nodes (opset 17), one mapper per schema name. A mapper reads the traced call
// through a MapContext (tensor arguments as ONNX names, plain arguments as given, the shapes seen
// at two batch sizes) and adds nodes that write the call's results. Reshape-like targets write the
// batch-following dim as -1 (or 0, "copy the input's") so the graph takes any batch size.
import type { DType } from '../torch/dtype.js';
import { attr, ONNX_DTYPE, type AttrValue } from './onnx_proto.js';
import type { TracedCall, TracedValue } from './trace.js';

export interface MapContext {
  readonly call: TracedCall;
  /** Plain argument i: a number, boolean, string, list of numbers, or undefined. */
  arg<T = unknown>(i: number): T;
  isTensor(i: number): boolean;
  /** The traced value of tensor argument i. */
  value(i: number): TracedValue;
  /** The ONNX name of tensor argument i (constants become initializers). */
  input(i: number): string;
  /** The ONNX names of the tensors in list argument i, and their values. */
  inputList(i: number): string[];
  valueList(i: number): TracedValue[];
  /** The ONNX name of result k, and its traced value. */
  output(k?: number): string;
  outValue(k?: number): TracedValue;
  /** The value's shape at the second batch size traced (differs from .shape where the batch flows). */
  altShape(v: TracedValue): number[];
  /** Adds a node; outputs default to one fresh name. Returns the first output. */
  node(opType: string, inputs: string[], attributes?: Record<string, AttrValue>, outputs?: string[]): string;
  /** A 1-d int64 initializer. */
  ints(values: readonly (number | bigint)[]): string;
  /** A 1-d float32 initializer. */
  floats(values: readonly number[]): string;
  /** A 0-d initializer of a dtype. */
  scalar(value: number, dtype: DType): string;
  /** An initializer with the given elements (e.g. a weight transposed ahead of time). */
  initializer(dims: readonly number[], dtype: DType, data: Float32Array | BigInt64Array): string;
}

export type Mapper = (c: MapContext) => void;

const INT64_MAX = 9223372036854775807n;

const batchDims = (c: MapContext, v: TracedValue): number[] => {
  const alt = c.altShape(v);
  return v.shape.flatMap((s, i) => (s !== alt[i] ? [i] : []));
};

const norm = (d: number, rank: number): number => (d < 0 ? d + rank : d);

/** Tensor argument i cast to the result's dtype where they differ (PyTorch's type promotion). */
function promoted(c: MapContext, i: number): string {
  const want = c.outValue().dtype;
  if (!c.isTensor(i)) return c.scalar(c.arg<number>(i), want);
  const v = c.value(i);
  return v.dtype === want || c.outValue().dtype === 'bool' ? c.input(i) : c.node('Cast', [c.input(i)], { to: attr.int(ONNX_DTYPE[want]) });
}

const unary =
  (opType: string, attributes?: Record<string, AttrValue>): Mapper =>
  (c) =>
    void c.node(opType, [c.input(0)], attributes, [c.output()]);

/** a op b, with PyTorch's alpha (add/sub: a op alpha * b) and broadcasting (ONNX's is the same). */
const binary =
  (opType: string, alphaArg?: number): Mapper =>
  (c) => {
    let b = promoted(c, 1);
    const alpha = alphaArg === undefined ? 1 : (c.arg<number | undefined>(alphaArg) ?? 1);
    if (alpha !== 1) b = c.isTensor(1) ? c.node('Mul', [b, c.scalar(alpha, c.outValue().dtype)]) : c.scalar(c.arg<number>(1) * alpha, c.outValue().dtype);
    c.node(opType, [promoted(c, 0), b], undefined, [c.output()]);
  };

const compare = (opType: string): Mapper => (c) => {
  const b = c.isTensor(1) ? c.input(1) : c.scalar(c.arg<number>(1), c.value(0).dtype);
  c.node(opType, [c.input(0), b], undefined, [c.output()]);
};

const identity: Mapper = (c) => void c.node('Identity', [c.input(0)], undefined, [c.output()]);

/**
 * The Reshape target for result k: fixed dims as traced; a dim that follows the batch is 0 (copy)
 * where the input has the same dim at the same place, else -1 (at most one such dim).
 */
function reshapeTarget(c: MapContext, input: TracedValue, out: TracedValue): number[] {
  const [inAlt, outAlt] = [c.altShape(input), c.altShape(out)];
  const target = [...out.shape];
  const open: number[] = [];
  for (const d of batchDims(c, out)) {
    if (d < input.shape.length && input.shape[d] === out.shape[d] && inAlt[d] === outAlt[d]) target[d] = 0;
    else open.push(d);
  }
  if (open.length > 1) throw new Error(`the result [${out.shape.join(', ')}] has ${open.length} dims that follow the batch size (${open.join(', ')}); one is the most a Reshape can infer`);
  if (open.length === 1) target[open[0]!] = -1;
  return target;
}

const reshape: Mapper = (c) => {
  const target = reshapeTarget(c, c.value(0), c.outValue());
  c.node('Reshape', [c.input(0), c.ints(target)], undefined, [c.output()]);
};

const transpose = (c: MapContext, perm: number[]): void => void c.node('Transpose', [c.input(0)], { perm: attr.ints(perm) }, [c.output()]);

/** [h, w] pads of a torch padding argument as ONNX's [top, left, bottom, right]. */
const pads2d = (p: number[] | number): number[] => {
  const [h, w] = typeof p === 'number' ? [p, p] : p.length === 1 ? [p[0]!, p[0]!] : [p[0]!, p[1]!];
  return [h, w, h, w];
};
const pair = (p: number[] | number | undefined, fallback: number[]): number[] => (p === undefined || (Array.isArray(p) && p.length === 0) ? fallback : typeof p === 'number' ? [p, p] : p.length === 1 ? [p[0]!, p[0]!] : p);

function requireEval(c: MapContext, trainingArg: number, what: string): void {
  if (c.arg<boolean>(trainingArg)) throw new Error(`${what} runs in training mode: put the model in eval() before exporting`);
}

/** Axes of a reduction: list argument i (all dims when there is none, or it is empty), non-negative. */
function axesOf(c: MapContext, i: number | undefined): number[] {
  const rank = c.value(0).shape.length;
  const dims = i === undefined ? undefined : c.arg<number[] | number | undefined>(i);
  const list = dims === undefined ? [] : [dims].flat();
  return (list.length ? list : [...Array(rank).keys()]).map((d) => norm(d, rank));
}

function reduce(c: MapContext, opType: string, axesArg: number | undefined, keepArg: number | undefined): void {
  const axes = axesOf(c, axesArg);
  const keepdims = attr.int(keepArg === undefined ? false : c.arg<boolean>(keepArg));
  // ReduceSum takes its axes as an input from opset 13; the others as an attribute until opset 18.
  if (opType === 'ReduceSum') c.node(opType, [c.input(0), c.ints(axes)], { keepdims }, [c.output()]);
  else c.node(opType, [c.input(0)], { axes: attr.ints(axes), keepdims }, [c.output()]);
}

function split(c: MapContext, dimArg: number, squeeze: boolean): void {
  const x = c.value(0);
  const axis = norm(c.arg<number>(dimArg), x.shape.length);
  if (batchDims(c, x).includes(axis)) throw new Error('splitting along the batch dim cannot be exported with a dynamic batch');
  const outs = c.call.outputs.map((_, k) => c.outValue(k));
  const sizes = outs.map((o) => (squeeze ? 1 : o.shape[axis]!));
  const names = outs.map((_, k) => (squeeze ? `${c.output(k)}__unsqueezed` : c.output(k)));
  c.node('Split', [c.input(0), c.ints(sizes)], { axis: attr.int(axis) }, names);
  if (squeeze) names.forEach((n, k) => c.node('Squeeze', [n, c.ints([axis])], undefined, [c.output(k)]));
}

function slice(c: MapContext, dim: number, start: number, end: number | undefined, step: number): void {
  const x = c.value(0);
  const axis = norm(dim, x.shape.length);
  const size = x.shape[axis]!;
  if (batchDims(c, x).includes(axis) && !(start === 0 && step === 1 && (end === undefined || end >= size))) {
    throw new Error('slicing part of the batch dim cannot be exported with a dynamic batch');
  }
  const stop = end === undefined || end >= size ? INT64_MAX : end;
  c.node('Slice', [c.input(0), c.ints([start]), c.ints([stop]), c.ints([axis]), c.ints([step])], undefined, [c.output()]);
}

function pool(c: MapContext, opType: 'MaxPool' | 'AveragePool'): void {
  const k = pair(c.arg<number[]>(1), []);
  const attributes: Record<string, AttrValue> = {
    kernel_shape: attr.ints(k),
    strides: attr.ints(pair(c.arg<number[]>(2), k)),
    pads: attr.ints(pads2d(c.arg<number[]>(3) ?? 0)),
  };
  if (opType === 'MaxPool') {
    attributes.dilations = attr.ints(pair(c.arg<number[]>(4), [1, 1]));
    attributes.ceil_mode = attr.int(c.arg<boolean>(5) ?? false);
  } else {
    attributes.ceil_mode = attr.int(c.arg<boolean>(4) ?? false);
    attributes.count_include_pad = attr.int(c.arg<boolean>(5) ?? true);
    if (c.arg(6) !== undefined && c.arg(6) !== null) throw new Error('avg_pool2d with divisor_override has no ONNX equivalent');
  }
  c.node(opType, [c.input(0)], attributes, [c.output()]);
}

/**
 * Resize. Given a scale factor, by that factor (PyTorch then maps coordinates by 1 / factor, as ONNX
 * does); given an output size, to that size, with the batch and channel dims read off the input
 * (a float ratio such as 7/5 could round the output size down).
 */
function resize(c: MapContext, mode: 'nearest' | 'linear' | 'cubic', alignCorners: boolean, scalesArg: number): void {
  const [x, y] = [c.value(0), c.outValue()];
  const attributes: Record<string, AttrValue> = { mode: attr.str(mode) };
  if (mode === 'nearest') {
    attributes.coordinate_transformation_mode = attr.str('asymmetric');
    attributes.nearest_mode = attr.str('floor');
  } else {
    attributes.coordinate_transformation_mode = attr.str(alignCorners ? 'align_corners' : 'pytorch_half_pixel');
    if (mode === 'cubic') attributes.cubic_coeff_a = attr.float(-0.75);
  }
  const factors = c.arg<number[] | undefined | null>(scalesArg);
  if (factors && factors.length) {
    c.node('Resize', [c.input(0), '', c.floats([1, 1, ...factors])], attributes, [c.output()]);
    return;
  }
  const leading = c.node('Slice', [c.node('Shape', [c.input(0)]), c.ints([0]), c.ints([2])]);
  const sizes = c.node('Concat', [leading, c.ints(y.shape.slice(2))], { axis: attr.int(0) });
  if (x.shape.length !== 4) throw new Error(`expected a 4-d input, got [${x.shape.join(', ')}]`);
  c.node('Resize', [c.input(0), '', '', sizes], attributes, [c.output()]);
}

/** GELU from Erf (or the tanh approximation): ONNX has a Gelu op only from opset 20. */
function gelu(c: MapContext): void {
  const x = c.input(0);
  const dt = c.value(0).dtype;
  const half = c.node('Mul', [x, c.scalar(0.5, dt)]);
  let inner: string;
  if (c.arg<string>(1) === 'tanh') {
    const cube = c.node('Mul', [c.node('Mul', [x, x]), x]);
    const poly = c.node('Add', [x, c.node('Mul', [cube, c.scalar(0.044715, dt)])]);
    inner = c.node('Tanh', [c.node('Mul', [poly, c.scalar(Math.sqrt(2 / Math.PI), dt)])]);
  } else {
    inner = c.node('Erf', [c.node('Mul', [x, c.scalar(Math.SQRT1_2, dt)])]);
  }
  c.node('Mul', [half, c.node('Add', [inner, c.scalar(1, dt)])], undefined, [c.output()]);
}

function linear(c: MapContext): void {
  const [x, w] = [c.value(0), c.value(1)];
  const bias = c.isTensor(2) ? [c.input(2)] : [];
  if (x.shape.length === 2) {
    c.node('Gemm', [c.input(0), c.input(1), ...bias], { transB: attr.int(1) }, [c.output()]);
    return;
  }
  // A constant weight is stored transposed, [in, out], for MatMul.
  const wt =
    w.data instanceof Float32Array && w.shape.length === 2
      ? c.initializer([w.shape[1]!, w.shape[0]!], 'float32', transpose2d(w.data, w.shape[0]!, w.shape[1]!))
      : c.node('Transpose', [c.input(1)], { perm: attr.ints([1, 0]) });
  if (!bias.length) {
    c.node('MatMul', [c.input(0), wt], undefined, [c.output()]);
    return;
  }
  c.node('Add', [c.node('MatMul', [c.input(0), wt]), bias[0]!], undefined, [c.output()]);
}

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return out;
}

function clip(c: MapContext, min: number | undefined, max: number | undefined): void {
  const dt = c.value(0).dtype;
  const inputs = [c.input(0), min === undefined ? '' : c.scalar(min, dt)];
  if (max !== undefined) inputs.push(c.scalar(max, dt));
  c.node('Clip', inputs, undefined, [c.output()]);
}

function expand(c: MapContext): void {
  const [x, y] = [c.value(0), c.outValue()];
  const [xAlt, yAlt] = [c.altShape(x), c.altShape(y)];
  const offset = y.shape.length - x.shape.length;
  const dyn = batchDims(c, y);
  const target = y.shape.map((s, i) => {
    const j = i - offset;
    // Where the input already has this size (at both batch sizes), 1 broadcasts to it.
    if (j >= 0 && x.shape[j] === s && xAlt[j] === yAlt[i]) return 1;
    if (dyn.includes(i)) throw new Error('expanding a dim to the batch size cannot be exported with a dynamic batch');
    return s;
  });
  c.node('Expand', [c.input(0), c.ints(target)], undefined, [c.output()]);
}

function pad(c: MapContext, mode: string): void {
  const x = c.value(0);
  const torchPads = c.arg<number[]>(1);
  const rank = x.shape.length;
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  for (let i = 0; i < torchPads.length / 2; i++) {
    begin[rank - 1 - i] = torchPads[2 * i]!;
    end[rank - 1 - i] = torchPads[2 * i + 1]!;
  }
  const inputs = [c.input(0), c.ints([...begin, ...end])];
  if (mode === 'constant') inputs.push(c.scalar(c.arg<number | undefined>(2) ?? 0, x.dtype));
  c.node('Pad', inputs, { mode: attr.str(mode) }, [c.output()]);
}

const MAPPERS: Record<string, Mapper> = {
  // ---- layers ----
  'aten::conv2d': (c) => {
    const w = c.value(1);
    if (typeof c.arg(4) === 'string') throw new Error(`conv2d with padding '${c.arg<string>(4)}' is not supported; give the padding as numbers`);
    const inputs = [c.input(0), c.input(1), ...(c.isTensor(2) ? [c.input(2)] : [])];
    c.node('Conv', inputs, {
      kernel_shape: attr.ints(w.shape.slice(2)),
      strides: attr.ints(pair(c.arg<number[]>(3), [1, 1])),
      pads: attr.ints(pads2d(c.arg<number[]>(4) ?? 0)),
      dilations: attr.ints(pair(c.arg<number[]>(5), [1, 1])),
      group: attr.int(c.arg<number>(6) ?? 1),
    }, [c.output()]);
  },
  'aten::batch_norm': (c) => {
    requireEval(c, 5, 'batch_norm');
    if (!c.isTensor(3) || !c.isTensor(4)) throw new Error('batch_norm without running statistics normalises with batch statistics, which has no inference graph');
    const channels = c.value(0).shape[1]!;
    const scale = c.isTensor(1) ? c.input(1) : c.floats(new Array<number>(channels).fill(1));
    const bias = c.isTensor(2) ? c.input(2) : c.floats(new Array<number>(channels).fill(0));
    c.node('BatchNormalization', [c.input(0), scale, bias, c.input(3), c.input(4)], { epsilon: attr.float(c.arg<number>(7)) }, [c.output()]);
  },
  'aten::layer_norm': (c) => {
    const shape = c.arg<number[]>(1);
    const scale = c.isTensor(2) ? c.input(2) : c.floats(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(1));
    c.node('LayerNormalization', [c.input(0), scale, ...(c.isTensor(3) ? [c.input(3)] : [])], { axis: attr.int(-shape.length), epsilon: attr.float(c.arg<number>(4)) }, [c.output()]);
  },
  'aten::linear': linear,
  'aten::addmm': (c) =>
    void c.node('Gemm', [c.input(1), c.input(2), c.input(0)], { beta: attr.float(c.arg<number | undefined>(3) ?? 1), alpha: attr.float(c.arg<number | undefined>(4) ?? 1) }, [c.output()]),
  'aten::matmul': (c) => void c.node('MatMul', [c.input(0), c.input(1)], undefined, [c.output()]),
  'aten::bmm': (c) => void c.node('MatMul', [c.input(0), c.input(1)], undefined, [c.output()]),
  'aten::dropout': (c) => {
    requireEval(c, 2, 'dropout');
    identity(c);
  },
  // ---- pooling and resizing ----
  'aten::max_pool2d': (c) => pool(c, 'MaxPool'),
  'aten::avg_pool2d': (c) => pool(c, 'AveragePool'),
  'aten::adaptive_avg_pool2d': (c) => {
    const [h, w] = c.value(0).shape.slice(2) as [number, number];
    const [oh, ow] = pair(c.arg<number[]>(1), [1, 1]) as [number, number];
    if (oh === 1 && ow === 1) return void c.node('GlobalAveragePool', [c.input(0)], undefined, [c.output()]);
    if (h % oh || w % ow) throw new Error(`adaptive_avg_pool2d from ${h}x${w} to ${oh}x${ow} has uneven windows, which ONNX's AveragePool cannot express`);
    c.node('AveragePool', [c.input(0)], { kernel_shape: attr.ints([h / oh, w / ow]), strides: attr.ints([h / oh, w / ow]) }, [c.output()]);
  },
  'aten::upsample_nearest2d.vec': (c) => resize(c, 'nearest', false, 2),
  'aten::upsample_bilinear2d.vec': (c) => resize(c, 'linear', c.arg<boolean>(2) ?? false, 3),
  'aten::upsample_bicubic2d.vec': (c) => resize(c, 'cubic', c.arg<boolean>(2) ?? false, 3),
  'aten::constant_pad_nd': (c) => pad(c, 'constant'),
  'aten::pad': (c) => {
    const mode = c.arg<string>(2);
    const onnx = ({ constant: 'constant', reflect: 'reflect', replicate: 'edge' } as Record<string, string>)[mode];
    if (!onnx) throw new Error(`pad mode '${mode}' has no ONNX opset 17 equivalent`);
    pad(c, onnx);
  },
  // ---- activations ----
  'aten::relu': unary('Relu'),
  'aten::sigmoid': unary('Sigmoid'),
  'aten::tanh': unary('Tanh'),
  'aten::hardswish': unary('HardSwish'),
  'aten::hardsigmoid': unary('HardSigmoid', { alpha: attr.float(1 / 6), beta: attr.float(0.5) }),
  // ONNX 17 has no SiLU: x * sigmoid(x).
  'aten::silu': (c) => void c.node('Mul', [c.input(0), c.node('Sigmoid', [c.input(0)])], undefined, [c.output()]),
  'aten::gelu': gelu,
  'aten::hardtanh': (c) => clip(c, c.arg<number | undefined>(1) ?? -1, c.arg<number | undefined>(2) ?? 1),
  'aten::leaky_relu': (c) => void c.node('LeakyRelu', [c.input(0)], { alpha: attr.float(c.arg<number | undefined>(1) ?? 0.01) }, [c.output()]),
  'aten::softmax.int': (c) => void c.node('Softmax', [c.input(0)], { axis: attr.int(c.arg<number>(1)) }, [c.output()]),
  'aten::log_softmax.int': (c) => void c.node('LogSoftmax', [c.input(0)], { axis: attr.int(c.arg<number>(1)) }, [c.output()]),
  // ---- elementwise ----
  'aten::add.Tensor': binary('Add', 2),
  'aten::add.Scalar': binary('Add', 2),
  'aten::sub.Tensor': binary('Sub', 2),
  'aten::sub.Scalar': binary('Sub', 2),
  'aten::mul.Tensor': binary('Mul'),
  'aten::mul.Scalar': binary('Mul'),
  'aten::div.Tensor': binary('Div'),
  'aten::div.Scalar': binary('Div'),
  'aten::rsub.Scalar': (c) => {
    const dt = c.outValue().dtype;
    const alpha = c.arg<number | undefined>(2) ?? 1;
    const x = alpha === 1 ? c.input(0) : c.node('Mul', [c.input(0), c.scalar(alpha, dt)]);
    c.node('Sub', [c.scalar(c.arg<number>(1), dt), x], undefined, [c.output()]);
  },
  'aten::pow.Tensor_Tensor': binary('Pow'),
  'aten::pow.Tensor_Scalar': binary('Pow'),
  'aten::maximum': binary('Max'),
  'aten::minimum': binary('Min'),
  'aten::clamp': (c) => clip(c, c.arg<number | null | undefined>(1) ?? undefined, c.arg<number | null | undefined>(2) ?? undefined),
  'aten::clamp_min': (c) => clip(c, c.arg<number>(1), undefined),
  'aten::neg': unary('Neg'),
  'aten::exp': unary('Exp'),
  'aten::log': unary('Log'),
  'aten::sqrt': unary('Sqrt'),
  'aten::rsqrt': (c) => void c.node('Reciprocal', [c.node('Sqrt', [c.input(0)])], undefined, [c.output()]),
  'aten::abs': unary('Abs'),
  'aten::reciprocal': unary('Reciprocal'),
  'aten::sin': unary('Sin'),
  'aten::cos': unary('Cos'),
  'aten::floor': unary('Floor'),
  'aten::sign': unary('Sign'),
  'aten::erf': unary('Erf'),
  'aten::where.self': (c) => void c.node('Where', [c.input(0), promoted(c, 1), promoted(c, 2)], undefined, [c.output()]),
  'aten::where.ScalarOther': (c) => void c.node('Where', [c.input(0), c.input(1), c.scalar(c.arg<number>(2), c.value(1).dtype)], undefined, [c.output()]),
  'aten::gt.Tensor': compare('Greater'),
  'aten::gt.Scalar': compare('Greater'),
  'aten::lt.Tensor': compare('Less'),
  'aten::lt.Scalar': compare('Less'),
  'aten::ge.Tensor': compare('GreaterOrEqual'),
  'aten::ge.Scalar': compare('GreaterOrEqual'),
  'aten::le.Tensor': compare('LessOrEqual'),
  'aten::le.Scalar': compare('LessOrEqual'),
  'aten::eq.Tensor': compare('Equal'),
  'aten::eq.Scalar': compare('Equal'),
  'aten::logical_not': unary('Not'),
  // ---- reductions ----
  'aten::mean.dim': (c) => {
    const x = c.value(0);
    const axes = axesOf(c, 1);
    if (x.shape.length === 4 && axes.length === 2 && axes.includes(2) && axes.includes(3)) {
      const pooled = c.node('GlobalAveragePool', [c.input(0)], undefined, c.arg<boolean>(2) ? [c.output()] : undefined);
      if (!c.arg<boolean>(2)) c.node('Flatten', [pooled], { axis: attr.int(1) }, [c.output()]);
      return;
    }
    reduce(c, 'ReduceMean', 1, 2);
  },
  'aten::mean': (c) => reduce(c, 'ReduceMean', undefined, undefined),
  'aten::sum.dim_IntList': (c) => reduce(c, 'ReduceSum', 1, 2),
  'aten::sum': (c) => reduce(c, 'ReduceSum', undefined, undefined),
  'aten::amax': (c) => reduce(c, 'ReduceMax', 1, 2),
  'aten::amin': (c) => reduce(c, 'ReduceMin', 1, 2),
  'aten::norm.ScalarOpt_dim': (c) => {
    const p = c.arg<number | undefined>(1) ?? 2;
    if (p !== 1 && p !== 2) throw new Error(`norm with p = ${p}: only the 1- and 2-norms map to ONNX`);
    reduce(c, p === 2 ? 'ReduceL2' : 'ReduceL1', 2, 3);
  },
  'aten::argmax': (c) => {
    if (c.arg(1) === undefined || c.arg(1) === null) throw new Error('argmax over all elements: give a dim');
    c.node('ArgMax', [c.input(0)], { axis: attr.int(c.arg<number>(1)), keepdims: attr.int(c.arg<boolean>(2) ?? false) }, [c.output()]);
  },
  // ---- shapes and views ----
  'aten::view': reshape,
  'aten::reshape': reshape,
  'aten::_unsafe_view': reshape,
  'aten::flatten.using_ints': reshape,
  'aten::unsqueeze': reshape,
  'aten::squeeze': reshape,
  'aten::squeeze.dim': reshape,
  'aten::permute': (c) => transpose(c, c.arg<number[]>(1).map((d) => norm(d, c.value(0).shape.length))),
  'aten::transpose.int': (c) => {
    const rank = c.value(0).shape.length;
    const perm = [...Array(rank).keys()];
    const [a, b] = [norm(c.arg<number>(1), rank), norm(c.arg<number>(2), rank)];
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    transpose(c, perm);
  },
  'aten::t': (c) => transpose(c, c.value(0).shape.length === 2 ? [1, 0] : [0]),
  'aten::expand': expand,
  'aten::contiguous': identity,
  'aten::clone': identity,
  'aten::detach': identity,
  'aten::alias': identity,
  'aten::to.dtype': (c) => {
    if (c.value(0).dtype === c.outValue().dtype) return identity(c);
    c.node('Cast', [c.input(0)], { to: attr.int(ONNX_DTYPE[c.outValue().dtype]) }, [c.output()]);
  },
  'aten::cat': (c) => void c.node('Concat', c.inputList(0), { axis: attr.int(norm(c.arg<number>(1) ?? 0, c.outValue().shape.length)) }, [c.output()]),
  'aten::stack': (c) => {
    const axis = norm(c.arg<number>(1) ?? 0, c.outValue().shape.length);
    const parts = c.inputList(0).map((n) => c.node('Unsqueeze', [n, c.ints([axis])]));
    c.node('Concat', parts, { axis: attr.int(axis) }, [c.output()]);
  },
  'aten::chunk': (c) => split(c, 2, false),
  'aten::split.Tensor': (c) => split(c, 2, false),
  'aten::split_with_sizes': (c) => split(c, 2, false),
  'aten::unbind.int': (c) => split(c, 1, true),
  'aten::slice.Tensor': (c) => slice(c, c.arg<number | undefined>(1) ?? 0, c.arg<number | undefined>(2) ?? 0, c.arg<number | undefined>(3) ?? undefined, c.arg<number | undefined>(4) ?? 1),
  'aten::narrow': (c) => slice(c, c.arg<number>(1), c.arg<number>(2), c.arg<number>(2) + c.arg<number>(3), 1),
  'aten::select.int': (c) => {
    const x = c.value(0);
    const axis = norm(c.arg<number>(1), x.shape.length);
    if (batchDims(c, x).includes(axis)) throw new Error('selecting one sample of the batch cannot be exported with a dynamic batch');
    c.node('Gather', [c.input(0), c.initializer([], 'int64', BigInt64Array.of(BigInt(c.arg<number>(2))))], { axis: attr.int(axis) }, [c.output()]);
  },
  'aten::index_select': (c) => void c.node('Gather', [c.input(0), c.input(2)], { axis: attr.int(c.arg<number>(1)) }, [c.output()]),
  'aten::gather': (c) => void c.node('GatherElements', [c.input(0), c.input(2)], { axis: attr.int(c.arg<number>(1)) }, [c.output()]),
};

/** `aten::relu_` -> `aten::relu`, `aten::add_.Tensor` -> `aten::add.Tensor`. */
function functionalName(name: string): string {
  return name.replace(/^(\w+::\w+?)_(\.|$)/, '$1$2');
}

/** The mapper of an op, in place or not; undefined for an op without one. */
export function mapperFor(name: string): Mapper | undefined {
  return MAPPERS[name] ?? MAPPERS[functionalName(name)];
}

/** The ATen ops the exporter maps (in-place forms such as relu_ map as their functional form). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(MAPPERS).sort();
