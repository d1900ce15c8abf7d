// LayerNorm and GroupNorm, as torch.nn: per-sample statistics, so train and eval behave the same.
import { F, ones, zeros, type Tensor } from '../torch/index.js';
import { checkInteger, checkNumber, invalidParameterError } from '../util/check.js';
import { Module } from './module.js';

/** Normalises over the trailing `normalizedShape` dims, with an elementwise weight and bias. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;

  constructor(normalizedShape: number | number[], options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = [normalizedShape].flat().map((d, i) => checkInteger(`normalizedShape[${i}]`, d, 1));
    this.eps = checkNumber('eps', options.eps ?? 1e-5, 0);
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape)) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros(this.normalizedShape)) : undefined;
  }

  override forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** Normalises each sample over groups of channels, with a per-channel weight and bias. */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;

  constructor(numGroups: number, numChannels: number, options: { eps?: number; affine?: boolean } = {}) {
    super();
    this.numGroups = checkInteger('numGroups', numGroups, 1);
    this.numChannels = checkInteger('numChannels', numChannels, 1);
    if (numChannels % numGroups) throw invalidParameterError('numGroups', `a divisor of numChannels (${numChannels})`, numGroups);
    this.eps = checkNumber('eps', options.eps ?? 1e-5, 0);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numChannels])) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels])) : undefined;
  }

  override forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}
