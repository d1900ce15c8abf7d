import type { Command } from 'commander';
import { intArg, shareArg } from './parse.js';

export function register(program: Command): void {
  program
    .command('crop')
    .description('Predict the animal box of every photo in some folders with a trained detector; write a box file for `finprint train --crops`')
    .requiredOption('--detector <dir>', 'folder written by finprint detector train')
    .requiredOption('--images <dirs...>', 'photo folders (e.g. DATA/train_images DATA/test_images)')
    .requiredOption('--out <file.csv>', 'box file to write: image,x0,y0,x1,y1,score,label (pixels)')
    .option('--min-score <x>', 'photos whose box scores lower get no row, so they are used whole', shareArg, 0.2)
    .option('--batch-size <n>', 'photos per forward pass', intArg, 32)
    .option('--workers <n>', 'photos decoding at once', intArg, 4)
    .option('--force', 'replace --out if it exists')
    .option('--quiet', 'no progress bar')
    .addHelpText('after', '\nExample:\n  finprint crop --detector runs/detector --images demo-data/train_images demo-data/test_images --out demo-data/pred_boxes.csv')
    .action(async (f: { detector: string; images: string[]; out: string; minScore: number; batchSize: number; workers: number; quiet?: boolean; force?: boolean }) => {
      const { checkOutputFile } = await import('../../util/outputs.js');
      const { join } = await import('node:path');
      const { DETECTOR_FILES } = await import('../../detect/detector.js');
      checkOutputFile(f.out, { flag: '--out', force: f.force ?? false, inputs: Object.values(DETECTOR_FILES).map((n) => join(f.detector, n)), folders: f.images.map((dir) => ({ dir, what: 'a photo folder given to --images' })) });
      const { writePredictedBoxes } = await import('../../detect/predict.js');
      const r = await writePredictedBoxes(f.detector, f.images, f.out, f);
      console.log(`${f.out}: boxes for ${r.written} of ${r.photos} photos${r.whole ? `; ${r.whole} scored under ${f.minScore} and will be used whole` : ''}`);
    });
}
