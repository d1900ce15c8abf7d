// The Kaggle submission file (image,predictions; up to five space-separated ids per photo) and
// the solution it is scored against (image,individual_id, other columns allowed). One validator
// guards both directions: `predict` checks its own file before writing it, `score` checks a file
// from anywhere before scoring it. Every problem names the file and line; all are reported at once.
import { readFile } from 'node:fs/promises';
import { formatCsv, parseCsv, CsvError, type CsvTable } from '../data/csv.js';
import { SPECIES_FIXES } from '../data/species.js';
import { IMAGE_NAME, INDIVIDUAL_ID } from '../data/validate.js';
import { MAP_K } from '../eval/map5.js';
import { identificationMetrics, type IdentificationMetrics } from '../eval/metrics.js';
import { writeFileAtomic } from '../util/fs.js';

export const SUBMISSION_HEADER = ['image', 'predictions'] as const;

export interface FileProblem {
  /** 1-based line; absent for a problem of the file as a whole (e.g. photos without a row). */
  line?: number;
  message: string;
}

export class SubmissionError extends Error {
  constructor(readonly file: string, readonly problems: readonly FileProblem[]) {
    const shown = problems.slice(0, 20).map((p) => `  ${p.line !== undefined ? `line ${p.line}: ` : ''}${p.message}`);
    const more = problems.length > 20 ? [`  ... and ${problems.length - 20} more`] : [];
    super(`${file}: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${[...shown, ...more].join('\n')}`);
    this.name = 'SubmissionError';
  }
}

function parseTable(text: string, file: string): CsvTable {
  try {
    const table = parseCsv(text);
    if (table.header.length === 0) throw new SubmissionError(file, [{ line: 1, message: 'the file is empty: expected a header line' }]);
    return table;
  } catch (err) {
    if (err instanceof CsvError) throw new SubmissionError(file, [{ line: err.line, message: err.message.replace(/^line \d+: /, '') }]);
    throw err;
  }
}

/** A row's image name, or a problem: empty, not a photo name, or seen on an earlier line. */
function checkImage(image: string, line: number, seen: Map<string, number>, problems: FileProblem[]): boolean {
  if (image === '') {
    problems.push({ line, message: 'empty image name' });
    return false;
  }
  if (!IMAGE_NAME.pattern.test(image)) {
    problems.push({ line, message: `image ${JSON.stringify(image)}: expected ${IMAGE_NAME.expected}` });
    return false;
  }
  const first = seen.get(image);
  if (first !== undefined) {
    problems.push({ line, message: `duplicate image ${image} (first on line ${first})` });
    return false;
  }
  seen.set(image, line);
  return true;
}

export interface Solution {
  file: string;
  /** Image names in file order. */
  images: string[];
  /** Truth per image: an individual id or new_individual. */
  truths: Map<string, string>;
  /** True species per image (normalised as train.csv's are), when the file has a species column. */
  species?: Map<string, string>;
  /**
   * Who each photo shows, new animals included, when the file has a true_individual_id column (as
   * `finprint synth` writes it): what the disjoint protocol groups new animals by.
   */
  identities?: Map<string, string>;
}

/** A solution file: columns image and individual_id (any order), optionally species and true_individual_id, other columns ignored. */
export function parseSolution(text: string, file: string): Solution {
  const table = parseTable(text, file);
  const col = (name: string): number => table.header.indexOf(name);
  const missing = ['image', 'individual_id'].filter((c) => col(c) < 0);
  if (missing.length) {
    throw new SubmissionError(file, [{ line: 1, message: `missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (header is "${table.header.join(',')}"; a solution needs image,individual_id)` }]);
  }
  const [ci, cid, cs, ctrue] = [col('image'), col('individual_id'), col('species'), col('true_individual_id')];
  const problems: FileProblem[] = [];
  const seen = new Map<string, number>();
  const truths = new Map<string, string>();
  const species = cs >= 0 ? new Map<string, string>() : undefined;
  const identities = ctrue >= 0 ? new Map<string, string>() : undefined;
  table.rows.forEach((fields, k) => {
    const line = table.lines[k]!;
    if (fields.length !== table.header.length) {
      problems.push({ line, message: `expected ${table.header.length} fields but found ${fields.length}` });
      return;
    }
    const image = fields[ci]!.trim();
    const id = fields[cid]!.trim();
    if (!checkImage(image, line, seen, problems)) return;
    if (!INDIVIDUAL_ID.pattern.test(id)) {
      problems.push({ line, message: `individual_id ${JSON.stringify(id)}: expected ${INDIVIDUAL_ID.expected}` });
      return;
    }
    if (identities) {
      const who = fields[ctrue]!.trim();
      if (!INDIVIDUAL_ID.pattern.test(who)) {
        problems.push({ line, message: `true_individual_id ${JSON.stringify(who)}: expected ${INDIVIDUAL_ID.expected}` });
        return;
      }
      identities.set(image, who);
    }
    truths.set(image, id);
    if (species) {
      const s = fields[cs]!.trim();
      species.set(image, Object.hasOwn(SPECIES_FIXES, s) ? SPECIES_FIXES[s]! : s);
    }
  });
  if (problems.length) throw new SubmissionError(file, problems);
  if (truths.size === 0) throw new SubmissionError(file, [{ line: 2, message: 'no rows: a solution needs at least one image' }]);
  return { file, images: [...truths.keys()], truths, ...(species ? { species } : {}), ...(identities ? { identities } : {}) };
}

export async function readSolution(path: string): Promise<Solution> {
  return parseSolution(await readTextFile(path), path);
}

/**
 * Predictions by image from a submission, checked against the images it must cover (each exactly
 * once): the header must be exactly image,predictions; every row two fields; one to five ids
 * separated by single spaces. `expectedName` says where the images come from, for the messages.
 */
export function parseSubmission(text: string, file: string, expected: readonly string[], expectedName = 'the solution'): Map<string, string[]> {
  const table = parseTable(text, file);
  const header = table.header;
  if (header.length > 0 && IMAGE_NAME.pattern.test(header[0]!)) {
    throw new SubmissionError(file, [{ line: 1, message: `missing header: the first line is a data row; expected the header ${SUBMISSION_HEADER.join(',')}` }]);
  }
  if (header.length !== 2 || header[0] !== SUBMISSION_HEADER[0] || header[1] !== SUBMISSION_HEADER[1]) {
    throw new SubmissionError(file, [{ line: 1, message: `header is "${header.join(',')}": expected exactly ${SUBMISSION_HEADER.join(',')}` }]);
  }
  const wanted = new Set(expected);
  const problems: FileProblem[] = [];
  const seen = new Map<string, number>();
  const out = new Map<string, string[]>();
  table.rows.forEach((fields, k) => {
    const line = table.lines[k]!;
    if (fields.length !== 2) {
      problems.push({ line, message: `expected 2 fields (image,predictions) but found ${fields.length}` });
      return;
    }
    const image = fields[0]!.trim();
    if (!checkImage(image, line, seen, problems)) return;
    if (!wanted.has(image)) {
      problems.push({ line, message: `image ${image} is not in ${expectedName}` });
      return;
    }
    const text = fields[1]!.trim();
    if (text === '') {
      problems.push({ line, message: `no predictions for ${image}: give 1 to ${MAP_K} ids` });
      return;
    }
    const ids = text.split(' ');
    const bad = ids.find((id) => !INDIVIDUAL_ID.pattern.test(id));
    if (bad !== undefined) {
      problems.push({ line, message: `malformed id ${JSON.stringify(bad)} for ${image}: expected ids of letters, digits, _ and - separated by single spaces` });
      return;
    }
    if (ids.length > MAP_K) {
      problems.push({ line, message: `${ids.length} predictions for ${image}: at most ${MAP_K} are allowed` });
      return;
    }
    out.set(image, ids);
  });
  const missing = expected.filter((image) => !seen.has(image));
  if (missing.length) {
    problems.push({ message: `${missing.length} image(s) of ${expectedName} have no row: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}` });
  }
  if (problems.length) throw new SubmissionError(file, problems);
  return out;
}

export async function readSubmission(path: string, expected: readonly string[], expectedName?: string): Promise<Map<string, string[]>> {
  return parseSubmission(await readTextFile(path), path, expected, expectedName);
}

/** Writes a submission atomically, after checking that the exact text covers `expected` correctly. */
export async function writeSubmission(path: string, rows: readonly { image: string; predictions: readonly string[] }[], expected: readonly string[], expectedName?: string): Promise<void> {
  const text = formatCsv(SUBMISSION_HEADER, rows.map((r) => [r.image, r.predictions.join(' ')]));
  parseSubmission(text, path, expected, expectedName);
  await writeFileAtomic(path, text);
}

/** Scores predictions the competition's way (MAP@5), with the other identification metrics. */
export function scoreSubmission(solution: Solution, predictions: ReadonlyMap<string, readonly string[]>): IdentificationMetrics {
  const truths = solution.images.map((i) => solution.truths.get(i)!);
  const preds = solution.images.map((i) => predictions.get(i) ?? []);
  return identificationMetrics(truths, preds, solution.images.map((i) => solution.species?.get(i) ?? 'all'));
}

async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
