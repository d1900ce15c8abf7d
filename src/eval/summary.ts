// What evaluating a model on a labelled split reports: the headline figures (evaluation.json),
// the metrics behind them, the species confusion and the threshold calibration they used.
import type { Confusion, IdentificationMetrics } from './metrics.js';
import type { ReliabilityBin } from './calibration.js';
import type { Calibration } from './threshold.js';
import type { OpenSetMetrics } from './open_set.js';
import type { Protocol } from '../data/split.js';

export const SPLITS = ['val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export interface EvaluationSummary {
  run: string;
  split: Split;
  /** Which of the split's photos were scored, against which gallery (data/split.ts PROTOCOLS). */
  protocol: Protocol;
  /** Seed of the disjoint protocol's reference photos; null for the others. */
  protocol_seed: number | null;
  task: string;
  images: number;
  map5: number;
  top1: number;
  top5: number;
  /** null when the split has no species truth (a solution file without a species column). */
  species_accuracy: number | null;
  threshold: number;
  threshold_method: string;
  /** Top-1 recall of the right id among photos of known individuals (null: there are none). */
  known_recall: number | null;
  /** Top-1 recall of new_individual among photos of new individuals (null: there are none). */
  new_recall: number | null;
  known_images: number;
  new_images: number;
  per_species_map5: Record<string, number>;
  /** Proportional chance criterion of the split's individual labels (new_individual included), and 1.25 x it: the bar to beat. */
  pcc: number;
  pcc125: number;
  blend: number;
  /**
   * `with_validation`: the run's validation photos were searched too (test split with
   * --with-validation). `reference`: the disjoint protocol's reference photos, not the training split.
   */
  gallery: { photos: number; rows: number; mirrors: boolean; cached: boolean; with_validation: boolean; reference: boolean };
  /**
   * Open-set metrics (eval/open_set.ts) of the same photos. `gallery`: scored by the best cosine
   * similarity to the gallery's photos alone, with a threshold chosen for those scores;
   * `blended`: the run's blended scores and threshold (null unless --blend > 0 on a run that
   * scores with its gallery). Known means the searched gallery has photos of the individual.
   */
  open_set: { gallery: OpenSetMetrics; blended: OpenSetMetrics | null };
}

export interface Evaluation<C extends Calibration = Calibration> {
  summary: EvaluationSummary;
  metrics: IdentificationMetrics;
  /** Species confusion, when the split has species truth. */
  confusion?: Confusion;
  calibration: C;
  /**
   * How well P(same individual | score), fitted on the validation split, holds on the evaluated
   * split: its candidates binned by predicted probability (on the validation split itself this
   * is optimistic). Absent when the run's answers have no scores to calibrate.
   */
  reliability?: ReliabilityBin[];
}
