import type { Command } from 'commander';
import { printTable } from '../table.js';
import { intArg, numberArg } from './parse.js';

interface TournamentFlags {
  data: string;
  backbones: string;
  budgetEpochs: number;
  imageSize?: number;
  task: string;
  batchSize?: number;
  lr?: number;
  headLrMult?: number;
  unfreezeTop?: string;
  limit?: number;
  finals: number;
  seed?: number;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('tournament')
    .description("The seed's elimination round: train several backbones on the same budget and rank them (table, JSON, HTML)")
    .requiredOption('--data <dir>', 'competition-layout folder')
    .option('--backbones <list>', 'comma-separated model names', 'vgg16,inception_v3,efficientnet_b0,levit_192,coatnet_0_rw_224')
    .requiredOption('--budget-epochs <n>', 'epochs each backbone gets', intArg)
    .option('--image-size <n>', 'input size for every backbone (default: each backbone\'s own)', intArg)
    .option('--task <task>', 'species (ranked by val_accuracy) | individual | joint (ranked by val_map5)', 'species')
    .option('--batch-size <n>', 'photos per batch', intArg)
    .option('--lr <x>', 'learning rate', numberArg)
    .option('--head-lr-mult <x>', 'head learning rate = lr x this (default 10, for pretrained backbones)', numberArg)
    .option('--unfreeze-top <n>', "backbone blocks that train (default 'all': no pretrained weights offline)", 'all')
    .option('--limit <n>', 'use at most n training photos', intArg)
    .option('--finals <n>', 'train the winner n more epochs with fine-tuning', intArg, 0)
    .option('--seed <n>', 'random seed', intArg)
    .option('--out <dir>', 'tournament folder (one run folder per backbone)', 'tournament')
    .option('--json', 'print the result as one JSON object')
    .option('--quiet', 'no progress bars')
    .addHelpText('after', '\nExample:\n  finprint tournament --data demo-data --backbones efficientnet_b0,levit_192 --budget-epochs 2 --image-size 96 --out runs/tournament')
    .action(async (f: TournamentFlags) => {
      const { runTournament, leaderboardTable } = await import('../../runs/tournament.js');
      const t = await runTournament({
        recipe: { data: f.data, task: f.task as 'species', imageSize: f.imageSize, batchSize: f.batchSize, lr: f.lr, headLrMult: f.headLrMult, unfreezeTop: f.unfreezeTop as 'all', limit: f.limit, seed: f.seed },
        backbones: f.backbones.split(',').map((s) => s.trim()).filter(Boolean),
        budgetEpochs: f.budgetEpochs,
        finals: f.finals,
        out: f.out,
        quiet: f.quiet ?? false,
      });
      if (f.json) {
        console.log(JSON.stringify(t));
        return;
      }
      const { header, rows } = leaderboardTable(t);
      printTable(header, rows);
      console.log(`\nwinner: ${t.winner}${t.finals ? ` (after finals: best ${t.metric} ${t.finals.best.toFixed(4)})` : ''}\nreport: ${t.report}`);
    });
}
