import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadSafetensors } from '../../io/safetensors.js';
import { checkInteger } from '../../util/check.js';
import { Callback, Monitor, type Logs, type Mode, type TrainingContext } from './callback.js';

export interface EarlyStoppingOptions {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  /** Stop at once if the metric is not better than this after the first epoch. */
  baseline?: number;
  /** At the end, put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
}

/** Stops training when the monitored metric has not improved for `patience` epochs. */
export class EarlyStopping extends Callback {
  readonly name = 'EarlyStopping';
  private readonly monitor: Monitor;
  private readonly patience: number;
  private readonly baseline: number | undefined;
  private readonly restoreBestWeights: boolean;
  private wait = 0;
  private stoppedEpoch: number | undefined;
  private bestEpoch: number | undefined;

  constructor(options: EarlyStoppingOptions = {}) {
    super();
    this.monitor = new Monitor(options.monitor ?? 'val_loss', options.mode ?? 'auto', options.minDelta ?? 0);
    this.patience = checkInteger('EarlyStopping.patience', options.patience ?? 0, 0);
    this.baseline = options.baseline;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
  }

  // The best weights live in a file, not in memory, so a crash and resume keeps them.
  private bestPath(ctx: TrainingContext): string {
    return `${ctx.runDir}/early_stopping_best.safetensors`;
  }

  override async onEpochEnd(epoch: number, logs: Logs, ctx: TrainingContext): Promise<void> {
    const value = this.monitor.read(logs, ctx, this.name);
    if (value === undefined) return;
    this.wait += 1;
    if (this.monitor.improves(value)) {
      this.monitor.best = value;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) await ctx.saveWeights(this.bestPath(ctx));
      // Keras only resets the wait once the baseline is beaten.
      if (this.baseline === undefined || this.monitor.improves(value, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      ctx.stopTraining = true;
      ctx.stopReason = `EarlyStopping: ${this.monitor.metric} did not improve for ${this.wait} epoch(s) (best ${this.monitor.best.toFixed(5)} at epoch ${(this.bestEpoch ?? 0) + 1})`;
    }
  }

  override async onTrainEnd(ctx: TrainingContext): Promise<void> {
    const path = this.bestPath(ctx);
    if (this.restoreBestWeights && this.stoppedEpoch !== undefined && existsSync(path)) {
      const weights = await loadSafetensors(path);
      ctx.restoreWeights(weights);
      for (const t of weights.values()) t.dispose();
      ctx.log(`EarlyStopping: restored the weights of epoch ${(this.bestEpoch ?? 0) + 1}`);
    }
    if (existsSync(path)) await rm(path);
  }

  override stateDict(): Record<string, unknown> {
    return { wait: this.wait, best: this.monitor.saveBest(), bestEpoch: this.bestEpoch ?? null };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.wait = state.wait as number;
    this.monitor.loadBest(state.best);
    this.bestEpoch = (state.bestEpoch as number | null) ?? undefined;
  }
}
