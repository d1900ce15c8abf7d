// `finprint predict`: every photo in test_images/ matched against the run's gallery, five ids each
// with new_individual placed by the run's threshold, written as a checked Kaggle submission. A photo
// that cannot be read (zero bytes, not a photo) is still listed: answered new_individual alone, and
// reported on stderr.
import { NEW_INDIVIDUAL } from '../data/happywhale.js';
import { Identifier, type IdentifierOptions } from './identifier.js';
import { writeSubmission } from '../identify/submission.js';

export interface PredictResult {
  images: number;
  /** Photos whose first prediction is new_individual. */
  newFirst: number;
  threshold: number;
}

export async function predictSubmission(runDir: string, out: string, options: IdentifierOptions & { newShare?: number } = {}): Promise<PredictResult> {
  const ident = await Identifier.open(runDir, options);
  const test = ident.data.test;
  if (test.length === 0) throw new Error(`${ident.data.dir}/test_images/ holds no photos to predict`);
  const { threshold } = await ident.threshold({ newShare: options.newShare });
  const predictions = Identifier.predictions(await ident.match(test, 'test'), threshold);
  const images = test.map((t) => t.image);
  await writeSubmission(out, test.map((t, i) => ({ image: t.image, predictions: predictions[i]! })), images, `${ident.data.dir}/test_images/`);
  return { images: images.length, newFirst: predictions.filter((p) => p[0] === NEW_INDIVIDUAL).length, threshold };
}
