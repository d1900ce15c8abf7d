import type { Command } from 'commander';
import { SYNTH_DEFAULTS, synthesize } from '../../data/synth/index.js';
import { intArg, numberArg } from './parse.js';

export function register(program: Command): void {
  const d = SYNTH_DEFAULTS;
  program
    .command('synth')
    .description('Generate a synthetic Happywhale-style dataset (photos, train.csv, test answers, boxes).')
    .requiredOption('--out <dir>', 'output folder')
    .option('--species <n>', 'number of species (first N of the 26)', intArg, d.species)
    .option('--individuals <n>', 'number of individuals', intArg, d.individuals)
    .option('--mean-images <n>', 'mean photos per individual', numberArg, d.meanImages)
    .option('--test-fraction <f>', 'share of photos in test_images/', numberArg, d.testFraction)
    .option('--new-fraction <f>', 'share of test photos showing individuals not in train', numberArg, d.newFraction)
    .option('--size <px>', 'nominal long side of a photo', intArg, d.size)
    .option('--seed <n>', 'random seed', intArg, d.seed)
    .option('--concurrency <n>', 'photos rendered at once', intArg)
    .option('--force', 'replace an existing dataset in --out')
    .option('--quiet', 'no progress output')
    .action(async (o: { out: string; species: number; individuals: number; meanImages: number; testFraction: number; newFraction: number; size: number; seed: number; concurrency?: number; force?: boolean; quiet?: boolean }) => {
      const r = await synthesize({ ...o, overwrite: o.force ?? false, quiet: o.quiet ?? false });
      const n = r.train + r.test;
      console.log(`${r.out}: ${r.train} train + ${r.test} test photos (${r.testNew} of new individuals), ${r.individuals} individuals, ${r.species.length} species, ${r.seconds.toFixed(1)} s (${(n / r.seconds).toFixed(0)} photos/s)`);
    });
}
