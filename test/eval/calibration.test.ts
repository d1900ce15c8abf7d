import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrated, fitCalibration, labelledPairs, reliability } from '../../src/eval/calibration.js';

test('isotonic fit: monotone, pools violators, interpolates between fitted points', () => {
  // scores 0.1..0.6 with labels 0 0 1 0 1 1: the 1 then 0 at 0.3/0.4 pool to 0.5
  const points = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((score, i) => ({ score, same: [false, false, true, false, true, true][i]! }));
  const c = fitCalibration(points);
  assert.deepEqual(c.probabilities, [0, 0.5, 1]);
  assert.deepEqual(c.scores.map((s) => Number(s.toFixed(4))), [0.15, 0.35, 0.55]);
  assert.equal(c.pairs, 6);
  assert.equal(c.positives, 3);
  assert.equal(calibrated(c, 0), 0, 'flat below the first point');
  assert.equal(calibrated(c, 0.9), 1, 'flat above the last');
  assert.ok(Math.abs(calibrated(c, 0.25) - 0.25) < 1e-9, 'halfway between 0.15 (0) and 0.35 (0.5)');
  let last = -1;
  for (let s = 0; s <= 1; s += 0.01) {
    const p = calibrated(c, s);
    assert.ok(p >= last, 'never decreasing');
    last = p;
  }
  assert.throws(() => fitCalibration([]), /no labelled scores/);
});

test('labelled pairs and the reliability diagram', () => {
  const pairs = labelledPairs([[{ id: 'a', score: 0.9 }, { id: 'b', score: 0.2 }], [{ id: 'c', score: 0.8 }]], ['a', 'new_individual']);
  assert.deepEqual(pairs, [{ score: 0.9, same: true }, { score: 0.2, same: false }, { score: 0.8, same: false }]);
  const points = Array.from({ length: 1000 }, (_, i) => ({ score: i / 1000, same: (i * 7919) % 1000 < i }));
  const c = fitCalibration(points);
  const bins = reliability(c, points, 5);
  assert.equal(bins.reduce((n, b) => n + b.count, 0), 1000);
  for (const b of bins) assert.ok(Math.abs(b.predicted - b.observed) < 0.05, `a calibrated fit is reliable on its own data: ${JSON.stringify(b)}`);
});
