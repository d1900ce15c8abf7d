// `finprint train`: a whole training run from a resolved config, in steps: prepare the data, build
// the model and its photo pipelines, train the phases (as the seed ran them: the top of the
// backbone unfrozen for `epochs`, then `fineTuneEpochs` with more unfrozen at a lower LR), evaluate
// the best weights once more, and write the result and the report. Everything needed to repeat or
// resume the run is written to the run folder (run_folder.ts).
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readBoxes } from '../data/boxes.js';
import { imageCacheDir } from '../data/cache.js';
import { countCrops } from '../data/crop.js';
import { photoSizes, readCompetition, NEW_INDIVIDUAL, type TrainRow } from '../data/happywhale.js';
import { BatchLoader, readableBatches } from '../data/loader.js';
import { ImagePipeline, type Batch, type Sample } from '../data/pipeline.js';
import type { Issue } from '../data/validate.js';
import { CheckpointSlot, type CheckpointContent } from '../io/checkpoint.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { Backbone } from '../models/backbone.js';
import { checkInputSize, createModel, listModels, modelEntry } from '../models/index.js';
import { checkpointPart, pulledWeights } from '../models/pretrained_weights.js';
import { loadWeights } from '../models/weights.js';
import { Adam, AdamW, SGD, StepLR, WarmupCosineLR, type LRScheduler, type Optimizer } from '../optim/index.js';
import { writeRunReport } from '../report/training.js';
import * as torch from '../torch/index.js';
import { CSVLogger, EarlyStopping, ModelCheckpoint, Monitor, ReduceLROnPlateau, TerminateOnNaN, type Callback, type Logs } from '../train/callbacks/index.js';
import { RECIPE, type TrainConfig } from '../train/config.js';
import { splitRun } from '../train/run_split.js';
import { createTask, type Evaluation, type Labels, type Task } from '../train/tasks.js';
import { Trainer } from '../train/trainer.js';
import { countParameters, paramGroups, type TrainableBlocks } from '../train/transfer.js';
import { codeVersion, datasetFingerprint, lockRunFolder, readRunInfo, readRunRecords, resumeConfig, RUN_FILES, writeRunRecords, writeRunResult, type RunInfo, type RunResult } from './run_folder.js';

type Log = (message: string) => void;

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

/** Step 1: the folder read and checked, limited, split, and labelled. */
async function prepareData(cfg: TrainConfig, log: (m: string) => void): Promise<Prepared> {
  const comp = await readCompetition(cfg.data, { check: 'metadata', quiet: true });
  if (comp.issues.length) log(`data: ${comp.issues.length} problem(s) in ${cfg.data}; those rows are skipped (run finprint eda ${cfg.data} for the list)`);
  if (comp.train.length === 0) throw new Error(`train: no usable rows in ${cfg.data}/train.csv`);
  const boxes = cfg.crops ? await readBoxes(cfg.crops, { sizes: photoSizes(comp) }) : undefined;
  const { rows, train: trainRows, val: valRows, labels } = splitRun(cfg, comp.train);
  if (trainRows.length < 2 || valRows.length === 0) {
    throw new Error(`train: ${rows.length} usable photo(s)${cfg.limit > 0 ? ` (--limit ${cfg.limit})` : ''} split into ${trainRows.length} training and ${valRows.length} validation photos; a run needs at least 2 and 1 to train and to choose its best epoch: use more photos`);
  }
  const { species, individuals } = labels;
  const speciesIndex = new Map(species.map((s, i) => [s, i]));
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
    labels,
    train,
    val,
    truths,
    crops,
    issues: comp.issues,
  };
}

/**
 * --weights is a .safetensors file with timm names, the name of a model whose published weights
 * were pulled into the cache (`finprint weights pull miewid`), or a finprint run folder (e.g. the
 * tournament's species run) whose best checkpoint's backbone is taken: transfer learning from a
 * model of our own when no pretrained download is at hand. A checkpoint that wraps the backbone
 * beside a head of its own (MiewID's GeM and BatchNorm) gives the backbone alone; `taken` says so.
 */
async function weightsSource(weights: string, name: string, backbone: Backbone): Promise<{ file: string; prefix?: string; taken?: string }> {
  if (!existsSync(weights)) {
    if (!listModels({ includeTestVariants: true }).includes(weights.split('.')[0]!)) throw new Error(`--weights ${weights}: no such file or run folder, nor a model name`);
    let file: string;
    try {
      file = pulledWeights(weights);
    } catch (err) {
      throw new Error(`--weights ${weights}: ${(err as Error).message}`);
    }
    return fileSource(file, backbone);
  }
  if (!statSync(weights).isDirectory()) return fileSource(weights, backbone);
  const file = join(weights, RUN_FILES.best);
  let theirs: string;
  try {
    theirs = readRunInfo(weights).backbone;
  } catch (err) {
    throw new Error(`--weights ${weights}: a folder must be a finprint run (${(err as Error).message})`);
  }
  if (!existsSync(file)) throw new Error(`--weights ${weights}: the run has no ${RUN_FILES.best} yet`);
  if (theirs !== name) throw new Error(`--weights ${weights}: that run trained ${theirs}, not --backbone ${name}`);
  return { file, prefix: 'backbone' };
}

async function fileSource(file: string, backbone: Backbone): Promise<{ file: string; prefix?: string; taken?: string }> {
  const part = await checkpointPart(file, backbone);
  if (!part.prefix) return { file };
  return { file, prefix: part.prefix, taken: `its ${part.prefix}.* tensors, prefix removed${part.leftOut.length ? `; left out its head: ${part.leftOut.join(', ')}` : ''}` };
}

interface Built {
  task: Task;
  imageSize: number;
  /** The backbone's input normalisation. */
  norm: Pick<RunInfo, 'mean' | 'std'>;
  blocks: number;
}

/** Step 2: the backbone at its input size, its starting weights, and the task's heads on top. */
async function buildModel(cfg: TrainConfig, labels: Labels, log: Log): Promise<Built> {
  const entry = modelEntry(cfg.backbone);
  const imageSize = cfg.imageSize ?? entry.pretrainedCfg.inputSize[1];
  checkInputSize(cfg.backbone, imageSize);
  const backbone = createModel(cfg.backbone, { numClasses: 0, imgSize: imageSize });
  if (cfg.weights) {
    const source = await weightsSource(cfg.weights, cfg.backbone, backbone);
    const report = await loadWeights(backbone, source.file, { ignoreHead: true, classifier: entry.pretrainedCfg.classifier, ...(source.prefix ? { prefix: source.prefix } : {}) });
    const notes = [source.taken, report.ignored.length ? `ignored the classifier: ${report.ignored.length} tensors` : undefined].filter((n) => n !== undefined);
    log(`weights: loaded ${report.loaded.length} tensors from ${source.file}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  } else if (cfg.unfreezeTop !== 'all' && cfg.epochs > 0) {
    log(`warning: ${cfg.backbone} starts from random weights (no --weights), and the first phase trains only its top ${cfg.unfreezeTop} block(s): the rest stay random until fine-tuning. Pass --unfreeze-top all to train it from scratch.`);
  }
  const task = createTask(cfg.task, backbone, labels, {
    labelSmoothing: cfg.labelSmoothing,
    trainableBlocks: cfg.unfreezeTop,
    embeddingDim: cfg.embeddingDim,
    arcface: { s: cfg.arcface.s, m: cfg.arcface.m, subCenters: cfg.arcface.subCenters, dynamicMargins: cfg.arcface.dynamicMargins },
    ...(cfg.triplet.weight > 0 ? { triplet: cfg.triplet } : {}),
  });
  return { task, imageSize, norm: { mean: entry.pretrainedCfg.mean, std: entry.pretrainedCfg.std }, blocks: backbone.blocks().length };
}

interface Feed {
  mode: RunInfo['mode'];
  train: BatchLoader;
  val: BatchLoader;
  /** Batches without the photos whose pixels do not decode (reported once, kept in `unreadable`). */
  readable(batches: AsyncIterable<Batch>, minRows?: number): AsyncGenerator<Batch>;
  /** Photo path -> why it could not be read. */
  unreadable: Map<string, string>;
}

/** Step 3: the photo pipelines (augmented for training) and their loaders. */
function buildFeed(cfg: TrainConfig, built: Built, data: Prepared, log: Log): Feed {
  const mode = cfg.crops ? ('box' as const) : ('squash' as const);
  const common = { size: built.imageSize, mode, ...built.norm, cacheDir: imageCacheDir() };
  const trainPipe = new ImagePipeline({ ...common, augment: { hflip: cfg.hflip, ...cfg.augment } });
  const evalPipe = new ImagePipeline(common);
  // A photo whose header reads but whose pixels do not decode passes the folder check: it is
  // reported once and left out of its batches, rather than stopping the run.
  const unreadable = new Map<string, string>();
  return {
    mode,
    train: new BatchLoader(trainPipe, data.train, {
      batchSize: cfg.batchSize, shuffle: true, dropLast: data.train.length > cfg.batchSize, augment: true, seed: cfg.seed, concurrency: cfg.workers, skipUnreadable: true,
      ...(cfg.photosPerIndividual > 1 && cfg.task !== 'species' ? { groups: { label: 'individual', k: cfg.photosPerIndividual } } : {}),
    }),
    val: new BatchLoader(evalPipe, data.val, { batchSize: cfg.batchSize * 2, concurrency: cfg.workers, skipUnreadable: true }),
    readable: (batches, minRows = 1) => readableBatches(batches, (m) => log(`data: ${m}`), unreadable, minRows),
    unreadable,
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
      return new SGD(groups, { lr, ...RECIPE.sgd, weightDecay: wd });
  }
}

function buildScheduler(cfg: TrainConfig, opt: Optimizer, epochs: number, batchesPerEpoch: number): { scheduler?: LRScheduler; interval: 'batch' | 'epoch' } {
  switch (cfg.schedule) {
    case 'cosine': {
      const total = Math.max(1, epochs * batchesPerEpoch);
      return { scheduler: new WarmupCosineLR(opt, { totalSteps: total, warmupSteps: Math.min(Math.round(total * RECIPE.warmupShare), batchesPerEpoch), minLr: 0 }), interval: 'batch' };
    }
    case 'step':
      return { scheduler: new StepLR(opt, { stepSize: Math.max(1, Math.ceil(epochs / RECIPE.step.drops)), gamma: RECIPE.step.gamma }), interval: 'epoch' };
    default:
      return { interval: 'epoch' };
  }
}

/** The checkpoint's choice of monitored metric and mode, which `bestEpoch` follows too. */
function checkpointOptions(cfg: TrainConfig, monitor: string): ConstructorParameters<typeof ModelCheckpoint>[0] & { monitor: string } {
  return { monitor, filepath: RUN_FILES.best, ...cfg.callbacks.modelCheckpoint };
}

function buildCallbacks(cfg: TrainConfig, monitor: string): Callback[] {
  const c = cfg.callbacks;
  const list: Callback[] = [];
  if (c.terminateOnNaN) list.push(new TerminateOnNaN());
  if (c.reduceLrOnPlateau !== false || cfg.schedule === 'plateau') list.push(new ReduceLROnPlateau({ monitor, patience: RECIPE.reduceLrPatience, ...(c.reduceLrOnPlateau || {}) }));
  if (c.earlyStopping !== false) list.push(new EarlyStopping({ monitor, patience: RECIPE.earlyStoppingPatience, ...c.earlyStopping }));
  if (c.csvLogger) list.push(new CSVLogger(RUN_FILES.history));
  // Last, so the resumable checkpoint it asks for sees every other callback's state.
  list.push(new ModelCheckpoint(checkpointOptions(cfg, monitor)));
  return list;
}

/** The 1-based epoch whose weights ModelCheckpoint kept: the first best value in the monitor's mode (0: none). */
export function bestEpoch(history: readonly Logs[], metric: string, mode: 'min' | 'max' | 'auto' = 'auto'): number {
  const monitor = new Monitor(metric, mode, 0);
  let best = 0;
  history.forEach((h, i) => {
    const v = h[metric];
    if (v !== undefined && monitor.improves(v)) {
      monitor.best = v;
      best = i + 1;
    }
  });
  return best;
}

interface Phase {
  name: string;
  /** Global epoch count at the end of this phase. */
  until: number;
  trainable: TrainableBlocks;
  lr: number;
}

function phasesOf(cfg: TrainConfig): Phase[] {
  const phases: Phase[] = [];
  if (cfg.epochs > 0) phases.push({ name: 'top', until: cfg.epochs, trainable: cfg.unfreezeTop, lr: cfg.lr });
  if (cfg.fineTuneEpochs > 0) phases.push({ name: 'fine-tune', until: cfg.epochs + cfg.fineTuneEpochs, trainable: cfg.fineTuneUnfreeze, lr: cfg.lr * cfg.fineTuneLrMult });
  return phases;
}

interface Trained {
  history: Logs[];
  stopReason: string | undefined;
  /** The last epoch's loss is NaN or infinite (TerminateOnNaN stopped the run). */
  diverged: boolean;
  seconds: number;
  images: number;
}

/** Step 4: the phases, from the resumable checkpoint when there is one; one set of callbacks for the whole run, so the best-so-far and patience carry across phases. */
async function trainPhases(cfg: TrainConfig, built: Built, feed: Feed, data: Prepared, runDir: string, resumeFrom: CheckpointContent | undefined, options: TrainRunOptions, log: Log): Promise<Trained> {
  const { task } = built;
  const phases = phasesOf(cfg);
  const resumePhase = resumeFrom ? (resumeFrom.json.phase as number) : 0;
  if (resumeFrom) log(`resume: continuing phase ${phases[resumePhase]?.name ?? resumePhase} at epoch ${(resumeFrom.json.position as { epoch: number }).epoch + 1}`);
  const callbacks = buildCallbacks(cfg, task.monitor);
  const truthOf = (p: string): string | undefined => data.truths.get(p);
  let history: Logs[] = [];
  let stopReason: string | undefined;
  let images = 0;
  const started = performance.now();
  for (let i = resumePhase; i < phases.length && !stopReason; i++) {
    const phase = phases[i]!;
    const freeze = task.model.setTrainableBlocks(phase.trainable);
    log(`phase ${phase.name}: ${freeze.trainableBlocks.length} of ${built.blocks} backbone blocks train, lr ${phase.lr}`);
    const optimizer = buildOptimizer(cfg, task, phase.lr);
    const start = i === 0 ? 0 : phases[i - 1]!.until;
    const { scheduler, interval } = buildScheduler(cfg, optimizer, phase.until - start, feed.train.length);
    const trainer = new Trainer({
      model: task.model,
      optimizer,
      scheduler,
      schedulerInterval: interval,
      epochs: phase.until,
      initialEpoch: start,
      batchesPerEpoch: feed.train.length,
      batches: (epoch, startBatch) => feed.readable(feed.train.epoch(epoch, startBatch), 2),
      trainStep: (b) => {
        images += b.paths.length;
        return task.trainStep(b);
      },
      validate: async () => (await task.evaluate(feed.readable(feed.val.epoch(0)), truthOf)).logs,
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
  const lastLoss = history.at(-1)?.loss;
  return { history, stopReason, diverged: lastLoss !== undefined && !Number.isFinite(lastLoss), seconds: (performance.now() - started) / 1000, images };
}

/** Step 5: the best weights (ModelCheckpoint's) evaluated once more, as the run's final figures. */
async function evaluateBest(task: Task, feed: Feed, data: Prepared, runDir: string, trained: Trained): Promise<Evaluation> {
  const bestPath = join(runDir, RUN_FILES.best);
  if (trained.diverged && !existsSync(bestPath)) {
    throw new Error(`train: ${trained.stopReason ?? 'the loss became NaN'}, before any epoch ended well: no weights were saved in ${runDir}`);
  }
  if (existsSync(bestPath)) {
    const best = await loadSafetensors(bestPath);
    task.model.loadStateDict(best);
    for (const t of best.values()) t.dispose();
  } else {
    await saveSafetensors(bestPath, task.model.stateDict());
  }
  return task.evaluate(feed.readable(feed.val.epoch(0)), (p) => data.truths.get(p));
}

export interface TrainRunOptions {
  /** Continue from the run folder's resumable checkpoint. */
  resume?: boolean;
  quiet?: boolean;
  log?: Log;
}

/** Paths made absolute, so the run folder opens from any working directory (--weights may be a model name instead). */
function absolutePaths(cfg: TrainConfig): TrainConfig {
  return { ...cfg, data: resolve(cfg.data), out: resolve(cfg.out), ...(cfg.crops ? { crops: resolve(cfg.crops) } : {}), ...(cfg.weights ? { weights: existsSync(cfg.weights) ? resolve(cfg.weights) : cfg.weights } : {}) };
}

/**
 * Step 0: whether the folder may be trained into. A new run needs a folder without one; a resumed
 * run needs a checkpoint, and settings it can continue with (nothing is written before this).
 */
function startOrResume(requested: TrainConfig, slot: CheckpointSlot, resume: boolean, log: Log): { cfg: TrainConfig; saved?: RunInfo } {
  const runDir = slot.dir;
  const started = existsSync(join(runDir, RUN_FILES.info));
  if (!resume) {
    if (started || slot.exists()) throw new Error(`train: ${runDir} already holds a run; pass --resume to continue it, or choose another --out`);
    return { cfg: requested };
  }
  if (!slot.exists()) {
    throw new Error(`train --resume: nothing to resume from in ${runDir} (no ${RUN_FILES.last})${started ? '; the run stopped before its first checkpoint: remove the folder and train again' : ''}`);
  }
  const { config, info } = readRunRecords(runDir);
  return { cfg: resumeConfig(runDir, config, requested, log), saved: info };
}

export async function trainRun(requested: TrainConfig, options: TrainRunOptions = {}): Promise<RunResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const runDir = resolve(requested.out);
  await mkdir(runDir, { recursive: true });
  const lock = lockRunFolder(runDir, 'train', log);
  try {
    return await trainLocked(absolutePaths(requested), runDir, options, log);
  } finally {
    lock.release();
  }
}

async function trainLocked(requested: TrainConfig, runDir: string, options: TrainRunOptions, log: Log): Promise<RunResult> {
  const slot = new CheckpointSlot(runDir);
  const { cfg, saved } = startOrResume(requested, slot, options.resume ?? false, log);
  torch.manualSeed(cfg.seed);
  const data = await prepareData(cfg, log);
  const dataset = datasetFingerprint(cfg.data, data.train.length + data.val.length);
  if (saved && (saved.dataset.trainCsvSha256 !== dataset.trainCsvSha256 || saved.dataset.rows !== dataset.rows)) {
    throw new Error(`train --resume: ${cfg.data}/train.csv is not the one ${runDir} was started on (its content changed, or another data folder); resume with the data it was trained on`);
  }
  const built = await buildModel(cfg, data.labels, log);
  const feed = buildFeed(cfg, built, data, log);
  const { imageSize, norm } = built;
  await writeRunRecords(runDir, { ...cfg, imageSize }, {
    dataset,
    version: codeVersion(),
    labels: data.labels,
    imageSize,
    ...norm,
    mode: feed.mode,
    crops: cfg.crops ?? null,
    cropCounts: data.crops,
    task: cfg.task,
    backbone: cfg.backbone,
    valImages: data.val.map((s) => s.path),
  });
  const resumeFrom = options.resume ? await slot.load((m) => log(`warning: ${m}`)) : undefined;
  const trained = await trainPhases(cfg, built, feed, data, runDir, resumeFrom, options, log);
  const final = await evaluateBest(built.task, feed, data, runDir, trained);
  built.task.model.setTrainableBlocks('all');
  const checkpoint = checkpointOptions(cfg, built.task.monitor);
  const result: RunResult = {
    runDir,
    history: trained.history,
    final,
    stopReason: trained.stopReason,
    diverged: trained.diverged,
    seconds: trained.seconds,
    imagesPerSecond: trained.images / trained.seconds,
    parameters: countParameters(built.task.model),
    bestEpoch: bestEpoch(trained.history, checkpoint.monitor, checkpoint.mode),
    crops: data.crops,
  };
  await writeRunResult(runDir, result);
  const leftOut = [
    ...data.issues.filter((i) => i.file === 'train.csv' || i.file.startsWith('train_images/')).map((i) => ({ what: `${i.file}${i.row !== undefined ? ` line ${i.row}` : ''}`, why: i.message })),
    ...[...feed.unreadable].map(([path, why]) => ({ what: path, why })),
  ];
  await writeRunReport(join(runDir, RUN_FILES.report), { config: { ...cfg, imageSize }, result, labels: data.labels, task: cfg.task, leftOut });
  return result;
}
