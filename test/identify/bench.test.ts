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

it('bench identify runs both sides on a small search and reports queries/s', { skip: torchPython ? false : 'no python3 with torch here' }, async () => {
  const r = await benchIdentify({ queries: 600, gallery: 3000, dim: 64, block: 256, neighbours: 20, individuals: 500, rounds: 1 });
  assert.ok(r.finprint_queries_s > 0 && r.pytorch_queries_s > 0 && r.same_algorithm.pytorch_queries_s > 0 && r.same_algorithm.ratio > 0);
  assert.equal(r.same_algorithm.ratio, r.finprint_queries_s / r.same_algorithm.pytorch_queries_s);
  assert.equal(r.ratio, r.finprint_queries_s / r.pytorch_queries_s);
  assert.ok(Math.abs(r.seconds - 600 / r.finprint_queries_s) < 1e-9);
});
