import { invalidParameterError } from '../util/check.js';

/**
 * Proportional chance criterion: the sum of squared class shares, i.e. the accuracy of guessing
 * each class at its base rate. A model is commonly held to beat chance when it exceeds 1.25 x PCC.
 */
export function pcc(counts: Iterable<number>): number {
  let total = 0;
  let squares = 0;
  let i = 0;
  for (const n of counts) {
    if (!(n >= 0)) throw invalidParameterError(`pcc counts[${i}]`, 'a non-negative class count', n);
    i++;
    total += n;
    squares += n * n;
  }
  return total === 0 ? 0 : squares / (total * total);
}

/** Occurrences of each key, in first-seen order. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}
