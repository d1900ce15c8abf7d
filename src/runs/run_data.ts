// The photos a trained run is matched with: its gallery (the training split: every train.csv row
// that is not one of the run's validation photos) and its labelled validation split, whose truth
// is new_individual wherever the individual has no photo in the gallery.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { readBoxes } from '../data/boxes.js';
import { NEW_INDIVIDUAL, readCompetition, type Competition, type TrainRow } from '../data/happywhale.js';
import type { Box } from '../data/crop.js';
import type { Sample } from '../data/pipeline.js';
import type { OpenRun } from './open_run.js';

export interface RunData {
  dir: string;
  competition: Competition;
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
  return { dir, competition, gallery, validation, ...(boxes ? { boxes } : {}) };
}

/** Pipeline samples for photos, with their boxes when the run trained on crops. */
export function samplesOf(data: Pick<RunData, 'boxes'>, photos: readonly { image: string; path: string }[]): Sample[] {
  return photos.map((p) => {
    const box = data.boxes?.get(p.image);
    return { path: p.path, ...(box ? { box } : {}) };
  });
}
