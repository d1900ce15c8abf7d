// `finprint train`: a whole training run from a resolved config. Phases as the seed ran them:
// the top of the backbone unfrozen for `epochs`, then `fineTuneEpochs` with more unfrozen at a
// lower LR. Everything needed to repeat or resume the run is written to the run folder.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readCompetition, NEW_INDIVIDUAL, type TrainRow } from '../data/happywhale.js';
import { BatchLoader, readableBatches } from '../data/loader.js';
import { ImagePipeline, type Batch, type Sample } from '../data/pipeline.js';
import { individualSplit, stratifiedSplit } from '../data/split.js';
import { readBoxes } from '../data/boxes.js';
import { countCrops, type CropCounts } from '../data/crop.js';
import type { Issue } from '../data/validate.js';
import { CheckpointSlot } from '../io/checkpoint.js';
import { saveSafetensors, loadSafetensors } from '../io/safetensors.js';
import { checkInputSize, createModel, modelEntry } from '../models/index.js';
import { loadWeights } from '../models/weights.js';
import { Adam, AdamW, SGD, StepLR, WarmupCosineLR, type LRScheduler, type Optimizer } from '../optim/index.js';
import * as torch from '../torch/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN, type Callback, type Logs } from './callbacks/index.js';
import type { TrainConfig } from './config.js';
import { createTask, type Evaluation, type Labels, type Task } from './tasks.js';
import { Trainer } from './trainer.js';
import { paramGroups, countParameters, type TrainableBlocks } from './transfer.js';
import { writeRunReport } from '../report/training.js';

export interface RunResult {
  runDir: string;
  history: Logs[];
  final: Evaluation;
  stopReason: string | undefined;
  seconds: number;
  imagesPerSecond: number;
  parameters: { total: number; trainable: number; nonTrainable: number };
  bestEpoch: number;
  /** With --crops: photos cut to their box and photos used whole (no usable box), per split. */
  crops: { train: CropCounts; val: CropCounts } | null;
}

/** Where resized photos are cached between runs (FINPRINT_CACHE overrides). */
export function cacheRoot(): string {
  return process.env.FINPRINT_CACHE ?? join(homedir(), '.cache', 'finprint');
}

/** A fingerprint of the training data: train.csv's bytes and the number of photos used. */
function datasetFingerprint(dir: string, rows: readonly TrainRow[]): { trainCsvSha256: string; rows: number } {
  const csv = readFileSync(join(dir, 'train.csv'));
  return { trainCsvSha256: createHash('sha256').update(csv).digest('hex'), rows: rows.length };
}

function codeVersion(): Record<string, string> {
  const root = new URL('../../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  const out: Record<string, string> = { finprint: pkg.version, libtorch: torch.buildInfo().version, node: process.version };
  try {
    const head = readFileSync(new URL('.git/HEAD', root), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? readFileSync(new URL(`.git/${head.slice(5)}`, root), 'utf8').trim() : head;
    out.commit = ref;
  } catch {
    // not a git checkout (e.g. an installed package): the version is enough
  }
  return out;
}

interface Prepared {
  labels: Labels;
  train: Sample[];
  val: Sample[];
  /** Validation truth by photo path: individual id or new_individual (identification). */
  truths: Map<string, string>;
  crops: RunResult['crops'];
  /** Rows and photos the folder check left out. */
  issues: Issue[];
}

async function prepareData(cfg: TrainConfig, log: (m: string) => void): Promise<Prepared> {
  const comp = await readCompetition(cfg.data, { check: 'metadata', quiet: true });
  if (comp.issues.length) log(`data: ${comp.issues.length} problem(s) in ${cfg.data}; those rows are skipped (run finprint eda ${cfg.data} for the list)`);
  let rows = comp.train;
  if (rows.length === 0) throw new Error(`train: no usable rows in ${cfg.data}/train.csv`);
  if (cfg.limit > 0 && rows.length > cfg.limit) rows = stratifiedSplit(rows, (r) => r.species, { valFraction: 1 - cfg.limit / rows.length, seed: cfg.seed }).train;
  const boxes = cfg.crops ? await readBoxes(cfg.crops) : undefined;
  const species = [...new Set(rows.map((r) => r.species))].sort();
  const speciesIndex = new Map(species.map((s, i) => [s, i]));
  let trainRows: TrainRow[];
  let valRows: (TrainRow & { truth?: string })[];
  if (cfg.task === 'species') {
    ({ train: trainRows, val: valRows } = stratifiedSplit(rows, (r) => r.species, { valFraction: cfg.valFraction, seed: cfg.seed }));
  } else {
    ({ train: trainRows, val: valRows } = individualSplit(rows, { valFraction: cfg.valFraction, newFraction: cfg.newFraction, seed: cfg.seed }));
  }
  const counts = new Map<string, number>();
  const speciesOf = new Map<string, string>();
  for (const r of trainRows) {
    counts.set(r.individualId, (counts.get(r.individualId) ?? 0) + 1);
    speciesOf.set(r.individualId, r.species);
  }
  const individuals = cfg.task === 'species' ? [] : [...counts.keys()].sort();
  const individualIndex = new Map(individuals.map((id, i) => [id, i]));
  const sample = (r: TrainRow): Sample => {
    const box = boxes?.get(r.image);
    return { path: r.path, ...(box ? { box } : {}), labels: { species: speciesIndex.get(r.species)!, individual: individualIndex.get(r.individualId) ?? -1 } };
  };
  const truths = new Map(valRows.map((r) => [r.path, r.truth ?? r.individualId]));
  const train = trainRows.map(sample);
  const val = valRows.map(sample);
  const crops = boxes ? { train: countCrops(train), val: countCrops(val) } : null;
  if (crops) log(`crops: ${crops.train.cropped + crops.val.cropped} photos cut to their box; ${crops.train.whole + crops.val.whole} used whole, having no usable box in ${cfg.crops}`);
  log(`data: ${trainRows.length} training and ${valRows.length} validation photos, ${species.length} species${individuals.length ? `, ${individuals.length} individuals` : ''}${cfg.task !== 'species' ? ` (${valRows.filter((r) => r.truth === NEW_INDIVIDUAL).length} validation photos of held-out individuals)` : ''}`);
  return {
    labels: { species, individuals, individualCounts: individuals.map((id) => counts.get(id)!), individualSpecies: individuals.map((id) => speciesIndex.get(speciesOf.get(id)!)!) },
    train,
    val,
    truths,
    crops,
    issues: comp.issues,
  };
}

function buildOptimizer(cfg: TrainConfig, task: Task, lr: number): Optimizer {
  const groups = paramGroups(task.model, { lr, headLrMult: cfg.headLrMult });
  const wd = cfg.weightDecay;
  switch (cfg.optimizer) {
    case 'adamw':
      return new AdamW(groups, { lr, weightDecay: wd });
    case 'adam':
      return new Adam(groups, { lr, weightDecay: wd });
    case 'sgd':
      return new SGD(groups, { lr, momentum: 0.9, nesterov: true, weightDecay: wd });
  }
}

function buildScheduler(cfg: TrainConfig, opt: Optimizer, epochs: number, batchesPerEpoch: number): { scheduler?: LRScheduler; interval: 'batch' | 'epoch' } {
  switch (cfg.schedule) {
    case 'cosine': {
      const total = Math.max(1, epochs * batchesPerEpoch);
      return { scheduler: new WarmupCosineLR(opt, { totalSteps: total, warmupSteps: Math.min(Math.round(total * 0.05), batchesPerEpoch), minLr: 0 }), interval: 'batch' };
    }
    case 'step':
      return { scheduler: new StepLR(opt, { stepSize: Math.max(1, Math.ceil(epochs / 3)), gamma: 0.1 }), interval: 'epoch' };
    default:
      return { interval: 'epoch' };
  }
}

function buildCallbacks(cfg: TrainConfig, monitor: string): Callback[] {
  const c = cfg.callbacks;
  const list: Callback[] = [];
  if (c.terminateOnNaN) list.push(new TerminateOnNaN());
  if (c.reduceLrOnPlateau !== false || cfg.schedule === 'plateau') list.push(new ReduceLROnPlateau({ monitor, patience: 2, ...(c.reduceLrOnPlateau || {}) }));
  if (c.earlyStopping !== false) list.push(new EarlyStopping({ monitor, patience: 3, ...c.earlyStopping }));
  if (c.csvLogger) list.push(new CSVLogger());
  // Last, so the resumable checkpoint it asks for sees every other callback's state.
  list.push(new ModelCheckpoint({ monitor, filepath: 'best.safetensors', ...c.modelCheckpoint }));
  return list;
}

interface Phase {
  name: string;
  /** Global epoch count at the end of this phase. */
  until: number;
  trainable: TrainableBlocks;
  lr: number;
}

/**
 * --weights is a .safetensors file with timm names, or a finprint run folder (e.g. the
 * tournament's species run) whose best checkpoint's backbone is taken: transfer learning from
 * a model of our own when no pretrained download is at hand.
 */
function weightsSource(weights: string, backbone: string): { file: string; prefix?: string } {
  if (!existsSync(weights)) throw new Error(`--weights ${weights}: no such file or run folder`);
  if (!statSync(weights).isDirectory()) return { file: weights };
  const info = join(weights, 'run.json');
  const file = join(weights, 'best.safetensors');
  if (!existsSync(info) || !existsSync(file)) throw new Error(`--weights ${weights}: a folder must be a finprint run with run.json and best.safetensors`);
  const theirs = (JSON.parse(readFileSync(info, 'utf8')) as { backbone: string }).backbone;
  if (theirs !== backbone) throw new Error(`--weights ${weights}: that run trained ${theirs}, not --backbone ${backbone}`);
  return { file, prefix: 'backbone' };
}

export async function trainRun(cfg: TrainConfig, options: { resume?: boolean; quiet?: boolean; log?: (m: string) => void } = {}): Promise<RunResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const runDir = resolve(cfg.out);
  await mkdir(runDir, { recursive: true });
  const slot = new CheckpointSlot(runDir);
  if (slot.exists() && !options.resume) throw new Error(`train: ${runDir} already holds a run; pass --resume to continue it, or choose another --out`);
  torch.manualSeed(cfg.seed);
  const data = await prepareData(cfg, log);
  const entry = modelEntry(cfg.backbone);
  const imageSize = cfg.imageSize ?? entry.pretrainedCfg.inputSize[1];
  checkInputSize(cfg.backbone, imageSize);
  const backbone = createModel(cfg.backbone, { numClasses: 0, imgSize: imageSize });
  if (cfg.weights) {
    const source = weightsSource(cfg.weights, cfg.backbone);
    const report = await loadWeights(backbone, source.file, { ignoreHead: true, classifier: entry.pretrainedCfg.classifier, ...(source.prefix ? { prefix: source.prefix } : {}) });
    log(`weights: loaded ${report.loaded.length} tensors from ${source.file}${report.ignored.length ? ` (ignored the classifier: ${report.ignored.length} tensors)` : ''}`);
  } else if (cfg.unfreezeTop !== 'all' && cfg.epochs > 0) {
    log(`warning: ${cfg.backbone} starts from random weights (no --weights), and the first phase trains only its top ${cfg.unfreezeTop} block(s): the rest stay random until fine-tuning. Pass --unfreeze-top all to train it from scratch.`);
  }
  const task = createTask(cfg.task, backbone, data.labels, {
    labelSmoothing: cfg.labelSmoothing,
    trainableBlocks: cfg.unfreezeTop,
    embeddingDim: cfg.embeddingDim,
    arcface: { s: cfg.arcface.s, m: cfg.arcface.m, subCenters: cfg.arcface.subCenters, dynamicMargins: cfg.arcface.dynamicMargins },
  });
  const norm = { mean: entry.pretrainedCfg.mean, std: entry.pretrainedCfg.std };
  const cacheDir = join(cacheRoot(), 'images');
  const mode = cfg.crops ? ('box' as const) : ('squash' as const);
  const trainPipe = new ImagePipeline({ size: imageSize, mode, ...norm, cacheDir, augment: { hflip: cfg.hflip, affine: { degrees: 10, translate: 0.05, scale: [0.9, 1.1] }, colorJitter: { brightness: 0.2, contrast: 0.2, saturation: 0.2 } } });
  const evalPipe = new ImagePipeline({ size: imageSize, mode, ...norm, cacheDir });
  const trainLoader = new BatchLoader(trainPipe, data.train, { batchSize: cfg.batchSize, shuffle: true, dropLast: data.train.length > cfg.batchSize, augment: true, seed: cfg.seed, concurrency: cfg.workers, skipUnreadable: true });
  const valLoader = new BatchLoader(evalPipe, data.val, { batchSize: cfg.batchSize * 2, concurrency: cfg.workers, skipUnreadable: true });
  // A photo whose header reads but whose pixels do not decode passes the folder check: it is
  // reported once and left out of its batches, rather than stopping the run.
  const unreadable = new Map<string, string>();
  const readable = (batches: AsyncIterable<Batch>, minRows = 1): AsyncGenerator<Batch> => readableBatches(batches, (m) => log(`data: ${m}`), unreadable, minRows);
  const truthOf = (p: string): string | undefined => data.truths.get(p);

  await writeFileAtomic(join(runDir, 'config.json'), JSON.stringify({ ...cfg, imageSize }, null, 2));
  await writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ dataset: datasetFingerprint(cfg.data, [...data.train, ...data.val] as unknown as TrainRow[]), version: codeVersion(), labels: data.labels, imageSize, mean: norm.mean, std: norm.std, mode, crops: cfg.crops ? resolve(cfg.crops) : null, cropCounts: data.crops, task: cfg.task, backbone: cfg.backbone, valImages: data.val.map((s) => s.path) }, null, 2));

  const phases: Phase[] = [];
  if (cfg.epochs > 0) phases.push({ name: 'top', until: cfg.epochs, trainable: cfg.unfreezeTop, lr: cfg.lr });
  if (cfg.fineTuneEpochs > 0) phases.push({ name: 'fine-tune', until: cfg.epochs + cfg.fineTuneEpochs, trainable: cfg.fineTuneUnfreeze, lr: cfg.lr * cfg.fineTuneLrMult });

  const resumeFrom = options.resume ? await slot.load((m) => log(`warning: ${m}`)) : undefined;
  const resumePhase = resumeFrom ? (resumeFrom.json.phase as number) : 0;
  if (resumeFrom) log(`resume: continuing phase ${phases[resumePhase]?.name ?? resumePhase} at epoch ${(resumeFrom.json.position as { epoch: number }).epoch + 1}`);
  // One set of callbacks for the whole run, so the best-so-far and patience carry across phases.
  const callbacks = buildCallbacks(cfg, task.monitor);
  let history: Logs[] = [];
  let stopReason: string | undefined;
  const started = performance.now();
  let trainedImages = 0;
  let last: Evaluation | undefined;
  for (let i = resumePhase; i < phases.length && !stopReason; i++) {
    const phase = phases[i]!;
    const freeze = task.model.setTrainableBlocks(phase.trainable);
    log(`phase ${phase.name}: ${freeze.trainableBlocks.length} of ${backbone.blocks().length} backbone blocks train, lr ${phase.lr}`);
    const optimizer = buildOptimizer(cfg, task, phase.lr);
    const start = i === 0 ? 0 : phases[i - 1]!.until;
    const { scheduler, interval } = buildScheduler(cfg, optimizer, phase.until - start, trainLoader.length);
    const trainer = new Trainer({
      model: task.model,
      optimizer,
      scheduler,
      schedulerInterval: interval,
      epochs: phase.until,
      initialEpoch: start,
      batchesPerEpoch: trainLoader.length,
      batches: (epoch, startBatch) => readable(trainLoader.epoch(epoch, startBatch), 2),
      trainStep: (b) => {
        trainedImages += b.paths.length;
        return task.trainStep(b);
      },
      validate: async () => {
        last = await task.evaluate(readable(valLoader.epoch(0)), truthOf);
        return last.logs;
      },
      callbacks,
      runDir,
      checkpointInfo: { phase: i },
      resumeFrom: i === resumePhase ? resumeFrom : undefined,
      history,
      label: phase.name,
      quiet: options.quiet ?? false,
      log,
    });
    const r = await trainer.fit();
    history = r.history;
    stopReason = r.stopReason;
  }
  const seconds = (performance.now() - started) / 1000;
  // Report the best weights (ModelCheckpoint's), evaluated once more.
  const bestPath = join(runDir, 'best.safetensors');
  if (existsSync(bestPath)) {
    const best = await loadSafetensors(bestPath);
    task.model.loadStateDict(best);
    for (const t of best.values()) t.dispose();
  } else {
    await saveSafetensors(bestPath, task.model.stateDict());
  }
  const final = await task.evaluate(readable(valLoader.epoch(0)), truthOf);
  last = final;
  const monitorValues = history.map((h) => h[task.monitor] ?? -Infinity);
  const bestEpoch = monitorValues.indexOf(Math.max(...monitorValues)) + 1;
  task.model.setTrainableBlocks('all');
  const parameters = countParameters(task.model);
  const result: RunResult = { runDir, history, final, stopReason, seconds, imagesPerSecond: trainedImages / seconds, parameters, bestEpoch, crops: data.crops };
  await writeFileAtomic(join(runDir, 'result.json'), JSON.stringify({ ...result, final: { logs: final.logs, threshold: final.threshold ?? null, confusion: final.confusion } }, null, 2));
  const leftOut = [
    ...data.issues.filter((i) => i.file === 'train.csv' || i.file.startsWith('train_images/')).map((i) => ({ what: `${i.file}${i.row !== undefined ? ` line ${i.row}` : ''}`, why: i.message })),
    ...[...unreadable].map(([path, why]) => ({ what: path, why })),
  ];
  await writeRunReport(join(runDir, 'report.html'), { config: { ...cfg, imageSize }, result, labels: data.labels, task: cfg.task, leftOut });
  return result;
}
