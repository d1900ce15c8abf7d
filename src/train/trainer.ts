// The training loop, as Keras's fit(): epochs of batches, callbacks at batch and epoch ends,
// validation after each epoch, and exact resume from a checkpoint (also mid-epoch).
import { saveSafetensors } from '../io/safetensors.js';
import { CheckpointSlot, type CheckpointContent } from '../io/checkpoint.js';
import type { AnyModule } from '../nn/index.js';
import type { LRScheduler, Optimizer, OptimizerStateDict, LRSchedulerState } from '../optim/index.js';
import * as torch from '../torch/index.js';
import { fairThreadsFor, type FairThreads } from '../torch/fair_threads.js';
import { checkInteger } from '../util/check.js';
import { Progress } from '../util/progress.js';
import type { Callback, Logs, TrainingContext } from './callbacks/index.js';

export interface StepResult {
  loss: torch.Tensor;
  /** Other per-batch metrics (e.g. accuracy), averaged over the epoch like the loss. */
  metrics?: Logs;
}

export interface TrainerOptions<B> {
  /** Everything whose weights are trained and checkpointed (backbone and heads). */
  model: AnyModule;
  optimizer: Optimizer;
  scheduler?: LRScheduler;
  /** Whether the scheduler steps after every batch or every epoch. */
  schedulerInterval?: 'batch' | 'epoch';
  /** Train until this (1-based, global) epoch count is reached. */
  epochs: number;
  /** Epochs already done before this fit (a later phase continues the count). */
  initialEpoch?: number;
  batchesPerEpoch: number;
  /** The batches of an epoch from startBatch on, in the same order as an uninterrupted epoch. */
  batches(epoch: number, startBatch: number): AsyncIterable<B>;
  /** Forward pass and loss of one batch (the model is in train mode). */
  trainStep(batch: B): StepResult;
  /** Validation metrics after each epoch, named val_*. */
  validate?(epoch: number): Promise<Logs>;
  callbacks?: Callback[];
  runDir: string;
  /** Extra JSON stored in checkpoints (e.g. which phase is running). */
  checkpointInfo?: Record<string, unknown>;
  /** A checkpoint to continue from. */
  resumeFrom?: CheckpointContent;
  /** Epoch logs of earlier phases, so history and callbacks see the whole run. */
  history?: Logs[];
  label?: string;
  quiet?: boolean;
  log?: (message: string) => void;
}

interface Position {
  epoch: number;
  batch: number;
  step: number;
  /** Running sums of this epoch's batch metrics, so a mid-epoch resume averages the same. */
  sums: Logs;
  count: number;
}

export class Trainer<B> {
  readonly history: Logs[];
  readonly slot: CheckpointSlot;
  private readonly opts: TrainerOptions<B>;
  private readonly callbacks: Callback[];
  private position: Position;
  private checkpointRequested = false;

  constructor(options: TrainerOptions<B>) {
    checkInteger('Trainer.epochs', options.epochs, 1);
    this.opts = options;
    this.callbacks = options.callbacks ?? [];
    this.history = [...(options.history ?? [])];
    this.slot = new CheckpointSlot(options.runDir);
    const initial = options.initialEpoch ?? 0;
    this.position = { epoch: initial, batch: 0, step: initial * options.batchesPerEpoch, sums: {}, count: 0 };
    if (options.resumeFrom) this.restore(options.resumeFrom);
  }

  private log(message: string): void {
    (this.opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(message);
  }

  private context(): TrainingContext {
    const { model, optimizer, scheduler } = this.opts;
    const ctx: TrainingContext = {
      runDir: this.opts.runDir,
      history: this.history,
      stopTraining: false,
      stopReason: undefined,
      getLrs: () => optimizer.getLr(),
      scaleLr: (factor) => (scheduler ? scheduler.scaleLr(factor) : optimizer.setLr(optimizer.getLr().map((lr) => lr * factor))),
      restoreWeights: (w) => void model.loadStateDict(w),
      saveWeights: (path) => saveSafetensors(path, model.stateDict()),
      requestResumeCheckpoint: () => void (this.checkpointRequested = true),
      log: (m) => this.log(m),
      warn: (m) => this.log(`warning: ${m}`),
    };
    return ctx;
  }

  /** The full state of the run as a checkpoint. */
  checkpoint(): CheckpointContent {
    const opt = this.opts.optimizer.stateDict();
    return {
      tensors: new Map([
        ['model', this.opts.model.stateDict()],
        ['optimizer', opt.tensors],
        ['rng', new Map([['cpu', torch.getRngState()]])],
      ]),
      json: {
        ...this.opts.checkpointInfo,
        position: this.position,
        history: this.history,
        optimizer: opt.json,
        scheduler: this.opts.scheduler?.stateDict() ?? null,
        callbacks: Object.fromEntries(this.callbacks.map((c) => [c.name, c.stateDict()])),
      },
    };
  }

  private restore(c: CheckpointContent): void {
    const group = (name: string): Map<string, torch.Tensor> => {
      const g = c.tensors.get(name);
      if (!g) throw new Error(`checkpoint has no '${name}' tensors`);
      return g;
    };
    this.opts.model.loadStateDict(group('model'));
    this.opts.optimizer.loadStateDict({ tensors: group('optimizer'), json: c.json.optimizer as OptimizerStateDict['json'] });
    if (this.opts.scheduler && c.json.scheduler) this.opts.scheduler.loadStateDict(c.json.scheduler as LRSchedulerState);
    const states = (c.json.callbacks ?? {}) as Record<string, Record<string, unknown>>;
    for (const cb of this.callbacks) if (states[cb.name]) cb.loadStateDict(states[cb.name]!);
    torch.setRngState(group('rng').get('cpu')!);
    this.position = structuredClone(c.json.position as Position);
    this.history.splice(0, this.history.length, ...(c.json.history as Logs[]));
    // Everything above copied the values it needed.
    for (const g of c.tensors.values()) for (const t of g.values()) t.dispose();
  }

  private async flushCheckpoint(): Promise<void> {
    if (!this.checkpointRequested) return;
    this.checkpointRequested = false;
    await this.slot.save(this.checkpoint());
  }

  private async each(fn: (cb: Callback) => void | Promise<void>): Promise<void> {
    for (const cb of this.callbacks) await fn(cb);
  }

  /** Runs epochs until `epochs` is reached or a callback stops training; returns the history. */
  async fit(): Promise<{ history: Logs[]; stopReason: string | undefined }> {
    const ctx = this.context();
    // Shares the cores with other processes by the threads it trains on (torch/fair_threads.ts).
    // Exact resume is bit for bit when the thread count stays the same (FINPRINT_THREADS fixes it).
    const fair = fairThreadsFor((m) => this.log(m));
    await this.each((cb) => cb.onTrainBegin(ctx));
    try {
      while (this.position.epoch < this.opts.epochs && !ctx.stopTraining) await this.epoch(ctx, fair);
    } finally {
      fair?.finish();
    }
    await this.each((cb) => cb.onTrainEnd(ctx));
    if (ctx.stopReason) this.log(ctx.stopReason);
    return { history: this.history, stopReason: ctx.stopReason };
  }

  /** The rest of the current epoch (all of it unless resumed mid-epoch), then its validation. */
  private async epoch(ctx: TrainingContext, fair: FairThreads | undefined): Promise<void> {
    const { optimizer, scheduler, epochs, batchesPerEpoch } = this.opts;
    const epoch = this.position.epoch;
    await this.each((cb) => cb.onEpochBegin(epoch, ctx));
    const progress = new Progress({ total: batchesPerEpoch - this.position.batch, label: `${this.opts.label ?? 'train'} epoch ${epoch + 1}/${epochs}`, quiet: this.opts.quiet ?? false });
    const started = performance.now();
    fair?.restart();
    for await (const batch of this.opts.batches(epoch, this.position.batch)) {
      fair?.check();
      this.opts.model.train(); // a TransferModel's train() keeps its frozen parts in eval
      optimizer.zeroGrad();
      const logs = torch.tidy(() => {
        const r = this.opts.trainStep(batch);
        r.loss.backward();
        return { loss: r.loss.item(), ...r.metrics };
      });
      optimizer.step();
      if (scheduler && this.opts.schedulerInterval === 'batch') scheduler.step();
      const p = this.position;
      for (const [k, v] of Object.entries(logs)) p.sums[k] = (p.sums[k] ?? 0) + v;
      p.count += 1;
      p.batch += 1;
      p.step += 1;
      progress.tick(1, `loss ${(p.sums.loss! / p.count).toFixed(4)}`);
      await this.each((cb) => cb.onBatchEnd(epoch, p.batch - 1, { ...logs, step: p.step }, ctx));
      await this.flushCheckpoint();
      if (ctx.stopTraining) break;
    }
    progress.done();
    const p = this.position;
    const epochLogs: Logs = { epoch: epoch + 1 };
    for (const [k, v] of Object.entries(p.sums)) epochLogs[k] = v / Math.max(1, p.count);
    epochLogs.lr = optimizer.getLr()[0]!;
    epochLogs.seconds = (performance.now() - started) / 1000;
    if (this.opts.validate) Object.assign(epochLogs, await this.opts.validate(epoch));
    this.history.push(epochLogs);
    if (scheduler && this.opts.schedulerInterval !== 'batch') scheduler.step();
    this.position = { epoch: epoch + 1, batch: 0, step: p.step, sums: {}, count: 0 };
    await this.each((cb) => cb.onEpochEnd(epoch, epochLogs, ctx));
    await this.flushCheckpoint();
    this.log(formatEpoch(epochLogs, epochs));
  }
}

/** One log line per epoch: "epoch 3/10 loss 1.2345 accuracy 0.5000 val_loss ... lr 1.0e-3 12.3s". */
export function formatEpoch(logs: Logs, epochs: number): string {
  const parts = [`epoch ${logs.epoch}/${epochs}`];
  for (const [k, v] of Object.entries(logs)) {
    if (k === 'epoch' || k === 'seconds' || k === 'lr') continue;
    parts.push(`${k} ${v.toFixed(4)}`);
  }
  parts.push(`lr ${logs.lr!.toExponential(1)}`, `${logs.seconds!.toFixed(1)}s`);
  return parts.join(' ');
}
