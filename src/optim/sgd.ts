// SGD with momentum, dampening, Nesterov and L2 weight decay: PyTorch 1.13's single-tensor update.
import type { Tensor } from '../torch/index.js';
import { checkNumber, invalidParameterError } from '../util/check.js';
import { Optimizer, type ParamGroup, type Params } from './optimizer.js';

export type SGDHyper = {
  lr: number;
  momentum: number;
  /** Fraction of the new gradient held back from the momentum buffer. */
  dampening: number;
  /** L2 penalty, added to the gradient. */
  weightDecay: number;
  nesterov: boolean;
};

type SGDState = { momentumBuffer?: Tensor };

export class SGD extends Optimizer<SGDHyper, SGDState> {
  constructor(params: Params<SGDHyper>, options: Partial<SGDHyper> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected override validate(g: SGDHyper): void {
    checkNumber('lr', g.lr, 0);
    checkNumber('momentum', g.momentum, 0);
    checkNumber('dampening', g.dampening);
    checkNumber('weightDecay', g.weightDecay, 0);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw invalidParameterError('nesterov', 'false, or true with a momentum > 0 and zero dampening (Nesterov momentum needs them)', g.nesterov);
  }

  protected override initState(): SGDState {
    return {};
  }

  protected override update(p: Tensor, grad: Tensor, s: SGDState, g: ParamGroup<SGDHyper>): void {
    let d = g.weightDecay !== 0 ? grad.add(p, g.weightDecay) : grad;
    if (g.momentum !== 0) {
      // The buffer starts as the first gradient itself, not as zeros.
      if (s.momentumBuffer) s.momentumBuffer.mul_(g.momentum).add_(d, 1 - g.dampening);
      else s.momentumBuffer = d.clone().keep();
      d = g.nesterov ? d.add(s.momentumBuffer, g.momentum) : s.momentumBuffer;
    }
    p.add_(d, -g.lr);
  }
}
