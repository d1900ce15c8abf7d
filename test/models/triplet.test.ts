import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchHardTriplet } from '../../src/models/triplet.js';
import * as torch from '../../src/torch/index.js';

const unit = (rows: number[][]): torch.Tensor => torch.F.normalize(torch.tensor(new Float32Array(rows.flat()), [rows.length, rows[0]!.length]));
const labels = (xs: number[]): torch.Tensor => torch.tensor(new Int32Array(xs), [xs.length]).to('int64');

test('batch-hard triplet: hardest positive against hardest negative, by cosine distance, worked by hand', () => {
  // Angles 0, 60 and 90 degrees from the x axis: a and b share a label, c does not.
  const e = unit([[1, 0], [0.5, Math.sqrt(3) / 2], [0, 1]]);
  // d(a,b) = 0.5, d(a,c) = 1, d(b,c) = 1 - cos 30 = 0.1340. Anchor a: relu(0.5 - 1 + m);
  // anchor b: relu(0.5 - 0.134 + m); c has no positive and is left out.
  const m = 0.3;
  const expected = (Math.max(0, 0.5 - 1 + m) + Math.max(0, 0.5 - (1 - Math.sqrt(3) / 2) + m)) / 2;
  assert.ok(Math.abs(batchHardTriplet(e, labels([7, 7, 9]), m).item() - expected) < 1e-5);
  // With a margin of 0 anchor a is satisfied, b is not.
  assert.ok(Math.abs(batchHardTriplet(e, labels([7, 7, 9]), 0).item() - (0.5 - (1 - Math.sqrt(3) / 2)) / 2) < 1e-5);
  // No anchor with a positive (all different), or no negative (all the same): zero.
  assert.equal(batchHardTriplet(e, labels([1, 2, 3])).item(), 0);
  assert.equal(batchHardTriplet(e, labels([4, 4, 4])).item(), 0);
});

test('its gradient pulls an anchor towards its positive and away from its negative', () => {
  const x = torch.tensor(new Float32Array([1, 0, 0.5, 0.8660254, 0.2, 1]), [3, 2]).requiresGrad_();
  const loss = batchHardTriplet(torch.F.normalize(x), labels([0, 0, 1]), 0.5);
  loss.backward();
  const before = loss.item();
  const step = x.detach().sub(x.grad!.mul(0.5));
  const after = batchHardTriplet(torch.F.normalize(step), labels([0, 0, 1]), 0.5).item();
  assert.ok(after < before, `${after} < ${before}`);
});
