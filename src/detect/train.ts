// `finprint detector train`: fits the centre-heatmap detector on the photos of a competition
// folder that have a box, holding out a seeded share to score it, with the same Trainer (and
// Keras-style callbacks) as identification runs. Writes detector.json and best.safetensors.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { BatchLoader, readableBatches } from '../data/loader.js';
import type { Batch } from '../data/pipeline.js';
import { loadSafetensors } from '../io/safetensors.js';
import { modelEntry } from '../models/index.js';
import { AdamW, WarmupCosineLR } from '../optim/index.js';
import * as torch from '../torch/index.js';
import { CSVLogger, ModelCheckpoint, TerminateOnNaN, type Logs } from '../train/callbacks/index.js';
import { Trainer } from '../train/trainer.js';
import { checkInteger, checkNumber } from '../util/check.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng } from '../util/random.js';
import { augmentDetection } from './augment.js';
import { boxedPhotos, holdOut, type BoxedPhoto } from './data.js';
import { DETECTOR_FILES, detectorPipeline, predictShares, type DetectorInfo } from './detector.js';
import { boxMetrics, type BoxMetrics } from './metrics.js';
import { detectionLoss } from './loss.js';
import { CenterNet } from './model.js';
import { encodeTargets } from './targets.js';

export interface DetectorTrainOptions {
  /** Competition-layout folder: photos are read from its train_images/. */
  data: string;
  /** Box file (image,x0,y0,x1,y1[,score][,label]) in pixels. */
  boxes: string;
  out: string;
  backbone: string;
  imageSize: number;
  outputStride: number;
  channels: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Share of the boxed training photos held out for scoring. */
  valShare: number;
  seed: number;
  /** Train only on boxes with this label (e.g. 'fin'). */
  label?: string;
  workers: number;
  quiet?: boolean;
  log?: (message: string) => void;
}

export interface DetectorTrainResult {
  dir: string;
  info: DetectorInfo;
  history: Logs[];
  seconds: number;
}

/** A batch with the epoch it belongs to, so each photo's augmentation can be drawn reproducibly. */
interface DetectionBatch {
  batch: Batch;
  epoch: number;
}

export async function trainDetector(o: DetectorTrainOptions): Promise<DetectorTrainResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  checkInteger('epochs', o.epochs, 1);
  checkInteger('batchSize', o.batchSize, 2);
  checkNumber('lr', o.lr, 0);
  checkNumber('valShare', o.valShare, 0.01, 0.9);
  checkInteger('seed', o.seed, 0);
  const dir = resolve(o.out);
  if (existsSync(join(dir, DETECTOR_FILES.info)) || existsSync(join(dir, 'last.safetensors'))) throw new Error(`detector train: ${dir} already holds a detector; choose another --out`);
  torch.manualSeed(o.seed);
  const entry = modelEntry(o.backbone);
  const model = new CenterNet({ backbone: o.backbone, imageSize: o.imageSize, outputStride: o.outputStride, channels: o.channels });
  await mkdir(dir, { recursive: true });

  const folder = join(o.data, 'train_images');
  const found = await boxedPhotos(folder, o.boxes, { ...(o.label !== undefined ? { label: o.label } : {}), skip: (m) => log(`data: ${m} (left out)`) });
  for (const p of found.problems.slice(0, 10)) log(`warning: ${p.file} line ${p.line}: ${p.message}`);
  if (found.problems.length > 10) log(`warning: ${found.problems.length - 10} more bad rows in ${o.boxes}`);
  if (found.photos.length < 10) throw new Error(`detector train: only ${found.photos.length} photos of ${folder} have a box in ${o.boxes}; need at least 10`);
  const { train, val } = holdOut(found.photos, o.valShare, o.seed);
  log(`data: ${train.length} training and ${val.length} held-out photos with boxes${found.unboxed ? ` (${found.unboxed} photos without a box left out)` : ''}`);

  const norm = { mean: entry.pretrainedCfg.mean, std: entry.pretrainedCfg.std };
  const loader = new BatchLoader(detectorPipeline({ model: model.config, ...norm }, true), train.map((p) => ({ path: p.path })), {
    batchSize: o.batchSize,
    shuffle: true,
    dropLast: train.length > o.batchSize,
    augment: true,
    seed: o.seed,
    concurrency: o.workers,
    skipUnreadable: true,
  });
  const unreadable = new Map<string, string>();
  // Validation meets the same unreadable photos every epoch: say so once.
  const said = new Set<string>();
  const reportOnce = (m: string): void => {
    if (!said.has(m)) log(m);
    said.add(m);
  };
  const evalPipe = detectorPipeline({ model: model.config, ...norm });
  const boxOf = new Map(train.map((p) => [p.path, p.box]));
  const score = async (photos: readonly BoxedPhoto[]): Promise<BoxMetrics> => {
    const predicted = await predictShares(model, evalPipe, photos.map((p) => p.path), { batchSize: o.batchSize * 2, concurrency: o.workers, report: reportOnce });
    return boxMetrics(photos.map((p, i) => ({ predicted: predicted[i]!, truth: p.box })));
  };

  const optimizer = new AdamW(model.parameters(), { lr: o.lr, weightDecay: 1e-4 });
  const total = o.epochs * loader.length;
  const trainer = new Trainer<DetectionBatch>({
    model,
    optimizer,
    scheduler: new WarmupCosineLR(optimizer, { totalSteps: total, warmupSteps: Math.min(loader.length, Math.round(total * 0.05)), minLr: 0 }),
    schedulerInterval: 'batch',
    epochs: o.epochs,
    batchesPerEpoch: loader.length,
    batches: async function* (epoch, startBatch) {
      for await (const batch of readableBatches(loader.epoch(epoch, startBatch), (m) => log(`data: ${m}`), unreadable, 2)) yield { batch, epoch };
    },
    trainStep: ({ batch, epoch }) => {
      // Keyed by file name, not path: the same data trains the same wherever its folder lies.
      const rngs = batch.paths.map((p) => Rng.from(o.seed, 'detector-augment', epoch, basename(p)));
      const { x, boxes } = augmentDetection(torch.tensor(batch.data, batch.shape), batch.paths.map((p) => boxOf.get(p)!), rngs);
      const parts = detectionLoss(model.forward(x), encodeTargets(boxes, model.gridSize));
      return { loss: parts.loss, metrics: { heatmap_loss: parts.heatmap.item(), sides_loss: parts.sides.item() } };
    },
    validate: async () => {
      const m = await score(val);
      return { val_iou: m.meanIou, val_recall50: m.recall50, val_recall75: m.recall75 };
    },
    callbacks: [new TerminateOnNaN(), new CSVLogger(), new ModelCheckpoint({ monitor: 'val_iou', mode: 'max', filepath: DETECTOR_FILES.weights })],
    runDir: dir,
    label: 'detector',
    quiet: o.quiet ?? false,
    log,
  });
  const started = performance.now();
  const { history } = await trainer.fit();
  const seconds = (performance.now() - started) / 1000;

  // Score the kept (best) weights once more, for detector.json.
  const best = await loadSafetensors(join(dir, DETECTOR_FILES.weights));
  model.loadStateDict(best);
  for (const t of best.values()) t.dispose();
  const info: DetectorInfo = {
    model: model.config,
    ...norm,
    label: o.label ?? null,
    data: resolve(o.data),
    boxes: resolve(o.boxes),
    seed: o.seed,
    valImages: val.map((p) => p.image),
    trainImages: train.length,
    val: await score(val),
  };
  await writeFileAtomic(join(dir, DETECTOR_FILES.info), JSON.stringify(info, null, 2));
  return { dir, info, history, seconds };
}
