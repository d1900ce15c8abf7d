// A trained detector as saved in its folder (detector.json + best.safetensors), and the one
// prediction path that training validation, `detector eval` and `crop` all use.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { imageCacheDir } from '../data/cache.js';
import { BatchLoader } from '../data/loader.js';
import { ImagePipeline } from '../data/pipeline.js';
import { loadSafetensors } from '../io/safetensors.js';
import * as torch from '../torch/index.js';
import { Progress } from '../util/progress.js';
import { decodePeak, type Detection } from './decode.js';
import type { BoxMetrics } from './metrics.js';
import { CenterNet, HEAD_CHANNELS, type CenterNetConfig } from './model.js';

/** detector.json: everything needed to rebuild the detector and repeat its evaluation. */
export interface DetectorInfo {
  model: CenterNetConfig;
  mean: [number, number, number];
  std: [number, number, number];
  /** The box label it was trained on (written into predicted box files), or null for unlabelled boxes. */
  label: string | null;
  data: string;
  boxes: string;
  seed: number;
  /** Held-out training photos (names under train_images/) for `detector eval --split val`. */
  valImages: string[];
  trainImages: number;
  /** Held-out scores of the saved (best) weights. */
  val: BoxMetrics;
}

export const DETECTOR_FILES = { info: 'detector.json', weights: 'best.safetensors' } as const;

/** The pipeline the detector sees photos through: the whole photo squashed to its input square. */
export function detectorPipeline(info: Pick<DetectorInfo, 'model' | 'mean' | 'std'>, augment = false): ImagePipeline {
  return new ImagePipeline({
    size: info.model.imageSize,
    mode: 'squash',
    mean: info.mean,
    std: info.std,
    cacheDir: imageCacheDir(),
    // Colour only: a geometric change must move the box too, so zooms and flips are done on the batch (augment.ts).
    ...(augment ? { augment: { colorJitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3 } } } : {}),
  });
}

export interface PredictOptions {
  batchSize?: number;
  concurrency?: number;
  quiet?: boolean;
  /** Shown before the progress bar. */
  progressLabel?: string;
  /** Where a photo that cannot be read is reported (default: stderr). */
  report?: (message: string) => void;
}

/**
 * The strongest box per photo, as shares of the photo, in the order of `paths`. A photo that cannot
 * be read is reported on stderr and gets an empty box of score 0 (so a crop falls back to the
 * whole photo, and a score counts it as missed).
 */
export async function predictShares(model: CenterNet, pipeline: ImagePipeline, paths: readonly string[], options: PredictOptions = {}): Promise<Detection[]> {
  model.eval();
  const loader = new BatchLoader(pipeline, paths.map((path) => ({ path })), { batchSize: options.batchSize ?? 32, ...(options.concurrency ? { concurrency: options.concurrency } : {}), skipUnreadable: true });
  const progress = new Progress({ total: paths.length, label: options.progressLabel ?? 'detect', quiet: options.quiet ?? true });
  const cells = HEAD_CHANNELS.length * model.gridSize * model.gridSize;
  const out: Detection[] = [];
  const report = options.report ?? ((m: string) => process.stderr.write(`${m}\n`));
  for await (const batch of loader) {
    const values = torch.noGrad(() => torch.tidy(() => model.forward(torch.tensor(batch.data, batch.shape)).toFloat32Array()));
    const unreadable = new Set(batch.unreadable!.map((u) => u.index));
    for (const u of batch.unreadable!) report(`detect: ${u.reason} (no box)`);
    for (let i = 0; i < batch.paths.length; i++) out.push(unreadable.has(i) ? NO_BOX : decodePeak(values.subarray(i * cells, (i + 1) * cells), model.gridSize));
    progress.tick(batch.paths.length);
  }
  progress.done();
  return out;
}

const NO_BOX: Detection = { x0: 0, y0: 0, x1: 0, y1: 0, score: 0 };

export class Detector {
  private constructor(readonly dir: string, readonly info: DetectorInfo, readonly model: CenterNet, private readonly pipeline: ImagePipeline) {}

  static async open(dir: string): Promise<Detector> {
    const root = resolve(dir);
    const infoPath = join(root, DETECTOR_FILES.info);
    const weightsPath = join(root, DETECTOR_FILES.weights);
    for (const f of [infoPath, weightsPath]) if (!existsSync(f)) throw new Error(`${f} is missing: is ${dir} a folder written by finprint detector train?`);
    const info = JSON.parse(readFileSync(infoPath, 'utf8')) as DetectorInfo;
    const model = new CenterNet(info.model);
    const weights = await loadSafetensors(weightsPath);
    model.loadStateDict(weights);
    for (const t of weights.values()) t.dispose();
    model.eval();
    return new Detector(root, info, model, detectorPipeline(info));
  }

  /** The strongest box per photo, as shares of the photo. */
  detect(paths: readonly string[], options: PredictOptions = {}): Promise<Detection[]> {
    return predictShares(this.model, this.pipeline, paths, options);
  }
}
