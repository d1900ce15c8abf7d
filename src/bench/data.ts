// `finprint bench data`: decode + resize + normalise competition-sized JPEGs into batches, in
// finprint's loader and in a PyTorch DataLoader, same files and workers, alternating rounds.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { BatchLoader } from '../data/loader.js';
import { ImagePipeline } from '../data/pipeline.js';
import { synthesize } from '../data/synth/index.js';
import { checkInteger } from '../util/check.js';
import { mapPool } from '../util/pool.js';
import { Progress } from '../util/progress.js';
import { Rng } from '../util/random.js';
import { alternateRounds, findTorchPython, PyTorchSide, type OnRound, type SideBySide } from './pytorch_side.js';

export interface DataBenchOptions {
  workers?: number;
  images?: number;
  batch?: number;
  size?: number;
  rounds?: number;
  quiet?: boolean;
  onRound?: OnRound;
}

export interface DataBenchResult extends SideBySide {
  workers: number;
  images: number;
  batch: number;
  size: number;
}

/**
 * Competition-like photos: synthetic scenes rendered at ~500 px (rendering at full size is ~20x
 * slower), enlarged 4x to ~1600-2500 px and given sensor grain, so files reach the real photos'
 * ~1 MB and decoding costs what it costs on them (flat synthetic colours decode unrealistically fast).
 */
async function competitionLikePhotos(dir: string, images: number, quiet: boolean): Promise<string[]> {
  const individuals = Math.max(8, Math.ceil(images / 4)); // at least one per species
  await synthesize({ out: dir, species: 8, individuals, meanImages: images / individuals, testFraction: 0, size: 500, seed: 1, quiet });
  const imageDir = join(dir, 'train_images');
  const files = (await readdir(imageDir)).sort().map((f) => join(imageDir, f));
  const rng = new Rng(1);
  const grain = Int8Array.from({ length: 1 << 16 }, () => Math.max(-127, Math.min(127, Math.round(rng.normal(0, 10)))));
  const progress = new Progress({ total: files.length, label: 'enlarge', quiet });
  await mapPool(files, 2, async (file, k) => {
    // Nearest-neighbour is 8x faster than a smooth enlargement here, and the grain hides its blocks.
    const { data, info } = await sharp(file).resize({ width: 4 * (await sharp(file).metadata()).width!, kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
    const px = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
    for (let i = 0, o = k * 7919; i < px.length; i++) px[i] = px[i]! + grain[(i + o) & 0xffff]!;
    await writeFile(file, await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    progress.tick();
  });
  progress.done();
  return files;
}

export async function benchData(options: DataBenchOptions = {}): Promise<DataBenchResult> {
  const workers = checkInteger('workers', options.workers ?? 2, 1, 64);
  const images = checkInteger('images', options.images ?? 200, 16, 5000);
  const batch = checkInteger('batch', options.batch ?? 16, 1, 1024);
  const size = checkInteger('size', options.size ?? 224, 16, 1024);
  const rounds = checkInteger('rounds', options.rounds ?? 3, 1, 100);
  findTorchPython(); // fail before spending time on the photos
  const dir = await mkdtemp(join(tmpdir(), 'finprint-bench-'));
  const previous = sharp.concurrency();
  let py: PyTorchSide | undefined;
  try {
    const files = await competitionLikePhotos(dir, images, options.quiet ?? false);
    py = new PyTorchSide('data_pytorch.py', ['--dir', join(dir, 'train_images'), '--workers', `${workers}`, '--batch', `${batch}`, '--size', `${size}`, '--rounds', `${rounds}`]);
    // One libvips thread per photo and `workers` photos in flight: the same shape of parallelism
    // as `workers` DataLoader processes, without oversubscribing the cores.
    sharp.concurrency(1);
    const loader = new BatchLoader(new ImagePipeline({ size, mode: 'squash' }), files.map((path) => ({ path })), { batchSize: batch, concurrency: workers, prefetch: 2 });
    const epoch = async (e: number): Promise<number> => {
      let n = 0;
      for await (const b of loader.epoch(e)) n += b.shape[0];
      return n;
    };
    await epoch(0); // warm-up, as the Python side does
    const result = await alternateRounds(py, rounds, (r) => epoch(r + 1), options.onRound);
    return { ...result, workers, images: files.length, batch, size };
  } finally {
    py?.close();
    sharp.concurrency(previous);
    await rm(dir, { recursive: true, force: true });
  }
}
