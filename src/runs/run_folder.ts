// The run folder's format, in one place: the names of its files, the records a training run writes
// (config.json: the resolved config; run.json: what is needed to rebuild and use the model;
// result.json: how training went) and their reading, with a clear error for a folder that is
// incomplete or was written by a newer finprint.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { CropCounts } from '../data/crop.js';
import { modelEntry } from '../models/index.js';
import * as torch from '../torch/index.js';
import { resolveConfig, type TrainConfig } from '../train/config.js';
import type { Evaluation, Labels, TaskName } from '../train/tasks.js';
import type { Logs } from '../train/callbacks/index.js';
import { processAlive, writeFileAtomic } from '../util/fs.js';

/** The run.json format this version writes and the newest it reads. */
export const RUN_FORMAT = 1;

export const RUN_FILES = {
  config: 'config.json',
  info: 'run.json',
  /** The weights of the best epoch (ModelCheckpoint). */
  best: 'best.safetensors',
  /** The resumable checkpoint (io/checkpoint's CheckpointSlot, with last.prev.safetensors beside it). */
  last: 'last.safetensors',
  history: 'history.csv',
  result: 'result.json',
  report: 'report.html',
  /** Cached embeddings of the training photos (runs/gallery_cache.ts). */
  gallery: 'gallery.safetensors',
  /** The calibrated new_individual threshold (runs/stored_threshold.ts). */
  threshold: 'threshold.json',
  /** The best weights exported for ONNX Runtime, made by --engine onnx (runs/run_engine.ts). */
  engine: 'engine.onnx',
  evaluation: 'evaluation.json',
  /** Held while a process trains into the folder (lockRunFolder). */
  lock: 'run.lock',
} as const;

/** Every file a run folder owns (the second resumable checkpoint included). */
export function runFolderFiles(dir: string): string[] {
  return [...Object.values(RUN_FILES), 'last.prev.safetensors', 'evaluation.html'].map((f) => join(dir, f));
}

/** config.json: the resolved training config, with the input size the backbone defaulted to. */
export type RunConfig = TrainConfig & { imageSize: number };

/** run.json: how to rebuild the run's model and feed it photos as it was trained. */
export interface RunInfo {
  /** RUN_FORMAT of the finprint that wrote it (absent in folders written before it was recorded: 1). */
  format: number;
  /** train.csv's bytes and the number of photos used. */
  dataset: { trainCsvSha256: string; rows: number };
  /** finprint, libtorch and node versions, and the git commit where known. */
  version: Record<string, string>;
  labels: Labels;
  imageSize: number;
  mean: [number, number, number];
  std: [number, number, number];
  mode: 'squash' | 'box';
  /** The box file trained on (absolute), or null for whole photos. */
  crops: string | null;
  cropCounts: { train: CropCounts; val: CropCounts } | null;
  task: TaskName;
  backbone: string;
  /** Validation photos (absolute paths) of the run's split. */
  valImages: string[];
}

/** What a training run returns; result.json holds it with the final evaluation's logs, threshold and confusion. */
export interface RunResult {
  runDir: string;
  history: Logs[];
  final: Evaluation;
  stopReason: string | undefined;
  /** Training stopped on a NaN or infinite loss; the best weights are those of the last epoch that ended well. */
  diverged: boolean;
  seconds: number;
  imagesPerSecond: number;
  parameters: { total: number; trainable: number; nonTrainable: number };
  bestEpoch: number;
  /** With --crops: photos cut to their box and photos used whole (no usable box), per split. */
  crops: { train: CropCounts; val: CropCounts } | null;
}

const REQUIRED_INFO: readonly (keyof RunInfo)[] = ['labels', 'imageSize', 'mean', 'std', 'mode', 'task', 'backbone', 'valImages'];

/** A fingerprint of the training data: train.csv's bytes and the number of photos used. */
export function datasetFingerprint(dataDir: string, rows: number): RunInfo['dataset'] {
  const csv = readFileSync(join(dataDir, 'train.csv'));
  return { trainCsvSha256: createHash('sha256').update(csv).digest('hex'), rows };
}

/** The versions that made a run: finprint's (and its git commit in a checkout), libtorch's, node's. */
export function codeVersion(): Record<string, string> {
  const root = new URL('../../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  const out: Record<string, string> = { finprint: pkg.version, libtorch: torch.buildInfo().version, node: process.version };
  try {
    const head = readFileSync(new URL('.git/HEAD', root), 'utf8').trim();
    out.commit = head.startsWith('ref: ') ? readFileSync(new URL(`.git/${head.slice(5)}`, root), 'utf8').trim() : head;
  } catch {
    // not a git checkout (e.g. an installed package): the version is enough
  }
  return out;
}

/** Writes config.json and run.json at the start of a run. */
export async function writeRunRecords(dir: string, config: RunConfig, info: Omit<RunInfo, 'format'>): Promise<void> {
  await writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(config, null, 2));
  await writeFileAtomic(join(dir, RUN_FILES.info), JSON.stringify({ format: RUN_FORMAT, ...info }, null, 2));
}

/** Writes result.json at the end of a run (the final evaluation's curves and candidates stay out). */
export async function writeRunResult(dir: string, result: RunResult): Promise<void> {
  const { final } = result;
  const record = { ...result, final: { logs: final.logs, threshold: final.threshold ?? null, confusion: final.confusion } };
  await writeFileAtomic(join(dir, RUN_FILES.result), JSON.stringify(record, null, 2));
}

function readRecord(dir: string, name: string): Record<string, unknown> {
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`${dir} is not a finprint run folder, or an incomplete one: ${name} is missing (a run folder is made by finprint train --out)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message}); the run folder is damaged`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}: expected a JSON object; the run folder is damaged`);
  return value as Record<string, unknown>;
}

/** run.json of a run folder, checked: its format is one this version reads and nothing it needs is missing. */
export function readRunInfo(dir: string): RunInfo {
  const runDir = resolve(dir);
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new Error(`run folder ${dir} not found`);
  const raw = readRecord(runDir, RUN_FILES.info);
  const format = raw.format ?? 1;
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) throw new Error(`${join(runDir, RUN_FILES.info)}: "format" must be a positive integer, got ${JSON.stringify(format)}`);
  if (format > RUN_FORMAT) throw new Error(`${runDir} was written by a newer finprint (run format ${format}; this version reads up to ${RUN_FORMAT}): upgrade finprint to open it`);
  const missing = REQUIRED_INFO.filter((k) => raw[k] === undefined);
  if (missing.length) throw new Error(`${join(runDir, RUN_FILES.info)} lacks ${missing.join(', ')}: the run folder is incomplete`);
  return { ...raw, format } as unknown as RunInfo;
}

/** config.json and run.json of a run folder. */
export function readRunRecords(dir: string): { dir: string; config: RunConfig; info: RunInfo } {
  const runDir = resolve(dir);
  const info = readRunInfo(runDir);
  const config = readRecord(runDir, RUN_FILES.config) as unknown as RunConfig;
  return { dir: runDir, config, info };
}

interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command: string;
}

export interface RunLock {
  release(): void;
}

/**
 * An advisory lock on a run folder for a process that writes into it: a lock file naming the
 * owner's pid and host. A lock whose process is no longer running on this host is stale: it is
 * taken over, with a message. Released on release() or when the process exits.
 */
export function lockRunFolder(dir: string, command: string, log: (message: string) => void): RunLock {
  const file = join(dir, RUN_FILES.lock);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command };
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot lock the run folder ${dir}: ${(err as Error).message}`);
    }
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    } catch {
      // being written this very moment, or damaged: judged by its age below
    }
    const stale = typeof owner.pid === 'number' ? owner.host === me.host && !processAlive(owner.pid) : Date.now() - statSync(file).mtimeMs > 10_000;
    if (!stale) {
      const who = typeof owner.pid === 'number' ? `finprint ${owner.command} (pid ${owner.pid} on ${owner.host}, since ${owner.started})` : 'another finprint process';
      throw new Error(`${dir} is in use by ${who}; wait for it to finish, or remove ${file} if that process is gone`);
    }
    log(`run folder: ${typeof owner.pid === 'number' ? `pid ${owner.pid} (finprint ${owner.command}) ended without releasing` : 'a damaged lock on'} ${dir}; taking it over`);
    unlinkSync(file);
  }
  const release = (): void => {
    process.off('exit', release);
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as LockOwner).pid === me.pid) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return { release };
}

/** Options a resumed run may change: how long it trains and how it is watched, not what it learns from or is. */
const RESUMABLE_CHANGES = new Set<string>(['epochs', 'fineTuneEpochs', 'workers', 'callbacks', 'data', 'weights', 'out']);

const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? 'unset');

/**
 * The config to resume a run with, checked against the one it was started with (config.json):
 * a change of what the run is (backbone, task, input size, crops, split, recipe) is refused; more
 * epochs are taken, fewer are not (the run keeps the count it was given); the data may have moved
 * (its content is compared separately, see datasetFingerprint). Nothing is written.
 */
export function resumeConfig(dir: string, saved: RunConfig, requested: TrainConfig, log: (message: string) => void): RunConfig {
  const imageSize = requested.imageSize ?? modelEntry(requested.backbone).pretrainedCfg.inputSize[1];
  const before = resolveConfig(saved) as unknown as Record<string, unknown>;
  const after = { ...requested, imageSize } as unknown as Record<string, unknown>;
  const refused: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [a, b] = [before[key], after[key]];
    if (RESUMABLE_CHANGES.has(key) || JSON.stringify(a) === JSON.stringify(b)) continue;
    if (key === 'crops' && a !== undefined && b !== undefined && resolve(String(a)) === resolve(String(b))) continue;
    refused.push(`${key} ${shown(a)} -> ${shown(b)}`);
  }
  if (refused.length) throw new Error(`train --resume: ${dir} was started with other settings (${refused.join('; ')}); resume it with the settings it was started with (see its ${RUN_FILES.config}), or train into another --out`);
  const out = { ...requested, imageSize };
  for (const key of ['epochs', 'fineTuneEpochs'] as const) {
    if (out[key] > saved[key]) log(`resume: ${key} ${saved[key]} -> ${out[key]}`);
    else if (out[key] < saved[key]) {
      log(`resume: the run was given ${key} ${saved[key]}; keeping that (not ${out[key]})`);
      out[key] = saved[key];
    }
  }
  return out;
}
