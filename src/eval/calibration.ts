// Scores people can read: P(same individual | score), fitted by isotonic regression on labelled
// matches (each candidate a query got, labelled by whether it is the query's individual). The
// fit is monotone (a higher score never means a lower probability) and needs no assumed shape;
// between fitted points it interpolates linearly. A reliability diagram shows how well it holds.
import { checkInteger } from '../util/check.js';

/** The fitted map: probabilities at increasing scores (piecewise linear between, flat outside). */
export interface ScoreCalibration {
  scores: number[];
  probabilities: number[];
  /** Labelled pairs it was fitted on, and how many were the same individual. */
  pairs: number;
  positives: number;
}

/** Isotonic regression (pool adjacent violators) of labels on scores. */
export function fitCalibration(points: readonly { score: number; same: boolean }[]): ScoreCalibration {
  if (points.length === 0) throw new RangeError('fitCalibration: no labelled scores to fit on');
  const sorted = [...points].sort((a, b) => a.score - b.score);
  // Blocks of pooled points: mean score, mean label, weight.
  const blocks: { score: number; p: number; w: number }[] = [];
  for (const { score, same } of sorted) {
    blocks.push({ score, p: same ? 1 : 0, w: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.p >= blocks[blocks.length - 1]!.p) {
      const b = blocks.pop()!;
      const a = blocks.pop()!;
      const w = a.w + b.w;
      blocks.push({ score: (a.score * a.w + b.score * b.w) / w, p: (a.p * a.w + b.p * b.w) / w, w });
    }
  }
  return { scores: blocks.map((b) => b.score), probabilities: blocks.map((b) => b.p), pairs: points.length, positives: points.filter((p) => p.same).length };
}

/** The calibrated probability of a score. */
export function calibrated(c: ScoreCalibration, score: number): number {
  const { scores: x, probabilities: y } = c;
  if (score <= x[0]!) return y[0]!;
  if (score >= x[x.length - 1]!) return y[y.length - 1]!;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= score) lo = mid;
    else hi = mid;
  }
  const span = x[hi]! - x[lo]!;
  const t = span > 0 ? (score - x[lo]!) / span : 1;
  return y[lo]! + t * (y[hi]! - y[lo]!);
}

export interface ReliabilityBin {
  /** Mean predicted probability of the bin's pairs. */
  predicted: number;
  /** Share of them that were the same individual. */
  observed: number;
  count: number;
}

/** Pairs binned by predicted probability (equal-width bins), for a reliability diagram. */
export function reliability(c: ScoreCalibration, points: readonly { score: number; same: boolean }[], bins = 10): ReliabilityBin[] {
  checkInteger('bins', bins, 1, 1000);
  const sums = Array.from({ length: bins }, () => ({ predicted: 0, observed: 0, count: 0 }));
  for (const { score, same } of points) {
    const p = calibrated(c, score);
    const b = sums[Math.min(bins - 1, Math.floor(p * bins))]!;
    b.predicted += p;
    b.observed += same ? 1 : 0;
    b.count += 1;
  }
  return sums.filter((b) => b.count > 0).map((b) => ({ predicted: b.predicted / b.count, observed: b.observed / b.count, count: b.count }));
}

/** Labelled pairs from ranked answers: every candidate of every query, same when it is the query's truth. */
export function labelledPairs(candidates: readonly (readonly { id: string; score: number }[])[], truths: readonly string[]): { score: number; same: boolean }[] {
  return candidates.flatMap((list, i) => list.map((c) => ({ score: c.score, same: c.id === truths[i] })));
}
