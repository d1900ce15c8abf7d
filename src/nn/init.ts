// Weight initialisation, as torch.nn.init: the same formulas and the same calls on the default
// generator, so with the same manualSeed a layer starts with the same numbers as in PyTorch.
// Every function fills the tensor in place, without recording gradients, and returns it.
import { noGrad, op, tensor, type Tensor } from '../torch/index.js';
import { checkNumber, checkOneOf, invalidParameterError } from '../util/check.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity; `param` is leaky_relu's negative slope (default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      checkOneOf('nonlinearity', nonlinearity, ['linear', 'conv1d', 'conv2d', 'conv3d', 'sigmoid']);
      return 1;
  }
}

/** fan_in = size(1) * receptive field, fan_out = size(0) * receptive field. */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  const shape = t.shape;
  if (shape.length < 2) throw new RangeError(`init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

function fan(t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return checkOneOf('mode', mode, ['fan_in', 'fan_out']) === 'fan_in' ? fanIn : fanOut;
}

export const uniform_ = (t: Tensor, a = 0, b = 1): Tensor => noGrad(() => t.uniform_(a, b));
export const normal_ = (t: Tensor, mean = 0, std = 1): Tensor => noGrad(() => t.normal_(mean, std));
export const constant_ = (t: Tensor, value: number): Tensor => noGrad(() => t.fill_(value));
export const zeros_ = (t: Tensor): Tensor => noGrad(() => t.zero_());
export const ones_ = (t: Tensor): Tensor => noGrad(() => t.fill_(1));

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

/** He initialisation, uniform: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  if (t.numel === 0) return t;
  const std = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan(t, options.mode ?? 'fan_in'));
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}

/** He initialisation, normal: N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  if (t.numel === 0) return t;
  const std = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan(t, options.mode ?? 'fan_in'));
  return normal_(t, 0, std);
}

function xavierStd(t: Tensor, gain: number): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return gain * Math.sqrt(2.0 / (fanIn + fanOut));
}

/** Glorot initialisation, uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const a = Math.sqrt(3.0) * xavierStd(t, gain);
  return uniform_(t, -a, a);
}

export const xavierNormal_ = (t: Tensor, gain = 1): Tensor => normal_(t, 0, xavierStd(t, gain));

/**
 * Normal(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch and timm): inverse-CDF
 * sampling of a uniform draw, then a clamp for the values rounding pushes outside.
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  checkNumber('std', std, 0);
  if (!(a < b)) throw invalidParameterError('b', `a number greater than a (${a})`, b);
  const l = normCdf((a - mean) / std);
  const u = normCdf((b - mean) / std);
  return noGrad(() => {
    t.uniform_(2 * l - 1, 2 * u - 1);
    op('aten::erfinv_', t).dispose();
    t.mul_(std * Math.sqrt(2.0));
    t.add_(mean);
    return t.clamp_(a, b);
  });
}

// JS has no erf; libtorch's double-precision erf gives the value Python's math.erf does.
function normCdf(x: number): number {
  const v = tensor([x / Math.sqrt(2.0)], [1], { dtype: 'float64' });
  const e = op('aten::erf', v);
  const out = (1 + e.item()) / 2;
  v.dispose();
  e.dispose();
  return out;
}
