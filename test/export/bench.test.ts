// `finprint bench models --engine onnx`: finprint's side is the model exported to ONNX and run by
// ONNX Runtime, side by side with PyTorch eager (a small, quick case here; figures in the README).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchModels } from '../../src/bench/models.js';
import { findTorchPython } from '../../src/bench/pytorch_side.js';

let torchPython = true;
try {
  findTorchPython();
} catch {
  torchPython = false;
}

test('bench models --engine onnx measures ONNX Runtime against PyTorch', { skip: torchPython ? false : 'no python3 with torch here' }, async () => {
  const r = await benchModels({ engine: 'onnx', models: [], sizes: [64], sizeModel: 'efficientnet_b0', batch: 2, rounds: 1, roundSeconds: 0.05 });
  assert.equal(r.engine, 'onnx');
  assert.equal(r.resolution.length, 1);
  const row = r.resolution[0]!;
  assert.equal(row.model, 'efficientnet_b0');
  assert.equal(row.size, 64);
  assert.ok(row.finprint_img_s > 0 && row.pytorch_img_s > 0 && row.ratio > 0);
  await assert.rejects(benchModels({ engine: 'tensorflow' as never, models: ['vgg16'], sizes: [] }), /engine must be libtorch or onnx/);
});
