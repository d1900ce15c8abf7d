// MAP@5 exactly as the Happywhale competition scores it (Kaggle's MAP@K with one truth per
// image): an image scores 1/rank of the first correct prediction among its first five entries,
// else 0. Entries after the fifth are ignored; a repeated label still occupies its positions, and
// only its first occurrence can score; `new_individual` is a label like any other.
export const MAP_K = 5;

/** Score of one image: 1/rank of the first correct prediction within the first five. */
export function averagePrecisionAt5(truth: string, predictions: readonly string[]): number {
  const rank = predictions.slice(0, MAP_K).indexOf(truth);
  return rank < 0 ? 0 : 1 / (rank + 1);
}

/** Mean over images of averagePrecisionAt5. */
export function map5(truths: readonly string[], predictions: readonly (readonly string[])[]): number {
  if (truths.length !== predictions.length) throw new RangeError(`map5: ${truths.length} truths but ${predictions.length} prediction lists`);
  if (truths.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < truths.length; i++) sum += averagePrecisionAt5(truths[i]!, predictions[i]!);
  return sum / truths.length;
}
