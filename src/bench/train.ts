// `finprint bench train`: one training epoch of efficientnet_b0 with the seed's species head on
// synthetic photos, JPEG decoding and a validation pass included: finprint (ImagePipeline +
// BatchLoader with prefetch, AdamW, the species task's train step and evaluate) vs PyTorch
// (DataLoader with `workers` processes, torchvision transforms and efficientnet_b0, AdamW), alternating
// epochs in one run. Each side reports where its epoch's time went; with --competitor K the same
// rounds run again next to K competing PyTorch jobs, and each side's slowdown is reported.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCompetition } from '../data/happywhale.js';
import { BatchLoader } from '../data/loader.js';
import { ImagePipeline, type Batch, type Sample } from '../data/pipeline.js';
import { synthesize } from '../data/synth/index.js';
import { createModel } from '../models/index.js';
import { AdamW } from '../optim/index.js';
import * as torch from '../torch/index.js';
import { fairThreadsFor, type FairThreads } from '../torch/fair_threads.js';
import { createTask, type Task } from '../train/tasks.js';
import { checkInteger, checkOneOf } from '../util/check.js';
import { startCompetitors, type CompetitorSession } from './competitors.js';
import { alternateRounds, findTorchPython, medianPhases, PyTorchSide, type OnRound, type SideBySide } from './pytorch_side.js';

export interface TrainBenchOptions {
  /** Synthetic photos in the epoch (rendered at ~512 px, 8 species); a quarter more are validated. */
  images?: number;
  /** PyTorch's DataLoader workers; finprint decodes on libuv's pool, as its trainer does. */
  workers?: number;
  batch?: number;
  size?: number;
  rounds?: number;
  threads?: number;
  /** Competing PyTorch jobs to run the rounds again beside (0: idle rounds only). */
  competitors?: number;
  /** Intra-op threads of each competing job. */
  competitorThreads?: number;
  /** Each competing job in a session of its own (another user's or terminal's job), or in the bench's. */
  competitorSession?: CompetitorSession;
  quiet?: boolean;
  onRound?: OnRound;
  /** Called with the competing jobs' process ids once they run. */
  onCompetitors?: (pids: number[]) => void;
}

/** Seconds per epoch in each phase (medians over rounds). */
export type Phases = Record<string, number>;

/** Each side's speed next to the competing jobs, and its slowdown against its idle speed. */
export interface CompetitionResult {
  competitors: number;
  competitorThreads: number;
  competitorSession: CompetitorSession;
  finprint_img_s: number;
  pytorch_img_s: number;
  /** Idle speed / speed beside the competitors: 2 is a fair share of two equal jobs. */
  finprint_slowdown: number;
  pytorch_slowdown: number;
}

export interface TrainBenchResult extends SideBySide {
  model: string;
  images: number;
  validationImages: number;
  workers: number;
  batch: number;
  size: number;
  /** Where each side's idle epoch went. */
  phases: { finprint: Phases; pytorch: Phases };
  competition?: CompetitionResult;
}

/** The phases both sides time, in the order printed. */
export const PHASES = ['photos', 'to tensor', 'forward', 'backward', 'optimiser', 'validation'] as const;

const MODEL = 'efficientnet_b0';
/** The same optimiser settings on both sides. */
const LR = 1e-3;
const WEIGHT_DECAY = 0.01;

/** Renders the photos and lists them with integer species labels (sorted species names). */
async function syntheticPhotos(dir: string, images: number, quiet: boolean): Promise<{ samples: Sample[]; species: string[] }> {
  const individuals = Math.max(8, Math.ceil(images / 4)); // at least one per species
  await synthesize({ out: dir, species: 8, individuals, meanImages: images / individuals, testFraction: 0, size: 512, seed: 1, quiet });
  const { train } = await readCompetition(dir, { quiet });
  const species = [...new Set(train.map((r) => r.species))].sort();
  return { samples: train.map((r) => ({ path: r.path, labels: { species: species.indexOf(r.species) } })), species };
}

/** Photos finprint decodes at once: libuv's pool, which its loader hands the photos to. */
const decodingThreads = (): number => Number(process.env.UV_THREADPOOL_SIZE) || 4;

const seconds = (start: number): number => (performance.now() - start) / 1000;

/**
 * finprint's side: the species task on the backbone, AdamW, the trainer's step, then the task's
 * validation; after its warm-up (followLoad) its threads adapt to other processes' load as the
 * trainer's do.
 */
class SpeciesTraining {
  private readonly task: Task;
  private readonly opt: AdamW;
  /** Set by followLoad(), after the warm-up. */
  private fair: FairThreads | undefined;
  /** The phases of the epochs run since the last takePhases(). */
  private phases: Phases[] = [];

  constructor(species: string[], private readonly threads: number, private readonly log: (m: string) => void) {
    torch.manualSeed(0);
    this.task = createTask('species', createModel(MODEL, { numClasses: 0 }), { species, individuals: [], individualCounts: [], individualSpecies: [] });
    this.opt = new AdamW(this.task.model.parameters(), { lr: LR, weightDecay: WEIGHT_DECAY });
  }

  /** Trains on every batch of the loader's epoch e, then validates; returns the number of photos. */
  async epoch(train: BatchLoader, validation: BatchLoader, e: number): Promise<number> {
    const t: Phases = Object.fromEntries(PHASES.map((p) => [p, 0]));
    this.task.model.train();
    let n = 0;
    const batches = train.epoch(e)[Symbol.asyncIterator]();
    this.fair?.restart(); // the PyTorch side's round ran since the last epoch: not another job
    for (;;) {
      this.fair?.check();
      let start = performance.now();
      const next = await batches.next();
      t.photos! += seconds(start);
      if (next.done) break;
      const b: Batch = next.value;
      start = performance.now();
      torch.tensor(b.data, b.shape).dispose(); // the copy the step makes, timed on its own
      t['to tensor']! += seconds(start);
      this.opt.zeroGrad();
      torch.tidy(() => {
        start = performance.now();
        const r = this.task.trainStep(b);
        t.forward! += seconds(start);
        start = performance.now();
        r.loss.backward();
        r.loss.item(); // a training loop reads the loss each step, as the Python side does
        t.backward! += seconds(start);
      });
      start = performance.now();
      this.opt.step();
      t.optimiser! += seconds(start);
      n += b.shape[0];
    }
    // The step's own copy is inside the forward time: count it once.
    t.forward = Math.max(0, t.forward! - t['to tensor']!);
    const start = performance.now();
    await this.task.evaluate(counted(validation.epoch(e), (b) => (n += b.shape[0])));
    t.validation = seconds(start);
    this.phases.push(t);
    return n;
  }

  /** From here on, threads follow other processes' load: not during the warm-up, which runs beside
   * the PyTorch side's start-up (not a competing job). */
  followLoad(): void {
    this.fair = fairThreadsFor(this.log, this.threads);
  }

  /** Each phase's median over the epochs since the last call. */
  takePhases(): Phases {
    const out = medianPhases(this.phases);
    this.phases = [];
    return out;
  }

  dispose(): void {
    this.fair?.finish();
    this.task.model.dispose();
    this.opt.dispose();
  }
}

async function* counted(batches: AsyncIterable<Batch>, onBatch: (b: Batch) => void): AsyncGenerator<Batch> {
  for await (const b of batches) {
    onBatch(b);
    yield b;
  }
}


export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const images = checkInteger('images', options.images ?? 128, 16, 5000);
  const workers = checkInteger('workers', options.workers ?? decodingThreads(), 1, 64);
  const batch = checkInteger('batch', options.batch ?? 16, 2, 1024);
  const size = checkInteger('size', options.size ?? 224, 32, 1024);
  const rounds = checkInteger('rounds', options.rounds ?? 3, 1, 100);
  const threads = checkInteger('threads', options.threads ?? availableParallelism(), 1, 1024);
  const competitors = checkInteger('competitors', options.competitors ?? 0, 0, 64);
  const competitorThreads = checkInteger('competitorThreads', options.competitorThreads ?? 2, 1, 1024);
  const competitorSession = checkOneOf('competitorSession', options.competitorSession ?? 'own', ['own', 'shared'] as const);
  const quiet = options.quiet ?? false;
  findTorchPython(); // fail before spending time on the photos
  const dir = await mkdtemp(join(tmpdir(), 'finprint-bench-train-'));
  const previous = sharp.concurrency();
  let py: PyTorchSide | undefined;
  let training: SpeciesTraining | undefined;
  try {
    const validationImages = Math.max(batch, Math.round(images / 4));
    const all = await syntheticPhotos(join(dir, 'photos'), images + validationImages, quiet);
    const samples = all.samples.slice(0, images);
    const held = all.samples.slice(images);
    // Both sides read the same photos with the same labels, in this order before shuffling.
    const manifest = async (name: string, list: Sample[]): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, list.map((s) => `${s.path}\t${s.labels!.species}\n`).join(''));
      return path;
    };
    py = new PyTorchSide('train_pytorch.py', [
      '--manifest', await manifest('train.tsv', samples), '--validation', await manifest('validation.tsv', held), '--classes', `${all.species.length}`,
      '--workers', `${workers}`, '--batch', `${batch}`, '--size', `${size}`, '--threads', `${threads}`, '--rounds', `${rounds * (competitors ? 2 : 1)}`,
      '--lr', `${LR}`, '--weight-decay', `${WEIGHT_DECAY}`,
    ]);
    torch.setNumThreads(threads);
    // One libvips thread per photo, as one DataLoader worker decodes one photo at a time; libuv's
    // pool (UV_THREADPOOL_SIZE, 4 by default) decodes that many photos at once.
    sharp.concurrency(1);
    const ours = (training = new SpeciesTraining(all.species, threads, (m) => quiet || console.error(m)));
    const pipeline = new ImagePipeline({ size, mode: 'squash' });
    // As the trainer feeds its loop: the prepared batches' photos handed to the decoder together.
    const loaderOf = (s: Sample[], shuffle: boolean): BatchLoader => new BatchLoader(pipeline, s, { batchSize: batch, shuffle, prefetch: 2 });
    const trainLoader = loaderOf(samples, true);
    const validationLoader = loaderOf(held, false);
    // Warm-up on two batches, as the Python side does: allocations, oneDNN caches, optimiser state.
    await ours.epoch(loaderOf(samples.slice(0, 2 * batch), true), loaderOf(held.slice(0, batch), false), 0);
    ours.takePhases();
    ours.followLoad();
    const run = (round0: number): Promise<SideBySide> => alternateRounds(py!, rounds, (r) => ours.epoch(trainLoader, validationLoader, round0 + r), options.onRound);
    const idle = await run(0);
    const phases = { finprint: ours.takePhases(), pytorch: idle.pytorch_phases ?? {} };
    const model = `${MODEL} + species head (train, AdamW; validation on ${held.length})`;
    const result = { ...idle, model, images: samples.length, validationImages: held.length, workers, batch, size, phases };
    if (!competitors) return result;
    if (!quiet) console.error(`starting ${competitors} competing PyTorch job${competitors > 1 ? 's' : ''} of ${competitorThreads} threads (${competitorSession === 'own' ? 'each in its own session' : "in the bench's session"})`);
    const jobs = await startCompetitors(competitors, competitorThreads, competitorSession);
    options.onCompetitors?.(jobs.pids);
    try {
      const loaded = await run(rounds);
      return {
        ...result,
        competition: {
          competitors,
          competitorThreads,
          competitorSession,
          finprint_img_s: loaded.finprint_img_s,
          pytorch_img_s: loaded.pytorch_img_s,
          finprint_slowdown: idle.finprint_img_s / loaded.finprint_img_s,
          pytorch_slowdown: idle.pytorch_img_s / loaded.pytorch_img_s,
        },
      };
    } finally {
      await jobs.stop();
    }
  } finally {
    py?.close();
    training?.dispose();
    sharp.concurrency(previous);
    await rm(dir, { recursive: true, force: true });
  }
}
