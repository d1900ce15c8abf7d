import { Callback, type Logs, type TrainingContext } from './callback.js';

/** Stops training as soon as a batch loss is NaN or infinite, naming where it happened. */
export class TerminateOnNaN extends Callback {
  readonly name = 'TerminateOnNaN';

  override onBatchEnd(epoch: number, batch: number, logs: Logs, ctx: TrainingContext): void {
    const loss = logs.loss;
    if (loss !== undefined && !Number.isFinite(loss)) {
      ctx.stopTraining = true;
      ctx.stopReason = `TerminateOnNaN: loss became ${loss} at epoch ${epoch + 1}, batch ${batch + 1} (step ${logs.step ?? '?'}); try a lower learning rate`;
    }
  }
}
