import { checkInteger, checkNumber } from '../util/check.js';
import { Rng } from '../util/random.js';
import { NEW_INDIVIDUAL } from './happywhale.js';

export interface SplitOptions {
  /** Share of each class's rows that goes to validation, in [0, 1). */
  valFraction: number;
  seed: number;
}

/** Group rows by key, groups in sorted key order so the split does not depend on row order quirks. */
function groupBy<T>(rows: readonly T[], key: (row: T) => string): [string, number[]][] {
  const groups = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const k = key(row);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function pick<T>(rows: readonly T[], indices: number[]): T[] {
  return indices.sort((a, b) => a - b).map((i) => rows[i]!);
}

/**
 * Stratified split (species task): each class contributes round(n * valFraction) rows to
 * validation, always leaving at least one in train, so class shares match on both sides.
 * Rows keep their original order within each side.
 */
export function stratifiedSplit<T>(rows: readonly T[], key: (row: T) => string, options: SplitOptions): { train: T[]; val: T[] } {
  const frac = checkNumber('valFraction', options.valFraction, 0, 0.999);
  const rng = new Rng(checkInteger('seed', options.seed));
  const train: number[] = [];
  const val: number[] = [];
  for (const [, members] of groupBy(rows, key)) {
    rng.shuffle(members);
    const nVal = Math.min(members.length - 1, Math.round(members.length * frac));
    val.push(...members.slice(0, nVal));
    train.push(...members.slice(nVal));
  }
  return { train: pick(rows, train), val: pick(rows, val) };
}

export interface IndividualSplitOptions extends SplitOptions {
  /** Share of individuals held out entirely: their photos are validation rows with truth new_individual. */
  newFraction: number;
}

export interface IndividualSplit<T> {
  train: T[];
  /** Validation rows with the expected answer: the individual id, or new_individual. */
  val: (T & { truth: string })[];
  /** Ids of the individuals kept out of train. */
  heldOut: string[];
}

/**
 * Split for the individual task. A share of individuals is held out (truth new_individual) so a
 * new-individual threshold can be calibrated; every other individual with at least two photos is
 * on both sides (round(k * valFraction) photos in validation, clamped to 1..k-1); singletons train.
 */
export function individualSplit<T extends { individualId: string }>(rows: readonly T[], options: IndividualSplitOptions): IndividualSplit<T> {
  const frac = checkNumber('valFraction', options.valFraction, 0, 0.999);
  const newFraction = checkNumber('newFraction', options.newFraction, 0, 1);
  const rng = new Rng(checkInteger('seed', options.seed));
  const groups = groupBy(rows, (r) => r.individualId);
  const order = rng.shuffle(groups.map((_, i) => i));
  const heldOutGroups = new Set(order.slice(0, Math.round(groups.length * newFraction)));
  const train: number[] = [];
  const val: number[] = [];
  const heldOut: string[] = [];
  const heldRows = new Set<number>();
  groups.forEach(([id, members], g) => {
    if (heldOutGroups.has(g)) {
      heldOut.push(id);
      members.forEach((i) => heldRows.add(i));
      val.push(...members);
      return;
    }
    if (members.length < 2) {
      train.push(...members);
      return;
    }
    rng.shuffle(members);
    const nVal = Math.min(members.length - 1, Math.max(1, Math.round(members.length * frac)));
    val.push(...members.slice(0, nVal));
    train.push(...members.slice(nVal));
  });
  const valRows = [...val].sort((a, b) => a - b).map((i) => ({ ...rows[i]!, truth: heldRows.has(i) ? NEW_INDIVIDUAL : rows[i]!.individualId }));
  return { train: pick(rows, train), val: valRows, heldOut };
}
