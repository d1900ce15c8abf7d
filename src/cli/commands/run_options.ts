import type { Command } from 'commander';
import type { IdentifierOptions } from '../../runs/identifier.js';
import { ENGINES } from '../../identify/model.js';
import { checkExactlyOne, checkOneOf } from '../../util/check.js';
import { DECODE_QUEUE } from '../../data/loader.js';
import { intArg, positiveIntArg, shareArg, WORKERS_HELP } from './parse.js';

/** Flags shared by the commands that match photos with a trained run (evaluate, predict, identify). */
export interface RunFlags {
  run: string;
  data?: string;
  blend: number;
  galleryMirrors?: boolean;
  rebuildGallery?: boolean;
  withValidation?: boolean;
  batchSize: number;
  workers: number;
  quiet?: boolean;
  engine: string;
}

/** With addRunOptions(cmd, { zeroShot: true }): a pretrained model instead of a run (runs/zero_shot.ts). */
export interface ModelFlags extends Omit<RunFlags, 'run'> {
  run?: string;
  model?: string;
  weights?: string;
  imageSize?: number;
  crops?: string;
}

/** `zeroShot`: --run or --model (a pretrained model used without training, over --data). */
export function addRunOptions(cmd: Command, options: { zeroShot?: boolean } = {}): Command {
  const source = options.zeroShot
    ? cmd
        .option('--run <dir>', 'run folder written by finprint train (or --model)')
        .option('--model <name>', 'a pretrained model used without training (e.g. miewid), its gallery the photos of --data')
        .option('--weights <file>', "with --model: its weights as .safetensors (default: the checkpoint `finprint weights pull MODEL` cached)")
        .option('--image-size <n>', "with --model: input size (default: the model's pretrained size)", positiveIntArg)
        .option('--crops <boxes.csv>', "with --model: crop photos by these boxes (default: the data folder's boxes.csv when it has one)")
    : cmd.requiredOption('--run <dir>', 'run folder written by finprint train');
  return source
    .option('--data <dir>', "training data folder (default: the run's config.json data; with --model: the folder whose train.csv photos are the gallery)")
    .option('--blend <w>', 'score = (1 - w) x best gallery similarity + w x ArcFace class-centre cosine', shareArg, 0)
    .option('--gallery-mirrors', 'add each gallery photo mirrored as a second gallery entry')
    .option('--with-validation', "also search the run's validation photos (the threshold is still calibrated without them)")
    .option('--rebuild-gallery', 'embed the gallery again even if gallery.safetensors matches')
    .option('--batch-size <n>', 'photos per forward pass', intArg, 32)
    .option('--workers <n>', WORKERS_HELP, intArg, DECODE_QUEUE)
    .option('--engine <engine>', 'inference engine: torch (libtorch) or onnx (ONNX Runtime over the run exported once, cached beside it)', 'torch')
    .option('--quiet', 'no progress bars');
}

/**
 * Refuses an output path that is one of the run's files, a file of its data folder or one of
 * `inputs`, or that exists without --force; before any work starts.
 */
export async function checkRunOutput(f: RunFlags & { force?: boolean }, flag: string, path: string, inputs: readonly string[] = []): Promise<void> {
  const { readRunRecords, runFolderFiles } = await import('../../runs/run_folder.js');
  const { checkOutputFile } = await import('../../util/outputs.js');
  const { dataFolderGuard, outputRule } = await import('../outputs.js');
  const run = readRunRecords(f.run);
  checkOutputFile(path, outputRule(flag, f.force, dataFolderGuard(f.data ?? run.config.data), { inputs: [...runFolderFiles(run.dir), ...inputs] }));
}

/**
 * The run to match with: --run, or the zero-shot run folder of --model over --data (made, or
 * reused from the cache); exactly one of the two.
 */
export async function resolveRun<F extends ModelFlags>(f: F): Promise<F & RunFlags> {
  const given = checkExactlyOne('the model to match with', { '--run': f.run, '--model': f.model });
  if (given === '--run') {
    const extra = Object.entries({ '--weights': f.weights, '--image-size': f.imageSize, '--crops': f.crops }).filter(([, v]) => v !== undefined);
    if (extra.length) throw new Error(`${extra.map(([k]) => k).join(', ')}: only with --model (a run has its own weights, input size and crops)`);
    return { ...f, run: f.run! };
  }
  if (f.data === undefined) throw new Error(`--model ${f.model} needs a data folder whose train.csv photos are the gallery: --data DIR`);
  const { openZeroShot } = await import('../../runs/zero_shot.js');
  const run = await openZeroShot({ model: f.model!, data: f.data, ...(f.weights !== undefined ? { weights: f.weights } : {}), ...(f.imageSize !== undefined ? { imageSize: f.imageSize } : {}), ...(f.crops !== undefined ? { crops: f.crops } : {}) });
  return { ...f, run };
}

export function identifierOptions(f: RunFlags): IdentifierOptions {
  return {
    data: f.data,
    blend: f.blend,
    mirrors: f.galleryMirrors ?? false,
    rebuild: f.rebuildGallery ?? false,
    withValidation: f.withValidation ?? false,
    batchSize: f.batchSize,
    concurrency: f.workers,
    quiet: f.quiet ?? false,
    engine: checkOneOf('--engine', f.engine, ENGINES),
  };
}
