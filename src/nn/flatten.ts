// Flatten, as torch.nn.Flatten: merges dims startDim..endDim (by default all but the batch dim).
import type { Tensor } from '../torch/index.js';
import { checkInteger } from '../util/check.js';
import { Module } from './module.js';

export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = checkInteger('startDim', startDim);
    this.endDim = checkInteger('endDim', endDim);
  }

  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
