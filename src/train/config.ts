// The resolved configuration of a training run: defaults < config file (YAML or JSON) < flags.
// It is written into the run folder so the run can be repeated.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AugmentSpec } from '../data/augment.js';
import { DECODE_QUEUE } from '../data/loader.js';
import { checkInteger, checkNumber, checkOneOf } from '../util/check.js';
import type { Mode } from './callbacks/callback.js';
import { TASKS, type TaskName } from './tasks.js';
import type { TrainableBlocks } from './transfer.js';

export interface CallbackConfig {
  /** EarlyStopping arguments, or false to leave it out. */
  earlyStopping: false | { monitor?: string; mode?: Mode; patience?: number; minDelta?: number; restoreBestWeights?: boolean };
  /** ReduceLROnPlateau arguments (used with schedule 'plateau', or alone), or false. */
  reduceLrOnPlateau: false | { monitor?: string; mode?: Mode; factor?: number; patience?: number; cooldown?: number; minLr?: number };
  modelCheckpoint: { monitor?: string; mode?: Mode; saveBestOnly?: boolean; saveFreqBatches?: number };
  csvLogger: boolean;
  terminateOnNaN: boolean;
}

export interface TrainConfig {
  data: string;
  task: TaskName;
  backbone: string;
  weights?: string;
  /** Input size; default: the backbone's pretrained input size. */
  imageSize?: number;
  batchSize: number;
  /** Epochs with only the top of the backbone unfrozen. */
  epochs: number;
  /** Further epochs with more of the backbone unfrozen, at a lower LR. */
  fineTuneEpochs: number;
  unfreezeTop: TrainableBlocks;
  fineTuneUnfreeze: TrainableBlocks;
  lr: number;
  fineTuneLrMult: number;
  headLrMult: number;
  optimizer: 'adamw' | 'adam' | 'sgd';
  weightDecay: number;
  schedule: 'cosine' | 'step' | 'plateau' | 'none';
  labelSmoothing: number;
  /** Probability of mirroring a training photo; 0 where the side an animal is seen from matters (then no flip at test time either). */
  hflip: number;
  /** The training photos' random affine move and colour jitter (the mirror is `hflip`). */
  augment: Pick<AugmentSpec, 'affine' | 'colorJitter'>;
  crops?: string;
  out: string;
  seed: number;
  valFraction: number;
  /** Identification tasks: share of validation photos showing individuals held out of training (new_individual). */
  newFraction: number;
  embeddingDim: number;
  arcface: { s: number; m: number; subCenters: number; dynamicMargins: boolean };
  /** Identification tasks: training photos of one individual kept together in a batch (P x K sampling); 1 shuffles freely. */
  photosPerIndividual: number;
  /** Identification tasks: weight and margin of a batch-hard triplet loss on the embedding beside ArcFace (weight 0: none). */
  triplet: { weight: number; margin: number };
  /** Photos decoding at once. */
  workers: number;
  /** Keep at most this many training photos (quick experiments); 0 keeps all. */
  limit: number;
  callbacks: CallbackConfig;
}

export const DEFAULT_CONFIG: Omit<TrainConfig, 'data' | 'backbone' | 'out'> = {
  task: 'species',
  batchSize: 16,
  epochs: 3,
  fineTuneEpochs: 0,
  unfreezeTop: 2,
  fineTuneUnfreeze: 'all',
  lr: 1e-3,
  fineTuneLrMult: 0.1,
  headLrMult: 10,
  optimizer: 'adamw',
  weightDecay: 1e-4,
  schedule: 'cosine',
  labelSmoothing: 0,
  hflip: 0.5,
  augment: { affine: { degrees: 10, translate: 0.05, scale: [0.9, 1.1] }, colorJitter: { brightness: 0.2, contrast: 0.2, saturation: 0.2 } },
  seed: 0,
  valFraction: 0.2,
  newFraction: 0.2,
  embeddingDim: 512,
  arcface: { s: 30, m: 0.3, subCenters: 1, dynamicMargins: false },
  photosPerIndividual: 1,
  triplet: { weight: 0, margin: 0.3 },
  workers: DECODE_QUEUE,
  limit: 0,
  callbacks: {
    earlyStopping: false,
    reduceLrOnPlateau: false,
    modelCheckpoint: { saveBestOnly: true, saveFreqBatches: 0 },
    csvLogger: true,
    terminateOnNaN: true,
  },
};

/**
 * The recipe's choices that are not options of their own: the patience a callback gets when a
 * config switches it on without one, SGD's momentum, the cosine schedule's warm-up and the step
 * schedule's drops.
 */
export const RECIPE = {
  earlyStoppingPatience: 3,
  reduceLrPatience: 2,
  sgd: { momentum: 0.9, nesterov: true },
  /** Share of the phase's steps spent warming up (at most one epoch). */
  warmupShare: 0.05,
  /** The step schedule divides the learning rate by 10 three times a phase. */
  step: { drops: 3, gamma: 0.1 },
} as const;

/** A YAML or JSON config file as an object (validated when merged). */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`config file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`config file ${path}: expected a mapping of options at the top level`);
  const known = new Set([...Object.keys(DEFAULT_CONFIG), 'data', 'backbone', 'out', 'weights', 'imageSize', 'crops']);
  for (const k of Object.keys(value)) if (!known.has(k)) throw new Error(`config file ${path}: unknown option '${k}' (known: ${[...known].join(', ')})`);
  return value as Partial<TrainConfig>;
}

/** Merges defaults, a config file and flags (later wins, nested objects merged), then validates. */
export function resolveConfig(...layers: Partial<TrainConfig>[]): TrainConfig {
  const merged = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const cur = merged[k];
      merged[k] = isPlain(cur) && isPlain(v) ? deepMerge(cur, v) : v;
    }
  }
  const c = merged as unknown as TrainConfig;
  if (!c.data) throw new Error('train: --data DIR is required (a competition-layout folder; see finprint synth)');
  if (!c.backbone) throw new Error('train: --backbone NAME is required (see finprint models)');
  if (!c.out) throw new Error('train: --out RUN_DIR is required');
  checkOneOf('task', c.task, TASKS);
  checkOneOf('optimizer', c.optimizer, ['adamw', 'adam', 'sgd'] as const);
  checkOneOf('schedule', c.schedule, ['cosine', 'step', 'plateau', 'none'] as const);
  checkInteger('batchSize', c.batchSize, 2);
  checkInteger('epochs', c.epochs, 0);
  checkInteger('fineTuneEpochs', c.fineTuneEpochs, 0);
  if (c.epochs + c.fineTuneEpochs < 1) throw new Error('train: epochs + fineTuneEpochs must be at least 1');
  if (c.imageSize !== undefined) checkInteger('imageSize', c.imageSize, 32, 4096);
  checkNumber('lr', c.lr, 0);
  checkNumber('fineTuneLrMult', c.fineTuneLrMult, 0);
  checkNumber('headLrMult', c.headLrMult, 0);
  checkNumber('weightDecay', c.weightDecay, 0);
  checkNumber('labelSmoothing', c.labelSmoothing, 0, 1);
  checkNumber('hflip', c.hflip, 0, 1);
  checkNumber('valFraction', c.valFraction, 0.01, 0.9);
  checkNumber('newFraction', c.newFraction, 0, 0.9);
  checkInteger('seed', c.seed, 0);
  checkInteger('workers', c.workers, 1);
  checkInteger('limit', c.limit, 0);
  checkInteger('photosPerIndividual', c.photosPerIndividual, 1, c.batchSize);
  checkNumber('triplet.weight', c.triplet.weight, 0);
  checkNumber('triplet.margin', c.triplet.margin, 0, 2);
  checkCallbacks(c.callbacks);
  c.unfreezeTop = parseTrainableBlocks(c.unfreezeTop);
  c.fineTuneUnfreeze = parseTrainableBlocks(c.fineTuneUnfreeze, 'fineTuneUnfreeze');
  return c;
}

/** The callbacks' numbers, checked before a run starts rather than when its callbacks are built. */
function checkCallbacks(c: CallbackConfig): void {
  if (c.earlyStopping) {
    if (c.earlyStopping.patience !== undefined) checkInteger('earlyStopping.patience', c.earlyStopping.patience, 0);
    if (c.earlyStopping.minDelta !== undefined) checkNumber('earlyStopping.minDelta', c.earlyStopping.minDelta, 0);
  }
  if (c.reduceLrOnPlateau) {
    if (c.reduceLrOnPlateau.patience !== undefined) checkInteger('reduceLrOnPlateau.patience', c.reduceLrOnPlateau.patience, 0);
    if (c.reduceLrOnPlateau.factor !== undefined) checkNumber('reduceLrOnPlateau.factor', c.reduceLrOnPlateau.factor, 0, 1);
    if (c.reduceLrOnPlateau.minLr !== undefined) checkNumber('reduceLrOnPlateau.minLr', c.reduceLrOnPlateau.minLr, 0);
  }
  if (c.modelCheckpoint.saveFreqBatches !== undefined) checkInteger('modelCheckpoint.saveFreqBatches', c.modelCheckpoint.saveFreqBatches, 0);
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isPlain(out[k]) && isPlain(v) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** 'all' or a block count, from a flag or a config value. */
export function parseTrainableBlocks(value: unknown, name = 'unfreezeTop'): TrainableBlocks {
  if (value === 'all') return 'all';
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return checkInteger(name, n, 0);
}
