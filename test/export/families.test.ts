import { existsSync } from 'node:fs';
// Parity per model family: each zoo backbone with timm's fixture weights, exported, run in ONNX
// Runtime on the fixture's input, must give timm's logits (and finprint's) within 1e-4
// (max |diff| / max |ref|); then with the heads a task builds on it (the seed's DenseHead; the
// embedding neck with sub-centre ArcFace and the species head), exported as a run is.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { maxRelDiff, OrtModel } from '../../src/export/ort.js';
import { exportTask, taskOutputs } from '../../src/export/trained.js';
import { createModel, type Backbone } from '../../src/models/index.js';
import { createTask, type Labels, type TaskName } from '../../src/train/tasks.js';
import { sharedFixture } from '../models/backbone_checks.js';
import { loadFixture, sharedFixtureDir, type TimmFixture } from '../models/timm_fixture.js';
import { assertOrtParity, checkOrtParity, randomizeBatchNorms } from './helpers.js';

const TOL = 1e-4;
const LABELS: Labels = { species: ['beluga', 'blue_whale', 'bottlenose_dolphin'], individuals: ['a', 'b', 'c', 'd', 'e'], individualCounts: [3, 1, 2, 5, 1], individualSpecies: [0, 1, 2, 0, 1] };
const NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Loads the fixture's weights, exports at the fixture's input and compares ONNX Runtime with timm and finprint. */
async function backboneParity(name: string, fixture: TimmFixture): Promise<Backbone> {
  const model = createModel(name);
  model.loadStateDict(model.filterCheckpoint(fixture.stateDict));
  model.eval();
  const { exported, diffs } = await assertOrtParity(model, { inputShape: fixture.input.shape, example: fixture.input.toFloat32Array(), outputs: ['logits'] }, TOL);
  const ort = await OrtModel.load(exported.bytes);
  const got = await ort.run(exported.reference.input, exported.reference.shape);
  await ort.release();
  const vsTimm = maxRelDiff(got.get('logits')!.data, fixture.logits.toFloat32Array());
  console.log(`${name}: ONNX Runtime vs timm logits ${vsTimm.toExponential(2)}, vs finprint ${diffs.logits!.toExponential(2)} (batches 2, 1, 3); ${Object.entries(exported.opTypes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.ok(vsTimm <= TOL, `${name}: ONNX Runtime vs timm ${vsTimm}`);
  return model;
}

/** The model a task builds on the backbone (fixture weights), with non-trivial head statistics, exported as a run is. */
async function taskParity(name: string, fixture: TimmFixture | undefined, task: TaskName, imageSize: number): Promise<void> {
  const backbone = createModel(name, { numClasses: 0, ...(name.startsWith('levit') || name.startsWith('coatnet') ? { imgSize: imageSize } : {}) });
  if (fixture) backbone.loadStateDict(backbone.filterCheckpoint(fixture.stateDict), { strict: false });
  const t = createTask(task, backbone, LABELS, { embeddingDim: 24, arcface: { subCenters: 2 } });
  randomizeBatchNorms(t.model.head);
  t.model.eval();
  const exported = exportTask(t, { imageSize, normalization: NORM });
  const { names, forward } = taskOutputs(t);
  assert.deepEqual(exported.outputNames, names);
  const { diffs } = await checkOrtParity(exported, t.model, { inputShape: [2, 3, imageSize, imageSize], outputs: names, forward, normalization: NORM }, TOL);
  console.log(`${name} + ${task} head @${imageSize}px: ${Object.entries(diffs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
}

const LOCAL = [
  ['vgg16_tiny', 48],
  ['levit_192_tiny', 224],
  ['coatnet_0_rw_tiny', 224],
] as const;

for (const [name, size] of LOCAL) {
  test(`${name}: ONNX Runtime reproduces timm's logits; with the DenseHead and the joint (neck + ArcFace + species) heads it reproduces finprint`, async () => {
    const fixture = await loadFixture(name);
    await backboneParity(name, fixture);
    await taskParity(name, fixture, 'species', size);
    await taskParity(name, fixture, 'joint', size);
  });
}

const SHARED = [
  ['efficientnet_b0', 64],
  ['inception_v3', 96],
] as const;

for (const [name, size] of SHARED) {
  test(`${name} (full size): with the heads at ${size} px ONNX Runtime reproduces finprint (the shared fixture's weights when present, else random ones)`, async () => {
    const fixture = existsSync(`${sharedFixtureDir}${name}.safetensors`) ? await loadFixture(name, { dir: sharedFixtureDir }) : undefined;
    await taskParity(name, fixture, 'individual-softmax', size);
    await taskParity(name, fixture, 'joint', size);
  });
  test(`${name} (full size, shared fixture): ONNX Runtime reproduces timm's logits`, async (t: TestContext) => {
    const fixture = await sharedFixture(t, name);
    if (fixture) await backboneParity(name, fixture);
  });
}
