// `finprint detector eval`: a detector's boxes against the true ones on photos it did not train
// on: its held-out share of train_images/ (val), or test_images/ (test).
import { join } from 'node:path';
import { checkOneOf } from '../util/check.js';
import { boxedPhotos } from './data.js';
import { Detector } from './detector.js';
import { boxMetrics, type BoxMetrics } from './metrics.js';

export const DETECTOR_SPLITS = ['val', 'test'] as const;
export type DetectorSplit = (typeof DETECTOR_SPLITS)[number];

export interface DetectorEvaluation extends BoxMetrics {
  split: DetectorSplit;
  /** Photos of the split's folder without a box in the file (not scored). */
  unboxed: number;
  meanScore: number;
}

export async function evaluateDetector(dir: string, options: { data: string; boxes: string; split: string; batchSize?: number; workers?: number; quiet?: boolean }): Promise<DetectorEvaluation> {
  const split = checkOneOf('split', options.split, DETECTOR_SPLITS);
  const detector = await Detector.open(dir);
  const folder = join(options.data, split === 'val' ? 'train_images' : 'test_images');
  const found = await boxedPhotos(folder, options.boxes, detector.info.label !== null ? { label: detector.info.label } : {});
  let photos = found.photos;
  if (split === 'val') {
    const held = new Set(detector.info.valImages);
    photos = photos.filter((p) => held.has(p.image));
    if (photos.length < held.size) throw new Error(`detector eval: only ${photos.length} of the detector's ${held.size} held-out photos have a box in ${folder} and ${options.boxes}: is this the data it trained on?`);
  }
  if (photos.length === 0) throw new Error(`detector eval: no photo of ${folder} has a box in ${options.boxes}`);
  const predicted = await detector.detect(photos.map((p) => p.path), { batchSize: options.batchSize ?? 32, ...(options.workers ? { concurrency: options.workers } : {}), quiet: options.quiet ?? true, progressLabel: `detect ${split}` });
  return {
    split,
    ...boxMetrics(photos.map((p, i) => ({ predicted: predicted[i]!, truth: p.box }))),
    unboxed: found.unboxed,
    meanScore: predicted.reduce((s, d) => s + d.score, 0) / predicted.length,
  };
}
