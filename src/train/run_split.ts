// The seeded split of train.csv's rows that a run trains and validates on, and the labels it gives:
// in one place, so that a zero-shot run folder (runs/zero_shot.ts) calibrates on the very photos a
// training run with the same seed would hold out.
import type { TrainRow } from '../data/happywhale.js';
import { individualSplit, stratifiedSplit } from '../data/split.js';
import type { TrainConfig } from './config.js';
import type { Labels } from './tasks.js';

export interface RunSplit {
  /** The rows used: all, or `limit` of them. */
  rows: TrainRow[];
  train: TrainRow[];
  /** Identification tasks: `truth` is the individual id, or new_individual for the individuals held out of training. */
  val: (TrainRow & { truth?: string })[];
  labels: Labels;
}

/**
 * `limit` rows (stratified by species), then a split by species for the species task, or by
 * individual (some held out whole as new) for the others; species sorted, individuals those of
 * the training side, sorted (none for the species task).
 */
export function splitRun(cfg: Pick<TrainConfig, 'task' | 'limit' | 'valFraction' | 'newFraction' | 'seed'>, all: readonly TrainRow[]): RunSplit {
  let rows = [...all];
  if (cfg.limit > 0 && rows.length > cfg.limit) rows = stratifiedSplit(rows, (r) => r.species, { valFraction: 1 - cfg.limit / rows.length, seed: cfg.seed }).train;
  const { train, val } = cfg.task === 'species'
    ? stratifiedSplit(rows, (r) => r.species, { valFraction: cfg.valFraction, seed: cfg.seed })
    : individualSplit(rows, { valFraction: cfg.valFraction, newFraction: cfg.newFraction, seed: cfg.seed });
  const species = [...new Set(rows.map((r) => r.species))].sort();
  const speciesIndex = new Map(species.map((s, i) => [s, i]));
  const counts = new Map<string, number>();
  const speciesOf = new Map<string, string>();
  for (const r of train) {
    counts.set(r.individualId, (counts.get(r.individualId) ?? 0) + 1);
    speciesOf.set(r.individualId, r.species);
  }
  const individuals = cfg.task === 'species' ? [] : [...counts.keys()].sort();
  const labels: Labels = { species, individuals, individualCounts: individuals.map((id) => counts.get(id)!), individualSpecies: individuals.map((id) => speciesIndex.get(speciesOf.get(id)!)!) };
  return { rows, train, val, labels };
}
