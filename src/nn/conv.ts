// Conv2d, as torch.nn.Conv2d, plus explicit asymmetric padding for TF-style "same" convolutions.
import { F, zeros, type Tensor } from '../torch/index.js';
import { checkInteger, invalidParameterError } from '../util/check.js';
import { pair, type Pair } from './args.js';
import { resetWeightAndBias } from './linear.js';
import { Module } from './module.js';

export interface Conv2dOptions {
  stride?: Pair;
  /**
   * A number or [h, w] pads symmetrically; [left, right, top, bottom] pads asymmetrically;
   * 'same' keeps the size (stride 1; the odd pixel goes right/bottom, as PyTorch); 'valid' is 0.
   */
  padding?: Pair | [number, number, number, number] | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  /** [h, w] symmetric or [left, right, top, bottom]. */
  readonly padding: [number, number] | [number, number, number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** [outChannels, inChannels / groups, kh, kw] */
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    this.groups = checkInteger('groups', options.groups ?? 1, 1);
    this.inChannels = checkInteger('inChannels', inChannels, 1);
    this.outChannels = checkInteger('outChannels', outChannels, 1);
    if (inChannels % this.groups || outChannels % this.groups) {
      throw invalidParameterError('groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, this.groups);
    }
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', options.stride ?? 1, 1);
    this.dilation = pair('dilation', options.dilation ?? 1, 1);
    this.padding = this.resolvePadding(options.padding ?? 0);
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels / this.groups, kh, kw]));
    this.bias = options.bias ?? true ? this.registerParameter('bias', zeros([outChannels])) : undefined;
    this.resetParameters();
  }

  private resolvePadding(p: NonNullable<Conv2dOptions['padding']>): Conv2d['padding'] {
    if (p === 'valid') return [0, 0];
    if (p === 'same') {
      if (this.stride.some((s) => s !== 1)) throw invalidParameterError('stride', "1 with padding 'same' (it needs stride 1; pass explicit [left, right, top, bottom] padding instead)", this.stride);
      // Total padding per dim is dilation * (kernel - 1); the extra pixel of an odd total goes after.
      const [th, tw] = this.kernelSize.map((k, i) => this.dilation[i]! * (k - 1)) as [number, number];
      const [t, l] = [Math.floor(th / 2), Math.floor(tw / 2)];
      return th % 2 || tw % 2 ? [l, tw - l, t, th - t] : [t, l];
    }
    if (Array.isArray(p) && p.length === 4) {
      if (!p.every((v) => Number.isInteger(v) && v >= 0)) throw invalidParameterError('padding', '[left, right, top, bottom] of non-negative integers', p);
      return [...p];
    }
    return pair('padding', p, 0);
  }

  /** PyTorch's default: kaiming_uniform(a=√5) weights, biases U(-1/√fan_in, 1/√fan_in). */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
