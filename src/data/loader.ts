import { checkInteger, invalidParameterError } from '../util/check.js';
import { createLimiter } from '../util/pool.js';
import { Rng } from '../util/random.js';
import type { Batch, ImagePipeline, Sample } from './pipeline.js';

export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (seeded by seed and epoch). */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
  /** Apply the pipeline's augmentations. */
  augment?: boolean;
  seed?: number;
  /** Batches prepared ahead while the current one is consumed (default 2). */
  prefetch?: number;
  /**
   * Photos handed to the decoder at once, across all prepared batches (default DECODE_QUEUE).
   * libuv's thread pool decodes them, UV_THREADPOOL_SIZE at a time (4 by default).
   */
  concurrency?: number;
  /** List photos that cannot be loaded in each batch's `unreadable` (zeros in their place) instead of failing. */
  skipUnreadable?: boolean;
  /**
   * P x K sampling: with shuffle, keep up to `k` photos of the same `label` together, so a batch
   * holds batchSize / k individuals with several photos each (what a metric loss on the embedding
   * needs: positives in the batch). Photos without the label (-1) travel alone.
   */
  groups?: { label: string; k: number };
}

/**
 * Photos handed to the decoder at once by default. A training or inference step holds the JS
 * thread for a second or so, and a photo's decode can only be started from JS: so the prepared
 * batches' photos are handed over together, and libuv's pool works through them during the step.
 * With 4 at a time, decoding stopped during each step and an epoch waited on its photos (0.47 s
 * of a 19 s epoch in `bench train --threads 1`, against 0.11 s handed over together).
 */
export const DECODE_QUEUE = 64;

/**
 * Async iterator over batches with prefetching: while the caller trains on one batch, the next
 * `prefetch` batches are already decoding on sharp's threads. Each sample's augmentation stream
 * is derived from (seed, epoch, sample index), so results do not depend on timing.
 */
export class BatchLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  private readonly shuffle: boolean;
  private readonly dropLast: boolean;
  private readonly augment: boolean;
  private readonly seed: number;
  private readonly prefetch: number;
  private readonly concurrency: number;
  private readonly skipUnreadable: boolean;
  private readonly groups: { label: string; k: number } | undefined;

  constructor(private readonly pipeline: ImagePipeline, private readonly samples: readonly Sample[], options: LoaderOptions) {
    this.batchSize = checkInteger('batchSize', options.batchSize, 1);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.augment = options.augment ?? false;
    this.seed = checkInteger('seed', options.seed ?? 0);
    this.prefetch = checkInteger('prefetch', options.prefetch ?? 2, 0);
    this.concurrency = checkInteger('concurrency', options.concurrency ?? DECODE_QUEUE, 1);
    this.skipUnreadable = options.skipUnreadable ?? false;
    if (options.groups) {
      this.groups = { label: options.groups.label, k: checkInteger('groups.k', options.groups.k, 1) };
      if (!this.shuffle) throw invalidParameterError('groups', 'a loader with shuffle: true', options.groups);
    }
    if (this.augment && !pipeline.augment) throw invalidParameterError('augment', 'false for a pipeline without augment options', this.augment);
  }

  /** Batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.samples.length / this.batchSize) : Math.ceil(this.samples.length / this.batchSize);
  }

  /** The batches of one epoch; from `startBatch` on when resuming mid-epoch (same order and augmentations). */
  async *epoch(epoch = 0, startBatch = 0): AsyncGenerator<Batch> {
    checkInteger('epoch', epoch, 0);
    checkInteger('startBatch', startBatch, 0);
    const order = this.samples.map((_, i) => i);
    if (this.shuffle) Rng.from(this.seed, 'order', epoch).shuffle(order);
    if (this.groups) groupedOrder(order, this.samples, this.groups, Rng.from(this.seed, 'groups', epoch));
    const chunks: number[][] = [];
    for (let k = 0; k < this.length; k++) chunks.push(order.slice(k * this.batchSize, (k + 1) * this.batchSize));
    const limit = createLimiter(this.concurrency);
    const pending: Promise<Batch>[] = [];
    let next = Math.min(startBatch, chunks.length);
    const start = (): void => {
      const idx = chunks[next++]!;
      const rngFor = this.augment ? (i: number) => Rng.from(this.seed, 'augment', epoch, idx[i]!) : undefined;
      const p = this.pipeline.batch(idx.map((i) => this.samples[i]!), rngFor, limit, this.skipUnreadable);
      // Errors surface when this batch is awaited; this only stops an early rejection being "unhandled".
      p.catch(() => undefined);
      pending.push(p);
    };
    // The batch being awaited plus `prefetch` more are in flight; while the caller holds a batch,
    // exactly `prefetch` are decoding.
    while (next < chunks.length && pending.length <= this.prefetch) start();
    while (pending.length > 0) {
      yield await pending.shift()!;
      if (next < chunks.length) start();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch> {
    return this.epoch(0);
  }
}

/**
 * Reorders a shuffled `order` in place into runs of up to k photos with the same label, the runs
 * themselves shuffled: each label's photos are cut into runs in their shuffled order.
 */
function groupedOrder(order: number[], samples: readonly Sample[], groups: { label: string; k: number }, rng: Rng): void {
  const byLabel = new Map<number, number[]>();
  const runs: number[][] = [];
  for (const i of order) {
    const label = samples[i]!.labels?.[groups.label];
    if (label === undefined || label < 0) {
      runs.push([i]);
      continue;
    }
    const list = byLabel.get(label) ?? [];
    byLabel.set(label, list);
    list.push(i);
  }
  for (const list of byLabel.values()) for (let j = 0; j < list.length; j += groups.k) runs.push(list.slice(j, j + groups.k));
  rng.shuffle(runs);
  order.splice(0, order.length, ...runs.flat());
}

/**
 * The batches with their unreadable photos (from a loader with skipUnreadable) taken out, each
 * reported once through `report` and kept in `reported` (path to reason). A batch none of whose
 * photos can be read is an error: yielding nothing in its place would shift the batch count a
 * mid-epoch resume relies on. A batch left with fewer than `minRows` photos repeats them
 * (training's BatchNorm needs two).
 */
export async function* readableBatches(batches: AsyncIterable<Batch>, report: (message: string) => void, reported = new Map<string, string>(), minRows = 1): AsyncGenerator<Batch> {
  for await (const b of batches) {
    const bad = b.unreadable ?? [];
    if (bad.length === 0) {
      yield b;
      continue;
    }
    for (const u of bad) {
      if (!reported.has(b.paths[u.index]!)) report(`${u.reason} (skipped)`);
      reported.set(b.paths[u.index]!, u.reason);
    }
    if (bad.length === b.paths.length) throw new Error(`no photo of a batch can be read (${bad.map((u) => b.paths[u.index]).join(', ')}): fix or remove them; finprint eda DIR --check decode lists every such photo`);
    yield withoutRows(b, new Set(bad.map((u) => u.index)), minRows);
  }
}

function withoutRows(b: Batch, drop: ReadonlySet<number>, minRows: number): Batch {
  const readable = b.paths.map((_, i) => i).filter((i) => !drop.has(i));
  const keep = Array.from({ length: Math.max(readable.length, minRows) }, (_, k) => readable[k % readable.length]!);
  const [, c, h, w] = b.shape;
  const size = c * h * w;
  const data = new Float32Array(keep.length * size);
  keep.forEach((i, k) => data.set(b.data.subarray(i * size, (i + 1) * size), k * size));
  const labels = Object.fromEntries(Object.entries(b.labels).map(([name, v]) => [name, Int32Array.from(keep, (i) => v[i]!)]));
  return { data, shape: [keep.length, c, h, w], paths: keep.map((i) => b.paths[i]!), labels };
}
