import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createModel, type Backbone } from '../../src/models/index.js';
import * as torch from '../../src/torch/index.js';
import { assertMatchesManifest, assertParity, assertTrainStep, sharedFixture } from './backbone_checks.js';

// Building inception_v3 (24M parameters, truncated-normal init) takes seconds: the tests share one,
// in this order.
let model: Backbone;
before(() => {
  model = createModel('inception_v3');
});

test('inception_v3 state dict and pretrained_cfg match timm', () => {
  assertMatchesManifest('inception_v3', model);
  assert.equal(model.numFeatures, 2048);
  const names = model.blocks().map((b) => b.name);
  assert.deepEqual(names.slice(0, 6), ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'Mixed_5b']);
  assert.equal(names.length, 16);
  assert.equal(names.at(-1), 'Mixed_7c');
});

test('inception_v3 reproduces timm (F16 weights upcast): features, pre-logits and logits', async (t) => {
  const fixture = await sharedFixture(t, 'inception_v3');
  if (!fixture) return;
  assert.deepEqual(fixture.features.shape, [2, 2048, 8, 8]);
  assertParity('inception_v3', model, fixture);
});

test('filterCheckpoint drops the torchvision auxiliary classifier; old files without num_batches_tracked load', () => {
  const sd = new Map([...model.stateDict()].filter(([k]) => !k.endsWith('num_batches_tracked')));
  const aux = { 'AuxLogits.conv0.conv.weight': [128, 768, 1, 1], 'AuxLogits.conv0.bn.weight': [128], 'AuxLogits.conv1.conv.weight': [768, 128, 5, 5], 'AuxLogits.fc.weight': [1000, 768], 'AuxLogits.fc.bias': [1000] };
  for (const [k, shape] of Object.entries(aux)) sd.set(k, torch.zeros(shape));
  const filtered = model.filterCheckpoint(sd);
  assert.ok(![...filtered.keys()].some((k) => k.startsWith('AuxLogits')));
  assert.equal(filtered.size, sd.size - Object.keys(aux).length);
  assert.deepEqual(model.loadStateDict(filtered), { missing: [], unexpected: [], mismatched: [] });
});

test('inception_v3 trains: BN batch statistics, gradients reach the stem', () => {
  model.resetClassifier(4);
  // 75x75 is the smallest input the stride-2 stem and reductions accept.
  assertTrainStep(model, [2, 3, 75, 75], 4);
  assert.equal(model.stateDict().get('Conv2d_1a_3x3.bn.num_batches_tracked')!.item(), 1);
});

test('resetClassifier swaps fc; 0 classes returns the 2048-wide pre-logits', () => {
  model.eval();
  model.resetClassifier(7);
  assert.deepEqual(model.stateDict().get('fc.weight')!.shape, [7, 2048]);
  assert.equal([...model.stateDict().keys()].at(-1), 'fc.bias');
  model.resetClassifier(0);
  assert.ok(!model.stateDict().has('fc.weight'));
  torch.noGrad(() => torch.tidy(() => assert.deepEqual(model.forward(torch.randn([1, 3, 75, 75])).shape, [1, 2048])));
});
