// The batch-hard triplet loss (Hermans et al. 2017) on unit embeddings: a metric loss that trains
// the embedding itself to rank an individual's own photos above everyone else's, the ranking
// gallery search uses. ArcFace alone pulls photos towards class centres; with few photos per
// individual and random initial weights the photos' mutual ranking lags behind.
import { eye, tidy, type Tensor } from '../torch/index.js';
import { checkNumber } from '../util/check.js';

/**
 * For each anchor, its farthest photo of the same label against its nearest photo of another,
 * by cosine distance: mean over anchors with a positive in the batch of
 * relu(d(anchor, hardest positive) - d(anchor, hardest negative) + margin). Zero (with a gradient
 * path) when no anchor has a positive, e.g. a batch of singletons.
 */
export function batchHardTriplet(embedding: Tensor, labels: Tensor, margin = 0.3): Tensor {
  checkNumber('margin', margin, 0);
  return tidy(() => {
    const n = embedding.size(0);
    const distance = embedding.matmul(embedding.transpose(0, 1)).rsub(1);
    const same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
    const positive = same.logicalAnd(eye(n, { dtype: 'bool' }).logicalNot());
    // Distances lie in [0, 2]: -1 and 3 stand outside that range for the masked pairs.
    const hardestPositive = distance.maskedFill(positive.logicalNot(), -1).amax(1);
    const hardestNegative = distance.maskedFill(same, 3).neg().amax(1).neg();
    const valid = positive.sum(1).gt(0).logicalAnd(same.logicalNot().sum(1).gt(0)).float();
    const losses = hardestPositive.sub(hardestNegative).add(margin).relu().mul(valid);
    return losses.sum().div(valid.sum().clamp(1));
  });
}
