// `finprint bench train`: one training epoch of efficientnet_b0 with the seed's species head on
// synthetic photos, JPEG decoding included: finprint (ImagePipeline + BatchLoader with prefetch,
// AdamW, the species task's train step) vs PyTorch (DataLoader with as many workers, torchvision
// transforms and efficientnet_b0, AdamW), alternating epochs in one run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCompetition } from '../data/happywhale.js';
import { BatchLoader } from '../data/loader.js';
import { ImagePipeline, type Sample } from '../data/pipeline.js';
import { synthesize } from '../data/synth/index.js';
import { createModel } from '../models/index.js';
import { AdamW } from '../optim/index.js';
import * as torch from '../torch/index.js';
import { createTask, type Task } from '../train/tasks.js';
import { checkInteger } from '../util/check.js';
import { alternateRounds, findTorchPython, PyTorchSide, type OnRound, type SideBySide } from './pytorch_side.js';

export interface TrainBenchOptions {
  /** Synthetic photos in the epoch (rendered at ~512 px, 8 species). */
  images?: number;
  /** Photos decoding at once / DataLoader workers. */
  workers?: number;
  batch?: number;
  size?: number;
  rounds?: number;
  threads?: number;
  quiet?: boolean;
  onRound?: OnRound;
}

export interface TrainBenchResult extends SideBySide {
  model: string;
  images: number;
  workers: number;
  batch: number;
  size: number;
}

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

/** finprint's side: the species task on the backbone, AdamW, and the trainer's step over an epoch. */
class SpeciesTraining {
  private readonly task: Task;
  private readonly opt: AdamW;

  constructor(species: string[]) {
    torch.manualSeed(0);
    this.task = createTask('species', createModel(MODEL, { numClasses: 0 }), { species, individuals: [], individualCounts: [], individualSpecies: [] });
    this.opt = new AdamW(this.task.model.parameters(), { lr: LR, weightDecay: WEIGHT_DECAY });
  }

  /** Trains on every batch of the loader's epoch e; returns the number of photos. */
  async epoch(loader: BatchLoader, e: number): Promise<number> {
    this.task.model.train();
    let n = 0;
    for await (const b of loader.epoch(e)) {
      this.opt.zeroGrad();
      torch.tidy(() => {
        const r = this.task.trainStep(b);
        r.loss.backward();
        r.loss.item(); // a training loop reads the loss each step, as the Python side does
      });
      this.opt.step();
      n += b.shape[0];
    }
    return n;
  }

  dispose(): void {
    this.task.model.dispose();
    this.opt.dispose();
  }
}

export async function benchTrain(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const images = checkInteger('images', options.images ?? 128, 16, 5000);
  const workers = checkInteger('workers', options.workers ?? 2, 1, 64);
  const batch = checkInteger('batch', options.batch ?? 16, 2, 1024);
  const size = checkInteger('size', options.size ?? 224, 32, 1024);
  const rounds = checkInteger('rounds', options.rounds ?? 3, 1, 100);
  const threads = checkInteger('threads', options.threads ?? availableParallelism(), 1, 1024);
  const quiet = options.quiet ?? false;
  findTorchPython(); // fail before spending time on the photos
  const dir = await mkdtemp(join(tmpdir(), 'finprint-bench-train-'));
  const previous = sharp.concurrency();
  let py: PyTorchSide | undefined;
  let training: SpeciesTraining | undefined;
  try {
    const { samples, species } = await syntheticPhotos(join(dir, 'photos'), images, quiet);
    // Both sides read the same photos with the same labels, in this order before shuffling.
    const manifest = join(dir, 'manifest.tsv');
    await writeFile(manifest, samples.map((s) => `${s.path}\t${s.labels!.species}\n`).join(''));
    py = new PyTorchSide('train_pytorch.py', ['--manifest', manifest, '--classes', `${species.length}`, '--workers', `${workers}`, '--batch', `${batch}`, '--size', `${size}`, '--threads', `${threads}`, '--rounds', `${rounds}`, '--lr', `${LR}`, '--weight-decay', `${WEIGHT_DECAY}`]);
    torch.setNumThreads(threads);
    // One libvips thread per photo and `workers` photos in flight: the shape of `workers`
    // DataLoader processes (as in `bench data`).
    sharp.concurrency(1);
    const ours = (training = new SpeciesTraining(species));
    const pipeline = new ImagePipeline({ size, mode: 'squash' });
    const loaderOf = (s: Sample[]): BatchLoader => new BatchLoader(pipeline, s, { batchSize: batch, shuffle: true, concurrency: workers, prefetch: 2 });
    // Warm-up on two batches, as the Python side does: allocations, oneDNN caches, optimiser state.
    await ours.epoch(loaderOf(samples.slice(0, 2 * batch)), 0);
    const loader = loaderOf(samples);
    const result = await alternateRounds(py, rounds, (r) => ours.epoch(loader, r), options.onRound);
    return { ...result, model: `${MODEL} + species head (train, AdamW)`, images: samples.length, workers, batch, size };
  } finally {
    py?.close();
    training?.dispose();
    sharp.concurrency(previous);
    await rm(dir, { recursive: true, force: true });
  }
}
