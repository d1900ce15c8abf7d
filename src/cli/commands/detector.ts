import type { Command } from 'commander';
import { DETECTOR_DEFAULTS } from '../../detect/defaults.js';
import type { DetectorTrainOptions } from '../../detect/train.js';
import { intArg, numberArg, shareArg, WORKERS_HELP } from './parse.js';

/** The train flags are the trainer's options less what the CLI fixes, plus --json. */
type TrainFlags = Omit<DetectorTrainOptions, 'channels' | 'log'> & { json?: boolean };

const percent = (v: number): string => `${(v * 100).toFixed(1)}%`;

export function register(program: Command): void {
  const detector = program.command('detector').description('Train and score the animal detector whose boxes `finprint crop` writes.');
  const d = DETECTOR_DEFAULTS;
  detector
    .command('train')
    .description('Fit a centre-heatmap detector (CenterNet-style) on the boxed photos of train_images/, holding out a seeded share')
    .requiredOption('--data <dir>', 'competition-layout folder (train_images/)')
    .requiredOption('--boxes <file>', 'box file: image,x0,y0,x1,y1[,score][,label] in pixels')
    .requiredOption('--out <dir>', 'folder for detector.json, best.safetensors and history.csv')
    .option('--backbone <name>', 'a CNN from finprint models', d.backbone)
    .option('--image-size <n>', 'side of the square input', intArg, d.imageSize)
    .option('--output-stride <n>', 'input pixels per heatmap cell', intArg, d.outputStride)
    .option('--epochs <n>', 'epochs', intArg, d.epochs)
    .option('--batch-size <n>', 'photos per batch', intArg, d.batchSize)
    .option('--lr <x>', 'peak learning rate (AdamW, warmup then cosine)', numberArg, d.lr)
    .option('--val-share <f>', 'share of boxed photos held out for scoring', shareArg, d.valShare)
    .option('--label <name>', 'use only boxes with this label (e.g. body, fin)')
    .option('--seed <n>', 'random seed (hold-out, shuffling, flips, initialisation)', intArg, d.seed)
    .option('--workers <n>', WORKERS_HELP, intArg, d.workers)
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress bars')
    .addHelpText('after', '\nExample:\n  finprint detector train --data demo-data --boxes demo-data/boxes.csv --out runs/detector')
    .action(async (f: TrainFlags) => {
      const { trainDetector } = await import('../../detect/train.js');
      const r = await trainDetector({ ...f, channels: DETECTOR_DEFAULTS.channels, ...(f.label !== undefined ? { label: f.label } : {}), quiet: f.quiet ?? false });
      const v = r.info.val;
      const summary = { detector: r.dir, photos: v.photos, mean_iou: v.meanIou, recall50: v.recall50, recall75: v.recall75, seconds: r.seconds };
      if (f.json) console.log(JSON.stringify(summary));
      else console.log(`detector saved in ${r.dir}: held-out ${v.photos} photos, mean IoU ${v.meanIou.toFixed(3)}, recall@0.5 ${percent(v.recall50)}, recall@0.75 ${percent(v.recall75)} (${r.seconds.toFixed(0)} s)`);
    });

  detector
    .command('eval')
    .description('Mean IoU and recall at IoU 0.5 / 0.75 of a detector on photos it did not train on')
    .requiredOption('--detector <dir>', 'folder written by finprint detector train')
    .requiredOption('--data <dir>', 'competition-layout folder')
    .requiredOption('--boxes <file>', 'the true boxes')
    .option('--split <split>', "val (the detector's held-out train_images/) | test (test_images/)", 'val')
    .option('--batch-size <n>', 'photos per forward pass', intArg, 32)
    .option('--workers <n>', 'photos decoding at once', intArg, 4)
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  finprint detector eval --detector runs/detector --data demo-data --boxes demo-data/boxes.csv --split test')
    .action(async (f: { detector: string; data: string; boxes: string; split: string; batchSize: number; workers: number; json?: boolean }) => {
      const { evaluateDetector } = await import('../../detect/evaluate.js');
      const e = await evaluateDetector(f.detector, f);
      if (f.json) console.log(JSON.stringify({ split: e.split, photos: e.photos, mean_iou: e.meanIou, recall50: e.recall50, recall75: e.recall75, mean_score: e.meanScore, unboxed: e.unboxed }));
      else console.log(`${e.split} split, ${e.photos} photos: mean IoU ${e.meanIou.toFixed(3)}, recall@0.5 ${percent(e.recall50)}, recall@0.75 ${percent(e.recall75)}, mean score ${e.meanScore.toFixed(3)}${e.unboxed ? ` (${e.unboxed} photos without a true box not scored)` : ''}`);
    });
}
