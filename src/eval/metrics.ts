// Scores of identification and species predictions beyond MAP@5 itself: where the right answer
// lands (top-1/top-5), how MAP@5 differs between species, whether known animals are recognised and
// new ones flagged, and the species confusion matrix. All take plain strings, so they score a
// submission file as readily as a model's output.
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { averagePrecisionAt5, MAP_K, map5 } from './map5.js';
import { checkInteger } from '../util/check.js';

function checkPaired(where: string, truths: readonly unknown[], predictions: readonly unknown[]): void {
  if (truths.length !== predictions.length) throw new RangeError(`${where}: ${truths.length} truths but ${predictions.length} predictions`);
}

/** Share of images whose truth is among their first k predictions (0 for no images). */
export function topKAccuracy(truths: readonly string[], predictions: readonly (readonly string[])[], k: number): number {
  checkPaired('topKAccuracy', truths, predictions);
  checkInteger('k', k, 1);
  if (truths.length === 0) return 0;
  let hits = 0;
  truths.forEach((t, i) => {
    if (predictions[i]!.slice(0, k).includes(t)) hits++;
  });
  return hits / truths.length;
}

export interface GroupScore {
  group: string;
  images: number;
  map5: number;
}

/** MAP@5 within each group (e.g. the true species), groups in name order. */
export function map5ByGroup(truths: readonly string[], predictions: readonly (readonly string[])[], groups: readonly string[]): GroupScore[] {
  checkPaired('map5ByGroup', truths, predictions);
  checkPaired('map5ByGroup (groups)', truths, groups);
  const sums = new Map<string, { images: number; sum: number }>();
  truths.forEach((t, i) => {
    const g = sums.get(groups[i]!) ?? { images: 0, sum: 0 };
    g.images++;
    g.sum += averagePrecisionAt5(t, predictions[i]!);
    sums.set(groups[i]!, g);
  });
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, s]) => ({ group, images: s.images, map5: s.sum / s.images }));
}

export interface RecallShare {
  /** Photos in this half. */
  images: number;
  /** Share whose first prediction is the truth. */
  top1: number;
  /** Share with the truth among the first five. */
  top5: number;
}

/**
 * The two halves of the job, scored apart: photos of known individuals (is the right id found?)
 * and photos of new ones (is new_individual predicted?). A threshold trades one against the other.
 */
export function knownNewRecall(truths: readonly string[], predictions: readonly (readonly string[])[]): { known: RecallShare; new: RecallShare } {
  checkPaired('knownNewRecall', truths, predictions);
  const half = (isNew: boolean): RecallShare => {
    const idx = truths.map((t, i) => ((t === NEW_INDIVIDUAL) === isNew ? i : -1)).filter((i) => i >= 0);
    const t = idx.map((i) => truths[i]!);
    const p = idx.map((i) => predictions[i]!);
    return { images: idx.length, top1: topKAccuracy(t, p, 1), top5: topKAccuracy(t, p, MAP_K) };
  };
  return { known: half(false), new: half(true) };
}

export interface Confusion {
  /** Class names, the order of the matrix's rows and columns. */
  labels: string[];
  /** matrix[truth][predicted] photo counts. */
  matrix: number[][];
  accuracy: number;
}

/**
 * Confusion matrix of single-label predictions. `labels` fixes the order (e.g. the model's
 * species); labels met in truths or predictions but not listed are appended in name order, so
 * a species the model never saw still shows up as a row.
 */
export function confusionMatrix(truths: readonly string[], predicted: readonly string[], labels: readonly string[] = []): Confusion {
  checkPaired('confusionMatrix', truths, predicted);
  const extra = [...new Set([...truths, ...predicted])].filter((l) => !labels.includes(l)).sort();
  const all = [...labels, ...extra];
  const index = new Map(all.map((l, i) => [l, i]));
  const matrix = all.map(() => new Array<number>(all.length).fill(0));
  let correct = 0;
  truths.forEach((t, i) => {
    matrix[index.get(t)!]![index.get(predicted[i]!)!]! += 1;
    if (t === predicted[i]) correct++;
  });
  return { labels: all, matrix, accuracy: truths.length ? correct / truths.length : 0 };
}

export interface IdentificationMetrics {
  images: number;
  map5: number;
  top1: number;
  top5: number;
  known: RecallShare;
  new: RecallShare;
  /** MAP@5 by true species. */
  perSpecies: GroupScore[];
}

/** Everything above for one labelled set: truth ids, five predictions each, and each photo's true species. */
export function identificationMetrics(truths: readonly string[], predictions: readonly (readonly string[])[], species: readonly string[]): IdentificationMetrics {
  return {
    images: truths.length,
    map5: map5(truths, predictions),
    top1: topKAccuracy(truths, predictions, 1),
    top5: topKAccuracy(truths, predictions, MAP_K),
    ...knownNewRecall(truths, predictions),
    perSpecies: map5ByGroup(truths, predictions, species),
  };
}
