// Argument normalisation shared by the layers.
import { invalidParameterError } from '../util/check.js';

/** An integer for both spatial dims, or [h, w]. */
export type Pair = number | [number, number];

export function pair(name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw invalidParameterError(name, `an integer >= ${min} or a pair of them`, v);
  }
  return [p[0], p[1]];
}
