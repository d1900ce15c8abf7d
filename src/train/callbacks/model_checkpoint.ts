import { checkInteger } from '../../util/check.js';
import { Callback, Monitor, type Logs, type Mode, type TrainingContext } from './callback.js';

export interface ModelCheckpointOptions {
  /** Weights file of the best (or every) epoch; `{epoch}` is replaced by the 1-based epoch. */
  filepath?: string;
  monitor?: string;
  mode?: Mode;
  /** Only write `filepath` when the monitored metric improves. */
  saveBestOnly?: boolean;
  /** Also keep the full resumable checkpoint of the last epoch (model, optimizer, RNG, ...). */
  saveLast?: boolean;
  /** Also write the resumable checkpoint every N batches, so a crash mid-epoch loses little. */
  saveFreqBatches?: number;
}

/**
 * Saves weights when the monitored metric improves (Keras's ModelCheckpoint), and the full
 * resumable checkpoint at the end of every epoch and every `saveFreqBatches` batches.
 */
export class ModelCheckpoint extends Callback {
  readonly name = 'ModelCheckpoint';
  private readonly monitor: Monitor;
  private readonly filepath: string;
  private readonly saveBestOnly: boolean;
  private readonly saveLast: boolean;
  private readonly saveFreqBatches: number;

  constructor(options: ModelCheckpointOptions = {}) {
    super();
    this.monitor = new Monitor(options.monitor ?? 'val_loss', options.mode ?? 'auto', 0);
    this.filepath = options.filepath ?? 'best.safetensors';
    this.saveBestOnly = options.saveBestOnly ?? true;
    this.saveLast = options.saveLast ?? true;
    this.saveFreqBatches = checkInteger('ModelCheckpoint.saveFreqBatches', options.saveFreqBatches ?? 0, 0);
  }

  private resolve(ctx: TrainingContext, epoch: number): string {
    const file = this.filepath.replace('{epoch}', String(epoch + 1).padStart(3, '0'));
    return file.startsWith('/') ? file : `${ctx.runDir}/${file}`;
  }

  override onBatchEnd(_epoch: number, batch: number, logs: Logs, ctx: TrainingContext): void {
    const finite = logs.loss === undefined || Number.isFinite(logs.loss);
    if (finite && this.saveLast && this.saveFreqBatches > 0 && (batch + 1) % this.saveFreqBatches === 0) ctx.requestResumeCheckpoint();
  }

  override async onEpochEnd(epoch: number, logs: Logs, ctx: TrainingContext): Promise<void> {
    // An epoch whose loss diverged (TerminateOnNaN stopped it) leaves broken weights: the best
    // and the resumable checkpoint keep the last finite ones.
    if (logs.loss !== undefined && !Number.isFinite(logs.loss)) {
      ctx.warn(`${this.name}: the loss of epoch ${epoch + 1} is ${logs.loss}; its weights are not saved`);
      return;
    }
    const value = this.saveBestOnly ? this.monitor.read(logs, ctx, this.name) : undefined;
    if (!this.saveBestOnly) {
      await ctx.saveWeights(this.resolve(ctx, epoch));
    } else if (value !== undefined && this.monitor.improves(value)) {
      ctx.log(`ModelCheckpoint: ${this.monitor.metric} improved ${Number.isFinite(this.monitor.best) ? this.monitor.best.toFixed(5) : '-'} -> ${value.toFixed(5)}, saving ${this.resolve(ctx, epoch)}`);
      this.monitor.best = value;
      await ctx.saveWeights(this.resolve(ctx, epoch));
    }
    if (this.saveLast) ctx.requestResumeCheckpoint();
  }

  override stateDict(): Record<string, unknown> {
    return { best: this.monitor.saveBest() };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.monitor.loadBest(state.best);
  }
}
