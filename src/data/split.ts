import { checkInteger, checkNumber, checkOneOf } from '../util/check.js';
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

/**
 * How an evaluation's labelled photos meet the gallery. open: all of them, against the gallery,
 * new_individual where the gallery lacks the animal (the Kaggle setting). closed: only photos of
 * individuals the gallery has. disjoint: only photos of individuals it lacks, matched against a
 * reference gallery made from those photos themselves (disjointSplit), so the embedding must
 * generalise to animals it never trained on.
 */
export const PROTOCOLS = ['open', 'closed', 'disjoint'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface ProtocolSplit<T> {
  /** The reference gallery (disjoint only; empty otherwise). */
  reference: T[];
  /** The rows to score, in their original order. */
  queries: T[];
  /** Expected answer of each query: its individual, or new_individual where the gallery it meets lacks it. */
  truths: string[];
}

export interface ProtocolOptions<T> {
  protocol: Protocol;
  /** Who each row shows; new_individual where the labels hide it (such rows cannot join a reference gallery). */
  identity: (row: T) => string;
  /** The open protocol's answer for a row (e.g. the solution file's, as Kaggle scores it). */
  truth: (row: T) => string;
  /** Individuals the gallery has. */
  known: ReadonlySet<string>;
  /** Seeds the disjoint reference choice. */
  seed: number;
}

/**
 * The rows a protocol scores, and for disjoint its reference gallery. Disjoint keeps the rows of
 * named individuals the gallery lacks; of each such individual with two or more photos, one
 * (seeded choice) goes to the reference gallery and the rest are queries answered with that
 * individual. An individual with a single photo has nothing to be matched with: its photo is a
 * query whose answer is new_individual, which gives the protocol an open-set half as well. No
 * known individual and no reference photo ever becomes a query.
 */
export function protocolSplit<T>(rows: readonly T[], options: ProtocolOptions<T>): ProtocolSplit<T> {
  const protocol = checkOneOf('protocol', options.protocol, PROTOCOLS);
  const seed = checkInteger('seed', options.seed);
  const { identity, known } = options;
  if (protocol === 'open') return { reference: [], queries: [...rows], truths: rows.map(options.truth) };
  if (protocol === 'closed') {
    const queries = rows.filter((r) => known.has(identity(r)));
    return { reference: [], queries, truths: queries.map(identity) };
  }
  const eligible = rows.filter((r) => identity(r) !== NEW_INDIVIDUAL && !known.has(identity(r)));
  const rng = new Rng(seed);
  const referenceAt = new Set<number>();
  const withReference = new Set<string>();
  // Groups in id order: the draws do not depend on which individual comes first in the rows.
  for (const [id, members] of groupBy(eligible, identity)) {
    if (members.length < 2) continue;
    referenceAt.add(members[rng.int(0, members.length)]!);
    withReference.add(id);
  }
  const queries = eligible.filter((_, i) => !referenceAt.has(i));
  return {
    reference: eligible.filter((_, i) => referenceAt.has(i)),
    queries,
    truths: queries.map((r) => (withReference.has(identity(r)) ? identity(r) : NEW_INDIVIDUAL)),
  };
}
