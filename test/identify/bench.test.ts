import { it } from 'node:test';
import assert from 'node:assert/strict';
import { benchIdentify } from '../../src/bench/identify.js';
import { findTorchPython } from '../../src/bench/pytorch_side.js';

let torchPython = true;
try {
  findTorchPython();
} catch {
  torchPython = false;
}

it('bench identify: finprint and both PyTorch searches find the same neighbours', { skip: torchPython ? false : 'no python3 with torch here' }, async () => {
  // Every gallery photo its own individual and k = 5, the individuals finprint keeps: so all
  // three sides list the 5 nearest photos of each query. Gallery 3000 / k 5 takes the chunked
  // top-k path on finprint's side and on PyTorch's same-algorithm side.
  const sample = 256;
  const r = await benchIdentify({ queries: 600, gallery: 3000, dim: 64, block: 256, neighbours: 5, individuals: 3000, rounds: 1, sample });
  const { finprint, pytorch, same_algorithm } = r.nearest;
  assert.equal(finprint.indices.length, sample);
  assert.ok(finprint.indices.every((row) => row.length === 5));
  for (const [side, theirs] of Object.entries({ pytorch, same_algorithm })) {
    assert.deepEqual(theirs.indices, finprint.indices, `${side}: other neighbours than finprint's`);
    theirs.scores.forEach((row, i) => row.forEach((s, j) => assert.ok(Math.abs(s - finprint.scores[i]![j]!) < 1e-5, `${side}: query ${i}, neighbour ${j}: ${s} vs finprint's ${finprint.scores[i]![j]}`)));
  }
  assert.ok(r.finprint_queries_s > 0 && r.pytorch_queries_s > 0 && r.same_algorithm.pytorch_queries_s > 0);
});
