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
  /**
   * Share of validation photos that show individuals held out of training entirely (truth
   * new_individual): the share of new individuals the test set is expected to have, so the
   * new_individual threshold is calibrated on a validation split that looks like it.
   */
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
 * Split for the individual task. Every individual with at least two photos is on both sides
 * (round(k * valFraction) photos in validation, clamped to 1..k-1); singletons train. Then whole
 * individuals, in seeded random order, move to validation as new_individual until their photos
 * are the newFraction share of it (as close as whole individuals allow).
 */
export function individualSplit<T extends { individualId: string }>(rows: readonly T[], options: IndividualSplitOptions): IndividualSplit<T> {
  const frac = checkNumber('valFraction', options.valFraction, 0, 0.999);
  const newFraction = checkNumber('newFraction', options.newFraction, 0, 1);
  const rng = new Rng(checkInteger('seed', options.seed));
  const groups = groupBy(rows, (r) => r.individualId).map(([id, members]) => {
    rng.shuffle(members);
    const nVal = members.length < 2 ? 0 : Math.min(members.length - 1, Math.max(1, Math.round(members.length * frac)));
    return { id, members, nVal, heldOut: false };
  });
  let known = groups.reduce((n, g) => n + g.nVal, 0);
  let unseen = 0;
  const share = (k: number, u: number): number => (k + u === 0 ? 0 : u / (k + u));
  for (const g of rng.shuffle([...groups])) {
    if (share(known, unseen) >= newFraction) break;
    const next = share(known - g.nVal, unseen + g.members.length);
    // Stop short when this individual would overshoot by more than stopping undershoots.
    if (next > newFraction && next - newFraction > newFraction - share(known, unseen)) break;
    g.heldOut = true;
    known -= g.nVal;
    unseen += g.members.length;
  }
  const train: number[] = [];
  const val: number[] = [];
  const heldRows = new Set<number>();
  for (const g of groups) {
    if (g.heldOut) g.members.forEach((i) => heldRows.add(i));
    const nVal = g.heldOut ? g.members.length : g.nVal;
    val.push(...g.members.slice(0, nVal));
    train.push(...g.members.slice(nVal));
  }
  const heldOut = groups.filter((g) => g.heldOut).map((g) => g.id);
  const valRows = [...val].sort((a, b) => a - b).map((i) => ({ ...rows[i]!, truth: heldRows.has(i) ? NEW_INDIVIDUAL : rows[i]!.individualId }));
  return { train: pick(rows, train), val: valRows, heldOut };
}
