import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEW_INDIVIDUAL } from '../../src/data/happywhale.js';
import { averagePrecisionAt5, map5 } from '../../src/eval/map5.js';
import { confusionMatrix, identificationMetrics, knownNewRecall, map5ByGroup, topKAccuracy } from '../../src/eval/metrics.js';

const N = NEW_INDIVIDUAL;

describe('MAP@5 (competition semantics)', () => {
  it('scores 1/rank of the first correct prediction: 1, 1/2, ..., 1/5 at rank 5, 0 at rank 6', () => {
    const preds = ['a', 'b', 'c', 'd', 'e', 'f'];
    assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((t) => averagePrecisionAt5(t, preds)), [1, 0.5, 1 / 3, 0.25, 0.2, 0]);
  });

  it('gives 0 for empty predictions and for a truth not predicted', () => {
    assert.equal(averagePrecisionAt5('a', []), 0);
    assert.equal(map5(['a', 'b'], [[], ['x', 'y']]), 0);
  });

  it('counts a repeated label as occupying its positions, and only its first occurrence scores', () => {
    // 'x' fills ranks 1-4, so the truth 'a' sits at rank 5.
    assert.equal(averagePrecisionAt5('a', ['x', 'x', 'x', 'x', 'a']), 0.2);
    // A repeated correct label scores once (1), not 1 + 1/2.
    assert.equal(averagePrecisionAt5('a', ['a', 'a', 'b']), 1);
    // Pushed to rank 6 by duplicates: out of reach.
    assert.equal(averagePrecisionAt5('a', ['x', 'x', 'y', 'y', 'z', 'a']), 0);
  });

  it('treats new_individual as a label like any other: all-new truths', () => {
    const truths = [N, N, N, N];
    const preds = [[N, 'a'], ['a', N], ['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c', 'd', N]];
    assert.equal(map5(truths, preds), (1 + 0.5 + 0 + 0.2) / 4);
  });

  it('averages over images, is 0 for none, and rejects unpaired lists', () => {
    assert.equal(map5(['a', 'b'], [['a'], ['x', 'b']]), 0.75);
    assert.equal(map5([], []), 0);
    assert.throws(() => map5(['a'], []), /1 truths but 0 prediction lists/);
  });
});

describe('metrics', () => {
  const truths = ['a', 'b', N, 'c', N];
  const preds = [
    ['a', 'x'],
    ['x', 'b'],
    [N, 'a'],
    ['x', 'y', 'z', 'w', 'v', 'c'],
    ['a', 'b', N],
  ];

  it('top-k accuracy looks at the first k entries only', () => {
    assert.equal(topKAccuracy(truths, preds, 1), 2 / 5);
    assert.equal(topKAccuracy(truths, preds, 5), 4 / 5);
    assert.equal(topKAccuracy([], [], 1), 0);
    assert.throws(() => topKAccuracy(truths, preds, 0), /Expected positive integer for k but received 0 of type number/);
  });

  it('MAP@5 by group: each group scored on its own images, in name order', () => {
    const groups = ['whale', 'dolphin', 'whale', 'dolphin', 'whale'];
    assert.deepEqual(map5ByGroup(truths, preds, groups), [
      { group: 'dolphin', images: 2, map5: (0.5 + 0) / 2 },
      { group: 'whale', images: 3, map5: (1 + 1 + 1 / 3) / 3 },
    ]);
  });

  it('known vs new recall: the right id for known photos, new_individual for new ones', () => {
    const r = knownNewRecall(truths, preds);
    assert.deepEqual(r.known, { images: 3, top1: 1 / 3, top5: 2 / 3 });
    assert.deepEqual(r.new, { images: 2, top1: 1 / 2, top5: 1 });
    assert.deepEqual(knownNewRecall([], []).new, { images: 0, top1: 0, top5: 0 });
  });

  it('identificationMetrics gathers them', () => {
    const m = identificationMetrics(truths, preds, truths.map(() => 'all'));
    assert.equal(m.images, 5);
    assert.equal(m.map5, map5(truths, preds));
    assert.equal(m.top1, 0.4);
    assert.deepEqual(m.perSpecies, [{ group: 'all', images: 5, map5: m.map5 }]);
  });

  it('confusion matrix: rows truth, columns predicted, unknown labels appended', () => {
    const c = confusionMatrix(['beluga', 'beluga', 'orca', 'minke'], ['beluga', 'orca', 'orca', 'beluga'], ['orca', 'beluga']);
    assert.deepEqual(c.labels, ['orca', 'beluga', 'minke']);
    assert.deepEqual(c.matrix, [
      [1, 0, 0],
      [1, 1, 0],
      [0, 1, 0],
    ]);
    assert.equal(c.accuracy, 0.5);
    assert.throws(() => confusionMatrix(['a'], []), /1 truths but 0 predictions/);
  });
});
