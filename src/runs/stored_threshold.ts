// The new_individual threshold chosen on a run's validation split, kept in the run folder
// (threshold.json) with its MAP@5 curve, so predict and identify place new_individual the same way
// evaluate measured. It is only valid for the scores it was chosen on: the same gallery (weights,
// photos, mirrors) and the same blend weight.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { Calibration } from '../eval/threshold.js';
import { RUN_FILES } from './run_folder.js';

export interface ScoreSettings {
  /** Fingerprint of the gallery the scores came from. */
  gallery: string;
  blend: number;
}

export interface StoredThreshold extends Calibration {
  settings: ScoreSettings;
  /** How it was chosen: best MAP@5, or the share of new_individual answers closest to a target. */
  method: { kind: 'map5' } | { kind: 'new-share'; target: number };
  /** Validation photos, and how many of them show an individual the gallery lacks. */
  images: number;
  newImages: number;
}

/**
 * The stored threshold if it was chosen for these settings (and, when `newShare` is given, by that
 * target share); undefined if there is none or it no longer applies.
 */
export function readStoredThreshold(runDir: string, settings: ScoreSettings, newShare?: number): StoredThreshold | undefined {
  const file = join(runDir, RUN_FILES.threshold);
  if (!existsSync(file)) return undefined;
  const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredThreshold;
  if (stored.settings?.gallery !== settings.gallery || stored.settings.blend !== settings.blend) return undefined;
  if (newShare !== undefined && (stored.method.kind !== 'new-share' || stored.method.target !== newShare)) return undefined;
  return stored;
}

export async function writeStoredThreshold(runDir: string, stored: StoredThreshold): Promise<void> {
  await writeFileAtomic(join(runDir, RUN_FILES.threshold), `${JSON.stringify(stored, null, 2)}\n`);
}
