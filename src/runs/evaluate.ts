// `finprint evaluate`: a run's identification and species metrics on a labelled split. On the
// validation split the new_individual threshold is calibrated (and stored) first, so its MAP@5 is
// the tuned, optimistic figure; on the test split (test_solution.csv) the stored threshold is used
// as is, which is the honest estimate of a submission's score.
import { existsSync } from 'node:fs';
import { countBy, pcc } from '../data/chance.js';
import { join } from 'node:path';
import { fitCalibration, labelledPairs, reliability } from '../eval/calibration.js';
import { confusionMatrix, identificationMetrics } from '../eval/metrics.js';
import type { Evaluation, EvaluationSummary, Split } from '../eval/summary.js';
import { Identifier, type IdentifierOptions, type Matched, type Photo, type ThresholdOptions } from './identifier.js';
import { readSolution } from '../identify/submission.js';
import type { StoredThreshold } from './stored_threshold.js';


export interface EvaluateOptions extends IdentifierOptions, Pick<ThresholdOptions, 'newShare'> {
  split?: Split;
}

interface LabelledPhotos {
  photos: Photo[];
  truths: string[];
  species?: string[];
}

async function testSplit(ident: Identifier): Promise<LabelledPhotos> {
  const file = join(ident.data.dir, 'test_solution.csv');
  if (!existsSync(file)) {
    throw new Error(`--split test needs the answers in ${file} (image,individual_id), which ${ident.data.dir} lacks; Kaggle's test set has none: write a submission with finprint predict instead`);
  }
  const solution = await readSolution(file);
  // Every photo of test_images/, unreadable ones included: they are answered new_individual, as predict does.
  const photos = new Map(ident.data.test.map((t) => [t.image, t]));
  const missing = solution.images.filter((i) => !photos.has(i));
  if (missing.length) throw new Error(`${file} lists ${missing.length} photo(s) not in ${ident.data.dir}/test_images/: ${missing.slice(0, 5).join(', ')}`);
  return {
    photos: solution.images.map((image) => photos.get(image)!),
    truths: solution.images.map((i) => solution.truths.get(i)!),
    ...(solution.species ? { species: solution.images.map((i) => solution.species!.get(i)!) } : {}),
  };
}

const recall = (r: { images: number; top1: number }): number | null => (r.images ? r.top1 : null);

export async function evaluateRun(runDir: string, options: EvaluateOptions = {}): Promise<Evaluation<StoredThreshold>> {
  const split = options.split ?? 'val';
  const ident = await Identifier.open(runDir, options);
  let calibration: StoredThreshold;
  let labelled: LabelledPhotos;
  let matched: Matched;
  if (split === 'val') {
    calibration = await ident.threshold({ newShare: options.newShare, recalibrate: true });
    const val = await ident.validation();
    matched = val;
    labelled = { photos: val.photos, truths: val.truths, species: ident.data.validation.map((r) => r.species) };
  } else {
    calibration = await ident.threshold({ newShare: options.newShare });
    labelled = await testSplit(ident);
    matched = await ident.match(labelled.photos, 'test');
  }
  const val = await ident.validation();
  const fitted = labelledPairs(val.candidates, val.truths);
  const reliable = fitted.length ? reliability(fitCalibration(fitted), labelledPairs(matched.candidates, labelled.truths)) : undefined;
  const predictions = Identifier.predictions(matched, calibration.threshold);
  const metrics = identificationMetrics(labelled.truths, predictions, labelled.species ?? labelled.truths.map(() => 'all'));
  const confusion = labelled.species ? confusionMatrix(labelled.species, ident.predictedSpecies(matched), ident.species) : undefined;
  const searched = split === 'val' ? ident.gallery : await ident.searched();
  const chance = pcc(countBy(labelled.truths, (t) => t).values());
  const summary: EvaluationSummary = {
    run: ident.run.dir,
    split,
    task: ident.run.info.task,
    images: metrics.images,
    map5: metrics.map5,
    top1: metrics.top1,
    top5: metrics.top5,
    species_accuracy: confusion ? confusion.accuracy : null,
    threshold: calibration.threshold,
    threshold_method: calibration.method.kind === 'map5' ? 'best MAP@5 on validation' : `new_individual share ${calibration.method.target} on validation`,
    known_recall: recall(metrics.known),
    new_recall: recall(metrics.new),
    known_images: metrics.known.images,
    new_images: metrics.new.images,
    per_species_map5: Object.fromEntries(metrics.perSpecies.map((g) => [g.group, g.map5])),
    pcc: chance,
    pcc125: 1.25 * chance,
    blend: options.blend ?? 0,
    gallery: { photos: searched.mirrors ? searched.ids.length / 2 : searched.ids.length, rows: searched.ids.length, mirrors: searched.mirrors, cached: ident.gallery.cached, with_validation: searched !== ident.gallery },
  };
  return { summary, metrics, ...(confusion ? { confusion } : {}), calibration, ...(reliable ? { reliability: reliable } : {}) };
}
