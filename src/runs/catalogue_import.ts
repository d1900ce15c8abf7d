// `finprint catalogue import`: photo files and folders into a catalogue as encounters to review,
// with the survey's metadata, each ranked against the catalogue as it stands.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Catalogue } from '../catalogue/catalogue.js';
import { readMetadata } from '../catalogue/metadata.js';
import { readBoxes } from '../data/boxes.js';
import { runEmbedder } from './catalogue_model.js';
import type { EngineName } from './run_engine.js';

const PHOTO = /\.(jpe?g|png|webp|tiff?|heic|heif)$/i;

export type ImportedPhoto =
  | { name: string; status: 'added'; encounter: number; best: { individual: string; score: number; probability: number | null } | null; suggestion: string | null }
  | { name: string; status: 'duplicate'; photo: number | null; encounter: number | null }
  | { name: string; status: 'rejected'; reason: string };

export interface ImportSummary {
  added: number;
  duplicates: number;
  rejected: number;
  photos: ImportedPhoto[];
}

/** The photo files named, folders read one level deep (photo extensions only); each path as given. */
function photoFiles(inputs: readonly string[]): string[] {
  return inputs.flatMap((input) => {
    const s = statSync(input, { throwIfNoEntry: false });
    if (!s) throw new Error(`${input}: no such file or folder`);
    if (!s.isDirectory()) return [input];
    return readdirSync(input).filter((f) => PHOTO.test(f)).sort().map((f) => join(input, f));
  });
}

export interface ImportOptions {
  /** A survey's encounters.csv. */
  metadata?: string;
  /** A box file (image,x0,y0,x1,y1): the animal's box in photos it names, by file name; others are detected or used whole. */
  boxes?: string;
  quiet?: boolean;
  engine?: EngineName;
}

export async function importPhotos(dir: string, inputs: readonly string[], options: ImportOptions = {}): Promise<ImportSummary> {
  const files = photoFiles(inputs);
  if (files.length === 0) throw new Error(`no photos in ${inputs.join(', ')} (JPEG, PNG, WebP, TIFF or HEIF files)`);
  const metadata = options.metadata ? readMetadata(options.metadata) : new Map();
  const unmatched = [...metadata.keys()].filter((name) => !files.some((f) => basename(f) === name));
  if (unmatched.length) process.stderr.write(`import: ${options.metadata} lists ${unmatched.length} photo(s) not given: ${unmatched.slice(0, 5).join(', ')}${unmatched.length > 5 ? ', ...' : ''}\n`);
  const boxes = options.boxes ? await readBoxes(options.boxes) : new Map();
  const catalogue = await Catalogue.open(dir);
  try {
    const embedder = await runEmbedder(catalogue.setup, { ...(options.engine ? { engine: options.engine } : {}), quiet: options.quiet ?? false });
    const intake = files.map((path) => ({ source: { path }, name: basename(path), box: boxes.get(basename(path)) ?? null, ...metadata.get(basename(path)) }));
    const results = await catalogue.intake(intake, embedder, { quiet: options.quiet ?? false });
    const photos: ImportedPhoto[] = [];
    for (const r of results) {
      if (r.status === 'added') {
        const c = await catalogue.candidates(r.encounter.id, {}, { top: 1 });
        const best = c.candidates[0];
        photos.push({ name: r.name, status: 'added', encounter: r.encounter.id, best: best ? { individual: best.individual.id, score: best.score, probability: best.probability } : null, suggestion: c.suggestion });
      } else if (r.status === 'duplicate') photos.push({ name: r.name, status: 'duplicate', photo: r.photo?.id ?? null, encounter: r.photo?.encounterId ?? null });
      else photos.push({ name: r.name, status: 'rejected', reason: r.reason });
    }
    const count = (s: ImportedPhoto['status']): number => photos.filter((p) => p.status === s).length;
    return { added: count('added'), duplicates: count('duplicate'), rejected: count('rejected'), photos };
  } finally {
    await catalogue.close();
  }
}
