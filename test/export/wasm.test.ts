// The exported files also load in onnxruntime-web's WebAssembly backend (what a browser page would
// use), run here in Node on one thread from the package's own .wasm files (no network).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { exportOnnx } from '../../src/export/export.js';
import { maxRelDiff } from '../../src/export/ort.js';
import { exportTask } from '../../src/export/trained.js';
import { createModel } from '../../src/models/index.js';
import { createTask } from '../../src/train/tasks.js';
import { loadFixture } from '../models/timm_fixture.js';
import { randomizeBatchNorms } from './helpers.js';

async function loadWeb(): Promise<typeof import('onnxruntime-web')> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = `${dirname(createRequire(import.meta.url).resolve('onnxruntime-web'))}/`;
  return ort;
}

test("onnxruntime-web (wasm, one thread) runs an exported backbone and a joint run's graph with finprint's results", async () => {
  const ort = await loadWeb();
  const fixture = await loadFixture('vgg16_tiny');
  const backbone = createModel('vgg16_tiny');
  backbone.loadStateDict(fixture.stateDict);
  backbone.eval();
  const plain = exportOnnx(backbone, { inputShape: fixture.input.shape, example: fixture.input.toFloat32Array(), outputs: ['logits'] });

  const task = createTask('joint', createModel('levit_192_tiny', { numClasses: 0, imgSize: 64 }), { species: ['a', 'b'], individuals: ['x', 'y', 'z'], individualCounts: [1, 2, 3], individualSpecies: [0, 1, 0] }, { embeddingDim: 16 });
  randomizeBatchNorms(task.model);
  const joint = exportTask(task, { imageSize: 64, normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } });

  for (const [what, exported] of [
    ['vgg16_tiny backbone', plain],
    ['levit_192_tiny joint', joint],
  ] as const) {
    const session = await ort.InferenceSession.create(exported.bytes, { executionProviders: ['wasm'] });
    const ref = exported.reference;
    const results = await session.run({ pixels: new ort.Tensor('float32', ref.input, ref.shape) });
    for (const [name, r] of ref.outputs) {
      const got = results[name]!;
      assert.deepEqual([...got.dims], r.shape);
      const d = maxRelDiff(got.data as Float32Array, r.data);
      console.log(`onnxruntime-web wasm, ${what}: ${name} max rel diff ${d.toExponential(2)}`);
      assert.ok(d <= 1e-4, `${what} ${name}: ${d}`);
    }
    await session.release();
  }
});
