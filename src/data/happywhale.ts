import { access, readdir, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { checkInteger, checkOneOf } from '../util/check.js';
import { mapPool } from '../util/pool.js';
import { Progress } from '../util/progress.js';
import { CsvError, readCsv, type CsvTable } from './csv.js';
import { normaliseSpecies, SPECIES_FIXES, unknownSpecies, type SpeciesReport } from './species.js';
import {
  CHECK_LEVELS, checkImage, checkLink, checkTable, DEFAULT_LIMITS, IMAGE_NAME, INDIVIDUAL_ID, SPECIES_LABEL,
  type CheckedRow, type CheckLevel, type ColumnRule, type DimensionLimits, type ImageInfo, type Issue,
} from './validate.js';

/** The label the competition uses for a photo of an individual not in the training set. */
export const NEW_INDIVIDUAL = 'new_individual';

/** One usable row of train.csv. */
export interface TrainRow {
  image: string;
  /** Absolute path of the photo. */
  path: string;
  /** Normalised species. */
  species: string;
  /** The label as written in train.csv. */
  speciesRaw: string;
  individualId: string;
  /** Line in train.csv, for reports. */
  line: number;
}

export interface TestImage {
  image: string;
  path: string;
}

/** A competition folder, read and checked: good rows only, and every problem found. */
export interface Competition {
  dir: string;
  train: TrainRow[];
  test: TestImage[];
  sampleSubmission?: { image: string; predictions: string[] }[];
  species: SpeciesReport;
  /** Size and format of every photo that passed the checks, keyed by absolute path. */
  images: Map<string, ImageInfo>;
  issues: Issue[];
}

export interface ReadOptions {
  /** Species rewrites; defaults to the built-in fixes (see loadSpeciesMapping for a user file). */
  speciesMapping?: Readonly<Record<string, string>>;
  /** How hard to look at each photo (default 'metadata'). */
  check?: CheckLevel;
  limits?: DimensionLimits;
  /** Photos checked at once (default 8). */
  concurrency?: number;
  quiet?: boolean;
}

export const TRAIN_COLUMNS: readonly ColumnRule[] = [IMAGE_NAME, SPECIES_LABEL, INDIVIDUAL_ID];
const PREDICTIONS: ColumnRule = { name: 'predictions', pattern: /^\S+( \S+){0,4}$/, expected: 'up to 5 ids separated by single spaces', maxBytes: 5 * 256 };

/**
 * Read train.csv, train_images/, test_images/ and an optional sample_submission.csv. Bad rows and
 * bad photos are skipped and listed in `issues`; only a folder with neither train.csv nor
 * test_images/ is an error.
 */
export async function readCompetition(dir: string, options: ReadOptions = {}): Promise<Competition> {
  const check = checkOneOf('check', options.check ?? 'metadata', CHECK_LEVELS);
  const concurrency = checkInteger('concurrency', options.concurrency ?? 8, 1);
  const root = resolve(dir);
  const [hasTrain, hasTest] = await Promise.all([exists(join(root, 'train.csv')), exists(join(root, 'test_images'))]);
  if (!hasTrain && !hasTest) {
    throw new Error(`Expected a Happywhale folder (train.csv, train_images/, test_images/) for dir but found neither train.csv nor test_images/ in ${root}`);
  }
  const issues: Issue[] = [];

  let trainRecords: CheckedRow[] = [];
  if (hasTrain) {
    const table = await readTable(join(root, 'train.csv'), 'train.csv', issues);
    if (table) {
      const checked = checkTable('train.csv', table, TRAIN_COLUMNS);
      issues.push(...checked.issues);
      trainRecords = checked.records;
    }
  } else {
    issues.push({ file: 'train.csv', kind: 'unreadable-file', message: 'file not found' });
  }
  const rawRows = trainRecords.map(({ line, values: v }) => ({
    image: v['image']!, path: join(root, 'train_images', v['image']!), species: v['species']!, individualId: v['individual_id']!, line,
  }));

  const test: TestImage[] = [];
  if (hasTest) {
    for (const name of (await readdir(join(root, 'test_images'))).sort()) {
      if (IMAGE_NAME.pattern.test(name)) test.push({ image: name, path: join(root, 'test_images', name) });
      else issues.push({ file: `test_images/${name}`, kind: 'not-an-image', message: 'ignored: not a photo file name' });
    }
  } else {
    issues.push({ file: 'test_images/', kind: 'unreadable-file', message: 'folder not found' });
  }

  let sampleSubmission: Competition['sampleSubmission'];
  if (await exists(join(root, 'sample_submission.csv'))) {
    const table = await readTable(join(root, 'sample_submission.csv'), 'sample_submission.csv', issues);
    if (table) {
      const checked = checkTable('sample_submission.csv', table, [IMAGE_NAME, PREDICTIONS]);
      issues.push(...checked.issues);
      sampleSubmission = checked.records.map(({ values: v }) => ({ image: v['image']!, predictions: v['predictions']!.split(' ') }));
    }
  }

  // Check every photo once; a row whose photo is bad is dropped with the reason. A photo may be a
  // symbolic link only to a file inside the data folder (or inside its photo folders, which may
  // themselves be links to a bigger disk).
  const allowed = (await Promise.all([root, join(root, 'train_images'), join(root, 'test_images')].map((d) => realpath(d).catch(() => undefined))))
    .filter((d): d is string => d !== undefined);
  const images = new Map<string, ImageInfo>();
  const targets = [
    ...rawRows.map((r) => ({ path: r.path, file: `train_images/${r.image}`, line: r.line as number | undefined })),
    ...test.map((t) => ({ path: t.path, file: `test_images/${t.image}`, line: undefined })),
  ];
  const progress = new Progress({ total: targets.length, label: `check ${check}`, quiet: options.quiet });
  const bad = new Set<string>();
  await mapPool(targets, concurrency, async (t) => {
    const outside = await checkLink(t.path, allowed);
    const result = outside ? { problem: outside } : await checkImage(t.path, check, options.limits ?? DEFAULT_LIMITS);
    progress.tick();
    if (result.problem) {
      bad.add(t.path);
      issues.push({ file: t.file, ...(t.line !== undefined ? { row: t.line } : {}), ...result.problem });
    } else if (result.info) {
      images.set(t.path, result.info);
    }
  });
  progress.done();
  // Concurrent checks finish in any order; sort (by code point, not locale) so reports are stable.
  issues.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.row ?? 0) - (b.row ?? 0)));

  const mapping = options.speciesMapping ?? SPECIES_FIXES;
  const { rows, report } = normaliseSpecies(rawRows.filter((r) => !bad.has(r.path)), mapping);
  return {
    dir: root,
    train: rows,
    test: test.filter((t) => !bad.has(t.path)),
    ...(sampleSubmission ? { sampleSubmission } : {}),
    species: { ...report, unknown: unknownSpecies(rows, mapping) },
    images,
    issues,
  };
}

/**
 * The size of every photo the check read (train and test; none with check 'exists'), by image
 * name: what readBoxes / readBoxFile take as `sizes` to report a box lying outside its photo.
 */
export function photoSizes(c: Competition): Map<string, { width: number; height: number }> {
  const sizes = new Map<string, { width: number; height: number }>();
  for (const p of [...c.train, ...c.test]) {
    const info = c.images.get(p.path);
    if (info && !sizes.has(p.image)) sizes.set(p.image, { width: info.width, height: info.height });
  }
  return sizes;
}

async function readTable(path: string, file: string, issues: Issue[]): Promise<CsvTable | undefined> {
  try {
    return await readCsv(path);
  } catch (err) {
    issues.push({ file, ...(err instanceof CsvError ? { row: err.line } : {}), kind: 'unreadable-file', message: (err as Error).message });
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
