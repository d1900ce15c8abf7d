// Open-set identification metrics as the re-identification field reports them (wildlife-datasets,
// WildlifeReID-10k): a query either shows an individual the gallery has ("known") or one it lacks
// ("unknown", whose right answer is new_individual). MAP@5 mixes the two halves; these keep them
// apart. Each is a small pure function of plain arrays; openSetMetrics computes them all for one
// set of queries. A metric that has nothing to measure (no known or no unknown queries) is null,
// never a made-up 0 or 1.
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { checkInteger, checkNumber } from '../util/check.js';
import { map5 } from './map5.js';
import { predictWithThreshold, type Candidate } from './threshold.js';

function checkPaired(where: string, a: readonly unknown[], b: readonly unknown[], what: string): void {
  if (a.length !== b.length) throw new RangeError(`${where}: ${a.length} queries but ${b.length} ${what}`);
}

/**
 * Share of known queries whose individual is among the first k individuals of its ranking; the
 * ranking is the gallery's alone, so new_individual entries (as in a Kaggle answer) are skipped.
 */
export function knownTopK(individuals: readonly string[], known: readonly boolean[], rankings: readonly (readonly string[])[], k: number): number | null {
  checkPaired('knownTopK', individuals, known, 'known flags');
  checkPaired('knownTopK', individuals, rankings, 'rankings');
  checkInteger('k', k, 1);
  let n = 0;
  let hits = 0;
  individuals.forEach((id, i) => {
    if (!known[i]) return;
    n++;
    if (rankings[i]!.filter((r) => r !== NEW_INDIVIDUAL).slice(0, k).includes(id)) hits++;
  });
  return n ? hits / n : null;
}

/**
 * Average precision of one query over the whole gallery ranked by similarity: `scores[j]` is its
 * similarity to gallery photo j, `ids[j]` that photo's individual; relevant photos are those of
 * `individual`. Tied scores enter the ranking together, as scikit-learn's
 * average_precision_score treats them, so the result does not depend on gallery order:
 * AP = sum over distinct scores s of relevant photos of (relevant at s / relevant) x
 * (relevant at >= s / photos at >= s). Null when the gallery has no photo of the individual.
 */
export function averagePrecision(scores: ArrayLike<number>, ids: readonly string[], individual: string): number | null {
  if (scores.length !== ids.length) throw new RangeError(`averagePrecision: ${scores.length} scores for ${ids.length} gallery photos`);
  // Relevant scores, highest first: O(photos x distinct relevant scores), with no sort of the gallery.
  const relevant: number[] = [];
  for (let j = 0; j < ids.length; j++) if (ids[j] === individual) relevant.push(scores[j]!);
  if (relevant.length === 0) return null;
  relevant.sort((a, b) => b - a);
  let ap = 0;
  for (let r = 0; r < relevant.length; ) {
    const s = relevant[r]!;
    let end = r;
    while (end < relevant.length && relevant[end] === s) end++;
    let atOrAbove = 0;
    for (let j = 0; j < scores.length; j++) if (scores[j]! >= s) atOrAbove++;
    ap += ((end - r) / relevant.length) * (end / atOrAbove);
    r = end;
  }
  return ap;
}

/** Mean of the per-query average precisions, leaving out queries without any (no gallery match); null if none is left. */
export function meanAveragePrecision(precisions: readonly (number | null)[]): number | null {
  const kept = precisions.filter((p): p is number => p !== null);
  return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : null;
}

/** Mean over groups (in first-seen order) of the share of each group's members that `hit`. */
function balanced(groups: readonly string[], members: readonly number[], hit: (i: number) => boolean): number | null {
  const by = new Map<string, { n: number; hits: number }>();
  for (const i of members) {
    const g = by.get(groups[i]!) ?? { n: 0, hits: 0 };
    g.n++;
    if (hit(i)) g.hits++;
    by.set(groups[i]!, g);
  }
  if (by.size === 0) return null;
  let sum = 0;
  for (const g of by.values()) sum += g.hits / g.n;
  return sum / by.size;
}

function indicesWhere(flags: readonly boolean[], value: boolean): number[] {
  return flags.flatMap((f, i) => (f === value ? [i] : []));
}

/**
 * BAKS, balanced accuracy on known samples (wildlife-datasets' definition): over the known
 * queries, the mean over their individuals of the share whose first answer is that individual.
 * The answer has the threshold applied, so new_individual for a known animal is wrong; every
 * individual weighs the same however many photos it has.
 */
export function baks(individuals: readonly string[], known: readonly boolean[], answers: readonly string[]): number | null {
  checkPaired('baks', individuals, known, 'known flags');
  checkPaired('baks', individuals, answers, 'answers');
  return balanced(individuals, indicesWhere(known, true), (i) => answers[i] === individuals[i]);
}

/**
 * BAUS, balanced accuracy on unknown samples (wildlife-datasets' definition): over the unknown
 * queries, the mean over their individuals of the share answered new_individual. Where the
 * labels do not say who a new animal is (Kaggle's test truth is new_individual for all of them),
 * those queries form one group, and BAUS is their plain accuracy.
 */
export function baus(individuals: readonly string[], known: readonly boolean[], answers: readonly string[]): number | null {
  checkPaired('baus', individuals, known, 'known flags');
  checkPaired('baus', individuals, answers, 'answers');
  return balanced(individuals, indicesWhere(known, false), (i) => answers[i] === NEW_INDIVIDUAL);
}

/**
 * Area under the ROC curve of telling known from unknown queries by their best gallery
 * similarity (higher: known): the probability that a random known query scores above a random
 * unknown one, ties counted half (the Mann-Whitney U statistic over both counts). Null unless
 * there are queries of both kinds. -Infinity is allowed (a query with no candidates at all).
 */
export function knownNewAuc(best: readonly number[], known: readonly boolean[]): number | null {
  checkPaired('knownNewAuc', best, known, 'known flags');
  best.forEach((s, i) => {
    if (Number.isNaN(s)) throw new RangeError(`knownNewAuc: best score of query ${i} is NaN`);
  });
  const nKnown = known.filter(Boolean).length;
  const nNew = known.length - nKnown;
  if (nKnown === 0 || nNew === 0) return null;
  // Mid-ranks (ties share the mean of their ranks), then U of the known queries.
  const order = best.map((_, i) => i).sort((a, b) => best[a]! - best[b]! || 0);
  let rankSum = 0;
  for (let r = 0; r < order.length; ) {
    let end = r;
    while (end < order.length && best[order[end]!] === best[order[r]!]) end++;
    const mid = (r + 1 + end) / 2;
    for (let t = r; t < end; t++) if (known[order[t]!]) rankSum += mid;
    r = end;
  }
  return (rankSum - (nKnown * (nKnown + 1)) / 2) / (nKnown * nNew);
}

/** One query, as openSetMetrics reads it. */
export interface OpenSetQuery {
  /** Its true individual (new_individual where the labels hide who a new animal is). */
  individual: string;
  /** Whether the searched gallery has photos of that individual. */
  known: boolean;
  /** Gallery individuals, best first (no new_individual), with their scores. */
  candidates: readonly Pick<Candidate, 'id' | 'score'>[];
  /** Average precision over the gallery photos (averagePrecision), when the scores rank photos; null: no photo of it. */
  averagePrecision?: number | null;
}

export interface OpenSetMetrics {
  queries: number;
  known_queries: number;
  unknown_queries: number;
  /** The threshold that placed new_individual for BAKS, BAUS and MAP@5. */
  threshold: number;
  /** Kaggle's MAP@5 of these scores alone: the truth is the individual when known, else new_individual. */
  map5: number;
  top1_known: number | null;
  top5_known: number | null;
  /** Null where the scores rank individuals, not photos (blended), or no query has a gallery match. */
  map: number | null;
  baks: number | null;
  baus: number | null;
  auc: number | null;
}

/** All of the above for one set of queries scored one way, new_individual placed by `threshold`. */
export function openSetMetrics(queries: readonly OpenSetQuery[], threshold: number): OpenSetMetrics {
  checkNumber('threshold', threshold);
  const individuals = queries.map((q) => q.individual);
  const known = queries.map((q) => q.known);
  const rankings = queries.map((q) => q.candidates.map((c) => c.id));
  // The first answer as a submission gives it: new_individual when the best score is below the threshold.
  const predictions = queries.map((q) => predictWithThreshold(q.candidates.map((c) => ({ ...c, galleryIndex: -1 })), threshold));
  const answers = predictions.map((p) => p[0]!);
  const ranksPhotos = queries.some((q) => q.averagePrecision !== undefined);
  return {
    queries: queries.length,
    known_queries: known.filter(Boolean).length,
    unknown_queries: known.filter((k) => !k).length,
    threshold,
    map5: map5(queries.map((q) => (q.known ? q.individual : NEW_INDIVIDUAL)), predictions),
    top1_known: knownTopK(individuals, known, rankings, 1),
    top5_known: knownTopK(individuals, known, rankings, 5),
    map: ranksPhotos ? meanAveragePrecision(queries.map((q) => q.averagePrecision ?? null)) : null,
    baks: baks(individuals, known, answers),
    baus: baus(individuals, known, answers),
    auc: knownNewAuc(queries.map((q) => q.candidates[0]?.score ?? -Infinity), known),
  };
}
