// new_individual: a query whose best match is weaker than a threshold is probably an animal
// the gallery has never seen. The label goes in at the rank where similarity drops below the
// threshold, as the competition's winning entries did.
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { map5 } from './map5.js';
import { checkInteger, checkNumber } from '../util/check.js';

/** One ranked answer for a query: an individual and its score (e.g. a gallery search's best similarity). */
export interface Candidate {
  /** Individual id. */
  id: string;
  /** Best cosine similarity of any of its gallery photos. */
  score: number;
  /** Row of that best photo in the gallery. */
  galleryIndex: number;
}

/** Five predictions for one query: candidates in order, new_individual where scores fall below threshold. */
export function predictWithThreshold(candidates: readonly Candidate[], threshold: number, k = 5): string[] {
  checkNumber('threshold', threshold);
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
  // A loop, not Math.min(...top): spreading tens of thousands of arguments can overflow the stack.
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of all) {
    const s = c[0]?.score ?? 0;
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  lo -= 1e-6;
  hi += 1e-6;
  return Array.from({ length: steps + 1 }, (_, i) => lo + ((hi - lo) * i) / steps);
}

/**
 * The middle of the widest run of grid points that share the best MAP@5: any threshold in the
 * plateau scores the same here, and its middle is the one least likely to sit on the edge of a
 * cliff on unseen photos.
 */
function middleOfBestPlateau(curve: readonly ThresholdPoint[]): ThresholdPoint {
  const best = curve.reduce((m, p) => Math.max(m, p.map5), -Infinity);
  const onTop = (p: ThresholdPoint): boolean => p.map5 >= best - 1e-12;
  let run = { start: 0, length: 0 };
  for (let i = 0; i < curve.length; ) {
    if (!onTop(curve[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < curve.length && onTop(curve[j]!)) j++;
    if (j - i > run.length) run = { start: i, length: j - i };
    i = j;
  }
  return curve[run.start + Math.floor((run.length - 1) / 2)]!;
}

/**
 * Chooses the threshold on labelled queries (truth = an id or new_individual): by maximum
 * MAP@5, or (targetNewShare) the one whose share of new_individual top-1 answers is closest to a
 * target, e.g. the share of new individuals expected in the test set.
 */
export function calibrateThreshold(candidates: readonly (readonly Candidate[])[], truths: readonly string[], options: { steps?: number; targetNewShare?: number } = {}): Calibration {
  if (candidates.length !== truths.length) throw new RangeError(`calibrateThreshold: ${candidates.length} queries but ${truths.length} truths`);
  if (candidates.length === 0) throw new RangeError('calibrateThreshold: no labelled queries to calibrate on');
  const curve = thresholdGrid(candidates, checkInteger('steps', options.steps ?? 100, 1)).map((threshold) => {
    const preds = candidates.map((c) => predictWithThreshold(c, threshold));
    return { threshold, map5: map5(truths, preds), newShare: preds.filter((p) => p[0] === NEW_INDIVIDUAL).length / preds.length };
  });
  const target = options.targetNewShare;
  if (target !== undefined) checkNumber('targetNewShare', target, 0, 1);
  const best = target === undefined
    ? middleOfBestPlateau(curve)
    : curve.reduce((a, b) => (Math.abs(b.newShare - target) < Math.abs(a.newShare - target) ? b : a));
  return { threshold: best.threshold, map5: best.map5, curve };
}
