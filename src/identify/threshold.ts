// new_individual: a query whose best match is weaker than a threshold is probably an animal
// the gallery has never seen. The label goes in at the rank where similarity drops below the
// threshold, as the competition's winning entries did.
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { map5 } from '../eval/map5.js';
import type { Candidate } from './search.js';

/** Five predictions for one query: candidates in order, new_individual where scores fall below threshold. */
export function predictWithThreshold(candidates: readonly Candidate[], threshold: number, k = 5): string[] {
  const out: string[] = [];
  let inserted = false;
  for (const c of candidates.slice(0, k)) {
    if (!inserted && c.score < threshold) {
      out.push(NEW_INDIVIDUAL);
      inserted = true;
    }
    out.push(c.id);
  }
  if (!inserted) out.push(NEW_INDIVIDUAL);
  return out.slice(0, k);
}

export interface ThresholdPoint {
  threshold: number;
  map5: number;
  /** Share of queries whose first prediction is new_individual. */
  newShare: number;
}

export interface Calibration {
  threshold: number;
  map5: number;
  curve: ThresholdPoint[];
}

/** Candidate thresholds: a grid over the observed top-1 similarity range, plus its ends. */
function thresholdGrid(all: readonly (readonly Candidate[])[], steps: number): number[] {
  const top = all.map((c) => c[0]?.score ?? 0);
  const lo = Math.min(...top) - 1e-6;
  const hi = Math.max(...top) + 1e-6;
  return Array.from({ length: steps + 1 }, (_, i) => lo + ((hi - lo) * i) / steps);
}

/**
 * Chooses the threshold on labelled queries (truth = an id or new_individual): by maximum
 * MAP@5, or (targetNewShare) the one whose share of new_individual top-1 answers is closest to a
 * target, e.g. the share of new individuals expected in the test set.
 */
export function calibrateThreshold(candidates: readonly (readonly Candidate[])[], truths: readonly string[], options: { steps?: number; targetNewShare?: number } = {}): Calibration {
  if (candidates.length !== truths.length) throw new RangeError(`calibrateThreshold: ${candidates.length} queries but ${truths.length} truths`);
  if (candidates.length === 0) throw new RangeError('calibrateThreshold: no labelled queries to calibrate on');
  const curve = thresholdGrid(candidates, options.steps ?? 100).map((threshold) => {
    const preds = candidates.map((c) => predictWithThreshold(c, threshold));
    return { threshold, map5: map5(truths, preds), newShare: preds.filter((p) => p[0] === NEW_INDIVIDUAL).length / preds.length };
  });
  const target = options.targetNewShare;
  const best = curve.reduce((a, b) => {
    if (target !== undefined) return Math.abs(b.newShare - target) < Math.abs(a.newShare - target) ? b : a;
    return b.map5 > a.map5 ? b : a;
  });
  return { threshold: best.threshold, map5: best.map5, curve };
}
