import { invalidParameterError } from '../../util/check.js';
import { Callback, Monitor, type Logs, type Mode, type TrainingContext } from './callback.js';

export interface ReduceLROnPlateauOptions {
  monitor?: string;
  /** New LR = LR * factor. */
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again. */
  cooldown?: number;
  minLr?: number;
}

/**
 * Lowers the learning rate when the monitored metric stops improving (Keras semantics). With
 * several parameter groups (backbone and head), all are scaled by the same factor, taken from the
 * first group so that it never goes below minLr.
 */
export class ReduceLROnPlateau extends Callback {
  readonly name = 'ReduceLROnPlateau';
  private readonly monitor: Monitor;
  private readonly factor: number;
  private readonly patience: number;
  private readonly cooldown: number;
  private readonly minLr: number;
  private wait = 0;
  private cooldownCounter = 0;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    super();
    this.factor = options.factor ?? 0.1;
    if (typeof this.factor !== 'number' || !(this.factor > 0 && this.factor < 1)) throw invalidParameterError('ReduceLROnPlateau.factor', 'number between 0 and 1, both excluded', this.factor);
    this.monitor = new Monitor(options.monitor ?? 'val_loss', options.mode ?? 'auto', options.minDelta ?? 1e-4);
    this.patience = options.patience ?? 10;
    this.cooldown = options.cooldown ?? 0;
    this.minLr = options.minLr ?? 0;
  }

  override onEpochEnd(epoch: number, logs: Logs, ctx: TrainingContext): void {
    const value = this.monitor.read(logs, ctx, this.name);
    if (value === undefined) return;
    const inCooldown = this.cooldownCounter > 0;
    if (inCooldown) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.monitor.improves(value)) {
      this.monitor.best = value;
      this.wait = 0;
    } else if (!inCooldown) {
      this.wait += 1;
      if (this.wait >= this.patience) {
        const lr = ctx.getLrs()[0]!;
        if (lr > this.minLr) {
          const next = Math.max(lr * this.factor, this.minLr);
          ctx.scaleLr(next / lr);
          ctx.log(`ReduceLROnPlateau: epoch ${epoch + 1}: ${this.monitor.metric} stalled, learning rate ${lr.toExponential(2)} -> ${next.toExponential(2)}`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }

  override stateDict(): Record<string, unknown> {
    return { wait: this.wait, cooldownCounter: this.cooldownCounter, best: this.monitor.saveBest() };
  }

  override loadStateDict(state: Record<string, unknown>): void {
    this.wait = state.wait as number;
    this.cooldownCounter = state.cooldownCounter as number;
    this.monitor.loadBest(state.best);
  }
}
