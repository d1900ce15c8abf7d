// Opens a finished (or interrupted) training run: rebuilds its model from the run folder's
// config and labels and loads its best weights, for evaluation, prediction and identification.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImagePipeline } from '../data/pipeline.js';
import { loadSafetensors } from '../io/safetensors.js';
import { createModel } from '../models/index.js';
import type { TrainConfig } from './config.js';
import { cacheRoot } from './run.js';
import { createTask, type Labels, type Task } from './tasks.js';

export interface RunInfo {
  labels: Labels;
  imageSize: number;
  mean: [number, number, number];
  std: [number, number, number];
  mode: 'squash' | 'box';
  crops: string | null;
  task: Task['name'];
  backbone: string;
  /** Validation photos (absolute paths) of the run's split. */
  valImages: string[];
}

export interface OpenRun {
  dir: string;
  config: TrainConfig & { imageSize: number };
  info: RunInfo;
  task: Task;
  /** The evaluation pipeline the run was validated with (no augmentation). */
  pipeline: ImagePipeline;
}

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path} is missing: is this a finprint run folder (finprint train --out)?`);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export async function openRun(dir: string, options: { weights?: 'best' | 'last' } = {}): Promise<OpenRun> {
  const runDir = resolve(dir);
  const config = readJson<TrainConfig & { imageSize: number }>(join(runDir, 'config.json'));
  const info = readJson<RunInfo>(join(runDir, 'run.json'));
  const backbone = createModel(info.backbone, { numClasses: 0, imgSize: info.imageSize });
  const task = createTask(info.task, backbone, info.labels, {
    embeddingDim: config.embeddingDim,
    arcface: { s: config.arcface.s, m: config.arcface.m, subCenters: config.arcface.subCenters, dynamicMargins: config.arcface.dynamicMargins },
  });
  const file = join(runDir, options.weights === 'last' ? 'last.safetensors' : 'best.safetensors');
  if (!existsSync(file)) throw new Error(`${file} is missing: the run has not finished an epoch yet`);
  const sd = await loadSafetensors(file);
  // A resumable checkpoint stores the model under 'model/'; a weights file stores it bare.
  const model = new Map([...sd].filter(([k]) => !k.includes('/') || k.startsWith('model/')).map(([k, t]) => [k.replace(/^model\//, ''), t]));
  task.model.loadStateDict(model);
  for (const t of sd.values()) t.dispose();
  task.model.eval();
  const pipeline = new ImagePipeline({ size: info.imageSize, mode: info.mode, mean: info.mean, std: info.std, cacheDir: join(cacheRoot(), 'images') });
  return { dir: runDir, config, info, task, pipeline };
}
