import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, pairedRatio } from '../../src/bench/pytorch_side.js';

test('pairedRatio: the median of each round against the PyTorch round beside it', () => {
  // Each round's ratio is 1, 2 and 0.75: the median is 1, where the ratio of the medians says 2.
  assert.equal(pairedRatio([10, 20, 30], [10, 10, 40]), 1);
  assert.equal(median([10, 20, 30]) / median([10, 10, 40]), 2, 'where the ratio of medians is 2');
  assert.equal(pairedRatio([12, 8], [10, 10]), 1); // 1.2 and 0.8: an even count averages the middle two
  assert.throws(() => pairedRatio([1, 2], [1]), /as many PyTorch rounds as finprint rounds.*got 2 and 1/);
  assert.throws(() => pairedRatio([], []), /at least one/);
});
