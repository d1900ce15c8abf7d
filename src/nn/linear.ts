// Identity and Linear, as torch.nn.Identity and torch.nn.Linear.
import { F, zeros, type Tensor } from '../torch/index.js';
import { checkInteger } from '../util/check.js';
import * as init from './init.js';
import { Module } from './module.js';

/** Returns its input; a placeholder where a layer is optional (e.g. a removed classifier). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/** y = x Wᵀ + b, with weight [outFeatures, inFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.inFeatures = checkInteger('inFeatures', inFeatures, 0);
    this.outFeatures = checkInteger('outFeatures', outFeatures, 0);
    this.weight = this.registerParameter('weight', zeros([outFeatures, inFeatures]));
    this.bias = options.bias ?? true ? this.registerParameter('bias', zeros([outFeatures])) : undefined;
    this.resetParameters();
  }

  /** PyTorch's default: kaiming_uniform(a=√5) weights, biases U(-1/√fan_in, 1/√fan_in). */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  override forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** The default initialisation PyTorch gives Linear and Conv layers. */
export function resetWeightAndBias(weight: Tensor, bias: Tensor | undefined): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = init.calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform_(bias, -bound, bound);
  }
}
