// The new_individual threshold chosen on a run's validation split, kept in the run folder
// (threshold.json) with its MAP@5 curve, so predict and identify place new_individual the same way
// evaluate measured. It is only valid for the scores it was chosen on: the same gallery (weights,
// data folder, photos and their contents, mirrors), the same validation photos and the same blend
// weight. A run folder that cannot be written keeps it in its
// fallback folder under FINPRINT_CACHE (run_cache.ts) instead.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import type { Calibration } from '../eval/threshold.js';
import { runCacheCandidates, writeRunCache } from './run_cache.js';
import { RUN_FILES } from './run_folder.js';

export interface ScoreSettings {
  /** Fingerprint of the gallery the scores came from. */
  gallery: string;
  /** Fingerprint of the validation photos it was calibrated on (run_data.ts validationFingerprint). */
  validation: string;
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
 * target share), from the run folder or its fallback folder, whichever matches; undefined if there
 * is none or it no longer applies. A file that cannot be read or parsed is one that does not apply.
 */
export function readStoredThreshold(runDir: string, settings: ScoreSettings, newShare?: number): StoredThreshold | undefined {
  for (const file of runCacheCandidates(runDir, RUN_FILES.threshold)) {
    if (!existsSync(file)) continue;
    let stored: StoredThreshold;
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as StoredThreshold;
    } catch {
      continue;
    }
    if (stored?.settings?.gallery !== settings.gallery || stored.settings.validation !== settings.validation || stored.settings.blend !== settings.blend) continue;
    if (newShare !== undefined && (stored.method?.kind !== 'new-share' || stored.method.target !== newShare)) continue;
    return stored;
  }
  return undefined;
}

/** Stores the threshold in the run folder, or in its fallback folder when the run folder cannot be written; returns the file. */
export async function writeStoredThreshold(runDir: string, stored: StoredThreshold): Promise<string> {
  return writeRunCache(runDir, RUN_FILES.threshold, 'threshold', (file) => writeFileAtomic(file, `${JSON.stringify(stored, null, 2)}\n`));
}
