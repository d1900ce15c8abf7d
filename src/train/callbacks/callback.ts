// Keras-style training callbacks: the trainer calls these hooks; callbacks act through the
// context (stop training, change the learning rate, save or restore weights).
import type { Tensor } from '../../torch/index.js';
import { checkNumber, checkOneOf, invalidParameterError } from '../../util/check.js';

/** Metrics of one epoch or batch, by Keras-style name: loss, accuracy, val_loss, val_map5, lr... */
export type Logs = Record<string, number>;

export interface TrainingContext {
  readonly runDir: string;
  /** Epoch logs so far, oldest first (restored on resume). */
  readonly history: readonly Logs[];
  /** Set by a callback to end training after the current batch or epoch. */
  stopTraining: boolean;
  /** Why training stopped early, for the log and the report. */
  stopReason: string | undefined;
  /** Learning rate of every parameter group. */
  getLrs(): number[];
  /** Multiplies every group's learning rate (through the schedule when there is one). */
  scaleLr(factor: number): void;
  restoreWeights(weights: Map<string, Tensor>): void;
  /** Writes the model's weights (safetensors) atomically. */
  saveWeights(path: string): Promise<void>;
  /**
   * Asks for the full resumable checkpoint (model, optimizer, schedule, callbacks, RNG, position).
   * The trainer writes it once every callback has run for this batch or epoch, so the saved
   * callback state is complete.
   */
  requestResumeCheckpoint(): void;
  log(message: string): void;
  warn(message: string): void;
}

export abstract class Callback {
  /** Key of this callback's state in checkpoints. */
  abstract readonly name: string;
  onTrainBegin(_ctx: TrainingContext): void | Promise<void> {}
  onEpochBegin(_epoch: number, _ctx: TrainingContext): void | Promise<void> {}
  /** batch counts from 0 within the epoch; logs hold at least `loss`. */
  onBatchEnd(_epoch: number, _batch: number, _logs: Logs, _ctx: TrainingContext): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs: Logs, _ctx: TrainingContext): void | Promise<void> {}
  onTrainEnd(_ctx: TrainingContext): void | Promise<void> {}
  /** JSON state saved in checkpoints so a resumed run behaves as an uninterrupted one. */
  stateDict(): Record<string, unknown> {
    return {};
  }
  loadStateDict(_state: Record<string, unknown>): void {}
}

export type Mode = 'min' | 'max' | 'auto';

/** Names of metrics to minimise: losses and errors (checked first, so `top5_error` is one). */
const LOWER_IS_BETTER = /loss|error|mae|mse|mape|msle|hinge|crossentropy|nll|perplexity/i;
/** Names of metrics to maximise: accuracies and other scores. */
const HIGHER_IS_BETTER = /acc|map|auc|top\d|f1|recall|precision|iou/i;

/**
 * Keras's 'auto': loss-like metrics are minimised, accuracy-like ones maximised; a name that is
 * neither is refused (as Keras does) rather than guessed, so give the mode for it.
 */
export function resolveMode(mode: Mode, monitor: string): 'min' | 'max' {
  checkOneOf('mode', mode, ['min', 'max', 'auto'] as const);
  if (mode !== 'auto') return mode;
  if (LOWER_IS_BETTER.test(monitor)) return 'min';
  if (HIGHER_IS_BETTER.test(monitor)) return 'max';
  throw invalidParameterError('monitor', "a loss-like or accuracy-like metric name for mode 'auto' (for any other metric pass mode 'min' or 'max')", monitor);
}

/** Tracks the best value of a monitored metric with Keras's min_delta semantics. */
export class Monitor {
  readonly mode: 'min' | 'max';
  best: number;

  constructor(readonly metric: string, mode: Mode, readonly minDelta: number) {
    checkNumber('minDelta', minDelta, 0);
    this.mode = resolveMode(mode, metric);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** The monitored value from logs; warns (once per call) and returns undefined when absent. */
  read(logs: Logs, ctx: TrainingContext, who: string): number | undefined {
    const v = logs[this.metric];
    if (v === undefined) {
      ctx.warn(`${who}: metric '${this.metric}' is not in the logs (available: ${Object.keys(logs).join(', ')}); skipping`);
    }
    return v;
  }

  /** Whether value beats reference (the best so far by default) by more than minDelta. */
  improves(value: number, reference = this.best): boolean {
    return this.mode === 'min' ? value < reference - this.minDelta : value > reference + this.minDelta;
  }

  /** best as JSON (which has no Infinity) and back. */
  saveBest(): number | null {
    return Number.isFinite(this.best) ? this.best : null;
  }
  loadBest(v: unknown): void {
    this.best = typeof v === 'number' ? v : this.mode === 'min' ? Infinity : -Infinity;
  }
}
