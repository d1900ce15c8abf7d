import type { Command } from 'commander';
import type { IdentifierOptions } from '../../runs/identifier.js';
import { ENGINES } from '../../identify/model.js';
import { checkOneOf } from '../../util/check.js';
import { intArg, shareArg } from './parse.js';

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

export function addRunOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--run <dir>', 'run folder written by finprint train')
    .option('--data <dir>', "training data folder (default: the run's config.json data)")
    .option('--blend <w>', 'score = (1 - w) x best gallery similarity + w x ArcFace class-centre cosine', shareArg, 0)
    .option('--gallery-mirrors', 'add each gallery photo mirrored as a second gallery entry')
    .option('--with-validation', "also search the run's validation photos (the threshold is still calibrated without them)")
    .option('--rebuild-gallery', 'embed the gallery again even if gallery.safetensors matches')
    .option('--batch-size <n>', 'photos per forward pass', intArg, 32)
    .option('--workers <n>', 'photos decoding at once', intArg, 4)
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
