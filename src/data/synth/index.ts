import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { checkInteger, checkNumber, invalidParameterError } from '../../util/check.js';
import { mapPool } from '../../util/pool.js';
import { Progress } from '../../util/progress.js';
import { Rng } from '../../util/random.js';
import { writeCsv } from '../csv.js';
import { NEW_INDIVIDUAL } from '../happywhale.js';
import type { Box } from '../crop.js';
import { SPECIES } from '../species.js';
import { planCensus } from './census.js';
import { LOOKS } from './looks.js';
import { anatomyOf, makeMarks } from './marks.js';
import { renderPhoto } from './scene.js';

export interface SynthOptions {
  /** Output folder (created; must be empty unless overwrite). */
  out: string;
  /** Number of species, the first N of the 26 competition species (most photographed first). */
  species?: number;
  individuals?: number;
  /** Mean photos per individual (long-tailed: most have 1-2, a few dozens). */
  meanImages?: number;
  /** Share of all photos that go to test_images/. */
  testFraction?: number;
  /** Share of test photos that show individuals absent from train. */
  newFraction?: number;
  /** Nominal long side in pixels; each photo varies around it. */
  size?: number;
  seed?: number;
  /** Photos rendered at once (default: 2 per core, at most 8). */
  concurrency?: number;
  /** Replace an existing dataset in out. */
  overwrite?: boolean;
  quiet?: boolean;
}

/** Demo defaults: ~1200 photos of 8 species, small enough to train on 2 CPU cores in minutes. */
export const SYNTH_DEFAULTS = { species: 8, individuals: 200, meanImages: 6, testFraction: 0.2, newFraction: 0.2, size: 256, seed: 0 } as const;

export interface SynthSummary {
  out: string;
  species: string[];
  individuals: number;
  train: number;
  test: number;
  /** Test photos of individuals not in train. */
  testNew: number;
  seconds: number;
}

/** Everything the competition folder holds, plus the answers. */
export const SYNTH_FILES = ['train.csv', 'train_images', 'test_images', 'sample_submission.csv', 'test_solution.csv', 'boxes.csv'] as const;

/**
 * Write a synthetic Happywhale dataset: the competition layout (train.csv, train_images/,
 * test_images/, sample_submission.csv) plus test_solution.csv and boxes.csv. Same options give
 * byte-identical files: every photo renders from its own seeded stream, whatever the concurrency.
 */
export async function synthesize(options: SynthOptions): Promise<SynthSummary> {
  const started = performance.now();
  if (typeof options.out !== 'string' || options.out === '') throw invalidParameterError('out', 'a folder path', options.out);
  const nSpecies = checkInteger('species', options.species ?? SYNTH_DEFAULTS.species, 1, SPECIES.length);
  const individuals = checkInteger('individuals', options.individuals ?? SYNTH_DEFAULTS.individuals, nSpecies, 1_000_000);
  const meanImages = checkNumber('meanImages', options.meanImages ?? SYNTH_DEFAULTS.meanImages, 1, 1000);
  const testFraction = checkNumber('testFraction', options.testFraction ?? SYNTH_DEFAULTS.testFraction, 0, 0.9);
  const newFraction = checkNumber('newFraction', options.newFraction ?? SYNTH_DEFAULTS.newFraction, 0, 1);
  const size = checkInteger('size', options.size ?? SYNTH_DEFAULTS.size, 32, 4096);
  const seed = checkInteger('seed', options.seed ?? SYNTH_DEFAULTS.seed, 0, 0xffffffff);
  const concurrency = checkInteger('concurrency', options.concurrency ?? Math.min(8, 2 * availableParallelism()), 1, 64);
  const out = resolve(options.out);
  await prepareFolder(out, options.overwrite ?? false);

  const species = SPECIES.slice(0, nSpecies);
  const { individuals: census, photos } = planCensus({ species, individuals, meanImages, testFraction, newFraction, seed });

  // Each individual's marks and silhouette are drawn once, from its own stream.
  const bodies = census.map((ind) => {
    const look = LOOKS[ind.species]!;
    const marks = makeMarks(look, Rng.from(seed, 'individual', ind.index));
    return { look, marks, anatomy: anatomyOf(look, marks.notches) };
  });
  await mkdir(join(out, 'train_images'), { recursive: true });
  await mkdir(join(out, 'test_images'), { recursive: true });
  const progress = new Progress({ total: photos.length, label: 'synth', quiet: options.quiet });
  const boxes = await mapPool(photos, concurrency, async (p): Promise<Box> => {
    const { look, marks, anatomy } = bodies[p.individual.index]!;
    const photo = await renderPhoto(p.individual.species, look, anatomy, marks, size, Rng.from(seed, 'photo', p.individual.index, p.k));
    await writeFile(join(out, p.split === 'train' ? 'train_images' : 'test_images', p.image), photo.jpeg);
    progress.tick();
    return photo.box;
  });
  progress.done();

  // CSVs last, sorted by image name as Kaggle's are: a folder with train.csv is complete.
  const order = photos.map((_, i) => i).sort((a, b) => (photos[a]!.image < photos[b]!.image ? -1 : 1));
  const train = order.filter((i) => photos[i]!.split === 'train');
  const test = order.filter((i) => photos[i]!.split === 'test');
  const trainCounts = new Map<string, number>();
  for (const i of train) trainCounts.set(photos[i]!.individual.id, (trainCounts.get(photos[i]!.individual.id) ?? 0) + 1);
  const top5 = [...trainCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([id]) => id).join(' ');
  await writeCsv(join(out, 'boxes.csv'), ['image', 'x0', 'y0', 'x1', 'y1'], order.map((i) => [photos[i]!.image, boxes[i]!.x0, boxes[i]!.y0, boxes[i]!.x1, boxes[i]!.y1]));
  // true_individual_id names the new animals too: Kaggle's scoring ignores it, the disjoint
  // evaluation protocol groups their photos by it.
  await writeCsv(join(out, 'test_solution.csv'), ['image', 'species', 'individual_id', 'true_individual_id'],
    test.map((i) => [photos[i]!.image, photos[i]!.individual.species, photos[i]!.individual.isNew ? NEW_INDIVIDUAL : photos[i]!.individual.id, photos[i]!.individual.id]));
  await writeCsv(join(out, 'sample_submission.csv'), ['image', 'predictions'], test.map((i) => [photos[i]!.image, top5]));
  await writeCsv(join(out, 'train.csv'), ['image', 'species', 'individual_id'], train.map((i) => [photos[i]!.image, photos[i]!.label, photos[i]!.individual.id]));

  return {
    out,
    species,
    individuals,
    train: train.length,
    test: test.length,
    testNew: test.filter((i) => photos[i]!.individual.isNew).length,
    seconds: (performance.now() - started) / 1000,
  };
}

async function prepareFolder(out: string, overwrite: boolean): Promise<void> {
  const present = (await readdir(out).catch(() => [] as string[])).filter((name) => (SYNTH_FILES as readonly string[]).includes(name));
  if (present.length === 0) return;
  if (!overwrite) throw new Error(`Expected a new or empty folder for out but ${out} already holds ${present.join(', ')} (pass --force to replace them; overwrite: true from code)`);
  await Promise.all(present.map((name) => rm(join(out, name), { recursive: true, force: true })));
}
