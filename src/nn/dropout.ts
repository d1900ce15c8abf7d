// Dropout, as torch.nn.Dropout: zeroes elements with probability p in train mode and scales the
// rest by 1 / (1 - p); the identity in eval mode.
import { F, type Tensor } from '../torch/index.js';
import { checkNumber } from '../util/check.js';
import { Module } from './module.js';

export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = checkNumber('p', p, 0, 1);
  }

  override forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}
