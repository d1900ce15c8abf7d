// BatchNorm1d and BatchNorm2d, as torch.nn: in train mode normalise with the batch statistics and
// update the running ones (and num_batches_tracked); in eval mode normalise with the running ones.
import { F, ones, zeros, type Tensor } from '../torch/index.js';
import { checkInteger, checkNumber } from '../util/check.js';
import { Module } from './module.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running averages; null for a cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel weight and bias. */
  affine?: boolean;
  /** Keep running statistics; without them eval mode also normalises with batch statistics. */
  trackRunningStats?: boolean;
}

abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  /** int64 scalar: training batches seen. */
  readonly numBatchesTracked: Tensor | undefined;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.numFeatures = checkInteger('numFeatures', numFeatures, 1);
    this.eps = checkNumber('eps', options.eps ?? 1e-5, 0);
    this.momentum = options.momentum === null ? null : checkNumber('momentum', options.momentum ?? 0.1, 0, 1);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : undefined;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : undefined;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', zeros([numFeatures])) : undefined;
    this.runningVar = track ? this.registerBuffer('running_var', ones([numFeatures])) : undefined;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' })) : undefined;
  }

  protected abstract checkInput(x: Tensor): void;

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      this.numBatchesTracked.add_(1);
      factor = this.momentum ?? 1 / this.numBatchesTracked.item();
    }
    return F.batchNorm(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      // Without running statistics there is nothing else to normalise with.
      training: this.training || !this.runningMean,
      momentum: factor,
      eps: this.eps,
    });
  }

  protected override defaultForMissing(localName: string): number | undefined {
    return localName === 'num_batches_tracked' ? 0 : undefined;
  }
}

/** Over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  protected override checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new RangeError(`BatchNorm1d: expected 2D or 3D input, got shape [${x.shape.join(', ')}]`);
  }
}

/** Over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  protected override checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4D input, got shape [${x.shape.join(', ')}]`);
  }
}
