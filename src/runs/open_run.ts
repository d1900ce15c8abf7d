// Opens a finished (or interrupted) training run: rebuilds its model from the run folder's
// records and loads its best weights, for evaluation, prediction and identification. A zero-shot
// run folder (zero_shot.ts: task 'embedding') holds the pretrained model's own checkpoint instead,
// loaded into the backbone as a pretrained download is.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { imageCacheDir } from '../data/cache.js';
import { ImagePipeline } from '../data/pipeline.js';
import type { TrainedModel } from '../identify/model.js';
import { loadSafetensors } from '../io/safetensors.js';
import { createModel, modelEntry } from '../models/index.js';
import { loadWeights } from '../models/weights.js';
import { createTask } from '../train/tasks.js';
import { readRunRecords, RUN_FILES, type RunConfig, type RunInfo } from './run_folder.js';

export interface OpenRun extends TrainedModel {
  dir: string;
  config: RunConfig;
  info: RunInfo;
}

export async function openRun(dir: string, options: { weights?: 'best' | 'last' } = {}): Promise<OpenRun> {
  const { dir: runDir, config, info } = readRunRecords(dir);
  const backbone = createModel(info.backbone, { numClasses: 0, imgSize: info.imageSize });
  const task = createTask(info.task, backbone, info.labels, {
    embeddingDim: config.embeddingDim,
    arcface: { s: config.arcface.s, m: config.arcface.m, subCenters: config.arcface.subCenters, dynamicMargins: config.arcface.dynamicMargins },
  });
  const file = join(runDir, options.weights === 'last' ? RUN_FILES.last : RUN_FILES.best);
  if (!existsSync(file)) throw new Error(`${file} is missing: the run has not finished an epoch yet`);
  if (info.task === 'embedding') {
    // A timm checkpoint's classifier does not fit the model built without one: it is left out.
    await loadWeights(backbone, file, { classifier: modelEntry(info.backbone).pretrainedCfg.classifier });
  } else {
    const sd = await loadSafetensors(file);
    // A resumable checkpoint stores the model under 'model/'; a weights file stores it bare.
    const model = new Map([...sd].filter(([k]) => !k.includes('/') || k.startsWith('model/')).map(([k, t]) => [k.replace(/^model\//, ''), t]));
    task.model.loadStateDict(model);
    for (const t of sd.values()) t.dispose();
  }
  task.model.eval();
  const pipeline = new ImagePipeline({ size: info.imageSize, mode: info.mode, mean: info.mean, std: info.std, cacheDir: imageCacheDir() });
  return { dir: runDir, config, info, task, pipeline, flips: config.hflip > 0, source: runDir };
}
