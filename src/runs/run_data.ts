// The photos a trained run is matched with: its gallery (the training split: every train.csv row
// that is not one of the run's validation photos) and its labelled validation split, whose truth
// is new_individual wherever the individual has no photo in the gallery; and every photo of
// test_images/, the unreadable ones included (they are answered new_individual, never left out).
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readBoxes } from '../data/boxes.js';
import { NEW_INDIVIDUAL, readCompetition, type Competition, type TrainRow } from '../data/happywhale.js';
import type { Box } from '../data/crop.js';
import type { Sample } from '../data/pipeline.js';
import type { OpenRun } from './open_run.js';

/** A photo of test_images/; `problem` says why the folder check found it unreadable (e.g. zero bytes). */
export interface TestPhoto {
  image: string;
  path: string;
  problem?: string;
}

export interface RunData {
  dir: string;
  competition: Competition;
  /**
   * Every photo file of test_images/ (name order): competition.test and the photos the folder
   * check dropped (empty or not a regular file), which must still be answered.
   */
  test: TestPhoto[];
  /** Training-split rows, train.csv order. */
  gallery: TrainRow[];
  /** Validation rows with their truth (an id of the gallery, or new_individual). */
  validation: (TrainRow & { truth: string })[];
  /** Boxes by image name when the run trained on crops. */
  boxes?: Map<string, Box>;
}

/** The data folder the run trained on (config.data), unless overridden; it must exist. */
export function runDataDir(run: OpenRun, override?: string): string {
  const dir = resolve(override ?? run.config.data);
  if (!existsSync(dir)) {
    throw new Error(override !== undefined ? `--data ${override}: folder not found` : `the run's training data ${run.config.data} (config.json "data") is not there any more: pass --data DIR`);
  }
  return dir;
}

export async function readRunData(run: OpenRun, dir: string): Promise<RunData> {
  // 'exists' only: a photo that will not decode fails loudly when it is embedded.
  const competition = await readCompetition(dir, { check: 'exists', quiet: true });
  // By file name, so a data folder that moved since training still matches.
  const valNames = new Set(run.info.valImages.map((p) => basename(p)));
  const gallery = competition.train.filter((r) => !valNames.has(r.image));
  const known = new Set(gallery.map((r) => r.individualId));
  const validation = competition.train.filter((r) => valNames.has(r.image)).map((r) => ({ ...r, truth: known.has(r.individualId) ? r.individualId : NEW_INDIVIDUAL }));
  const boxes = run.info.crops ? await readBoxes(run.info.crops) : undefined;
  return { dir, competition, test: testPhotos(competition), gallery, validation, ...(boxes ? { boxes } : {}) };
}

// readCompetition drops a test photo its check finds unreadable and lists it in `issues`; a
// submission must still answer it, so it is put back with the reason.
function testPhotos(competition: Competition): TestPhoto[] {
  const prefix = 'test_images/';
  const dropped = competition.issues
    .filter((i) => i.file.startsWith(prefix) && i.kind !== 'not-an-image' && i.row === undefined)
    .map((i) => {
      const image = i.file.slice(prefix.length);
      return { image, path: join(competition.dir, 'test_images', image), problem: i.message };
    });
  const all = [...competition.test, ...dropped];
  return all.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0));
}

/** Size and mtime (ms) of a photo; [-1, -1] when it cannot be stat'ed. */
export type PhotoStat = [size: number, mtimeMs: number];

export function photoStat(path: string): PhotoStat {
  try {
    const s = statSync(path);
    return [s.size, s.mtimeMs];
  } catch {
    return [-1, -1];
  }
}

/** What the run's validation split depends on: its photos' names, truths, sizes, mtimes and boxes, and the data folder. */
export function validationFingerprint(data: RunData): string {
  const h = createHash('sha256').update(data.dir);
  for (const r of data.validation) {
    const box = data.boxes?.get(r.image);
    h.update(`\n${JSON.stringify([r.image, r.truth, ...photoStat(r.path), box ? [box.x0, box.y0, box.x1, box.y1] : null])}`);
  }
  return h.digest('hex');
}

/** Pipeline samples for photos, with their boxes when the run trained on crops. */
export function samplesOf(data: Pick<RunData, 'boxes'>, photos: readonly { image: string; path: string }[]): Sample[] {
  return photos.map((p) => {
    const box = data.boxes?.get(p.image);
    return { path: p.path, ...(box ? { box } : {}) };
  });
}
