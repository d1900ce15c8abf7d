// A pretrained model used without training (zero-shot: MiewID, or any registered model with its
// published weights), made into a run folder that the Identifier opens as it opens a trained run:
// task 'embedding' (the model's own head gives the embedding; no species or class head),
// config.json and run.json (run format 1) over a data folder split as `finprint train` splits it
// by default, so the new_individual threshold is calibrated on that validation split against the
// training gallery; best.safetensors is a link to the weights file. The folder lives in the cache,
// <cache>/zero-shot/<model>-<hash of the weights file's path, input size, box file, data folder>,
// where the gallery and threshold caches of the run work unchanged (they hash the weights' and the
// photos' contents, so a re-pulled checkpoint or an edited photo is noticed there). The records are
// written again only when train.csv or the settings they hold change.
import { createHash } from 'node:crypto';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, rename, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readBoxes } from '../data/boxes.js';
import { countCrops } from '../data/crop.js';
import { NEW_INDIVIDUAL, photoSizes, readCompetition, type TrainRow } from '../data/happywhale.js';
import { checkInputSize, modelEntry } from '../models/index.js';
import { pulledWeights } from '../models/pretrained_weights.js';
import { DEFAULT_CONFIG } from '../train/config.js';
import { splitRun } from '../train/run_split.js';
import { cacheRoot } from '../util/fs.js';
import { codeVersion, datasetFingerprint, readRunRecords, RUN_FILES, writeRunRecords, type RunConfig } from './run_folder.js';

export interface ZeroShotOptions {
  /** A registered model, e.g. 'miewid'. */
  model: string;
  /** The data folder (train.csv, train_images/) whose photos are the gallery and the validation split. */
  data: string;
  /** A .safetensors file of the model's weights; default: its checkpoint pulled into the cache (`finprint weights pull MODEL`). */
  weights?: string;
  /** Input size; default: the model's pretrained size (440 for miewid). */
  imageSize?: number;
  /** A box file to crop the photos by; default: the data folder's boxes.csv when it has one, else whole photos. */
  crops?: string;
  /** Where to say that the records were written (default: stderr). */
  log?: (message: string) => void;
}

/** The zero-shot run folder of a model over a data folder, made or brought up to date; returns its path. */
export async function openZeroShot(options: ZeroShotOptions): Promise<string> {
  const { model } = options;
  const entry = modelEntry(model);
  const imageSize = options.imageSize ?? entry.pretrainedCfg.inputSize[1];
  checkInputSize(model, imageSize);
  const weights = weightsFile(model, entry.pretrainedCfg.hfHubId !== '', options.weights);
  const data = resolve(options.data);
  if (!existsSync(join(data, 'train.csv'))) throw new Error(`${options.data}: no train.csv there; the gallery is a data folder with train.csv and train_images/ (as finprint synth writes)`);
  const boxFile = join(data, 'boxes.csv');
  const crops = options.crops !== undefined ? resolve(options.crops) : existsSync(boxFile) ? boxFile : undefined;
  const key = createHash('sha256').update(JSON.stringify([weights, imageSize, crops ?? null, data])).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'zero-shot', `${model}-${key}`);
  // Split as train splits by default; hflip 0: no flip averaging, which only runs trained on mirrored photos get.
  const config: RunConfig = { ...DEFAULT_CONFIG, data, backbone: model, task: 'embedding', weights, imageSize, out: dir, hflip: 0, ...(crops ? { crops } : {}) };
  const csv = datasetFingerprint(data, 0).trainCsvSha256; // the rows are counted when the records are written
  const saved = savedRecords(dir);
  if (saved?.info.dataset.trainCsvSha256 !== csv || JSON.stringify(saved.config) !== JSON.stringify(config)) {
    await writeRecords(dir, config, options.log ?? ((m) => process.stderr.write(`${m}\n`)));
  }
  await linkWeights(dir, weights);
  return dir;
}

function weightsFile(model: string, published: boolean, given: string | undefined): string {
  if (given === undefined) {
    if (!published) throw new Error(`--model ${model} has no published weights: give --weights FILE.safetensors`);
    try {
      return pulledWeights(model);
    } catch (err) {
      throw new Error(`--model ${model}: ${(err as Error).message}`);
    }
  }
  const file = resolve(given);
  if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`--weights ${given}: no such file (a .safetensors checkpoint of the model)`);
  return file;
}

function savedRecords(dir: string): ReturnType<typeof readRunRecords> | undefined {
  try {
    return readRunRecords(dir);
  } catch {
    return undefined; // not made yet, or damaged: written again
  }
}

async function writeRecords(dir: string, config: RunConfig, log: (message: string) => void): Promise<void> {
  const entry = modelEntry(config.backbone);
  const comp = await readCompetition(config.data, { check: 'metadata', quiet: true });
  if (comp.train.length === 0) throw new Error(`${config.data}/train.csv has no usable rows to make a gallery of`);
  const split = splitRun(config, comp.train);
  const boxes = config.crops ? await readBoxes(config.crops, { sizes: photoSizes(comp) }) : undefined;
  const counted = (rows: readonly TrainRow[]): ReturnType<typeof countCrops> => countCrops(rows.map((r) => (boxes?.has(r.image) ? { box: boxes.get(r.image)! } : {})));
  await mkdir(dir, { recursive: true });
  await writeRunRecords(dir, config, {
    dataset: datasetFingerprint(config.data, split.rows.length),
    version: codeVersion(),
    labels: split.labels,
    imageSize: config.imageSize,
    mean: entry.pretrainedCfg.mean,
    std: entry.pretrainedCfg.std,
    mode: boxes ? 'box' : 'squash',
    crops: config.crops ?? null,
    cropCounts: boxes ? { train: counted(split.train), val: counted(split.val) } : null,
    task: 'embedding',
    backbone: config.backbone,
    valImages: split.val.map((r) => r.path),
  });
  const held = split.val.filter((r) => r.truth === NEW_INDIVIDUAL).length;
  log(`zero-shot: ${config.backbone} over ${config.data}: ${split.train.length} gallery and ${split.val.length} validation photos (${held} of individuals held out of the gallery), split as finprint train splits it; records in ${dir}`);
}

/** best.safetensors: a link to the weights, replaced atomically when it points elsewhere. */
async function linkWeights(dir: string, weights: string): Promise<void> {
  const link = join(dir, RUN_FILES.best);
  let target: string | undefined;
  try {
    target = readlinkSync(link);
  } catch {
    // no link yet
  }
  if (target === weights) return;
  const temp = `${link}.${process.pid}.tmp`;
  await symlink(weights, temp);
  await rename(temp, link);
}
