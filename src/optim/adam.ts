// Adam (weight decay as an L2 term in the gradient) and AdamW (decoupled weight decay, applied to
// the parameter), with optional AMSGrad: PyTorch 1.13's single-tensor updates.
import { op, zerosLike, type Tensor } from '../torch/index.js';
import { checkNumber, invalidParameterError } from '../util/check.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';

export type AdamHyper = {
  lr: number;
  /** Decay rates of the running averages of the gradient and of its square. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  weightDecay: number;
  /** Divide by the largest second moment seen so far (AMSGrad). */
  amsgrad: boolean;
};

type AdamState = { step: number; expAvg: Tensor; expAvgSq: Tensor; maxExpAvgSq?: Tensor };

export class Adam extends Optimizer<AdamHyper, AdamState> {
  constructor(params: Params<AdamHyper>, options: Partial<AdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...options });
  }

  /** AdamW decays the parameter itself instead of adding an L2 term to the gradient. */
  protected readonly decoupledWeightDecay: boolean = false;

  protected override validate(g: AdamHyper): void {
    checkNumber('lr', g.lr, 0);
    checkNumber('eps', g.eps, 0);
    if (!Array.isArray(g.betas) || g.betas.length !== 2 || !g.betas.every((b) => b >= 0 && b < 1)) {
      throw invalidParameterError('betas', 'a pair of numbers in [0, 1)', g.betas);
    }
    checkNumber('weightDecay', g.weightDecay, 0);
  }

  protected override initState(p: Tensor): AdamState {
    return { step: 0, expAvg: zerosLike(p).keep(), expAvgSq: zerosLike(p).keep() };
  }

  protected override update(p: Tensor, grad: Tensor, s: AdamState, g: ParamGroup<AdamHyper>): void {
    const [beta1, beta2] = g.betas;
    s.step += 1;
    if (this.decoupledWeightDecay) p.mul_(1 - g.lr * g.weightDecay);
    else if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
    s.expAvg.mul_(beta1).add_(grad, 1 - beta1);
    s.expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const stepSize = g.lr / (1 - beta1 ** s.step);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** s.step);
    let second = s.expAvgSq;
    if (g.amsgrad) {
      second = s.maxExpAvgSq ??= zerosLike(p).keep();
      op('aten::maximum.out', second, s.expAvgSq, second);
    }
    p.addcdiv_(s.expAvg, second.sqrt().div_(bias2Sqrt).add_(g.eps), -stepSize);
  }
}

export class AdamW extends Adam {
  constructor(params: Params<AdamHyper>, options: Partial<AdamHyper> = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }

  protected override readonly decoupledWeightDecay = true;
}
