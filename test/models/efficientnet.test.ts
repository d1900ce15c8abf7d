import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EfficientNet, EFFICIENTNET_CONFIGS } from '../../src/models/efficientnet.js';
import { createModel } from '../../src/models/index.js';
import * as torch from '../../src/torch/index.js';
import { assertMatchesManifest, assertParity, assertTrainStep, sharedFixture } from './backbone_checks.js';

test('efficientnet_b0 state dict and pretrained_cfg match timm', () => {
  const model = createModel('efficientnet_b0');
  assertMatchesManifest('efficientnet_b0', model);
  assert.equal(model.numFeatures, 1280);
  const names = model.blocks().map((b) => b.name);
  assert.deepEqual(names.slice(0, 4), ['conv_stem', 'bn1', 'blocks.0.0', 'blocks.1.0']);
  assert.deepEqual(names.slice(-3), ['blocks.6.0', 'conv_head', 'bn2']);
  assert.equal(names.length, 16 + 4);
  // The checkpoint needs no renaming.
  const sd = model.stateDict();
  assert.equal(model.filterCheckpoint(sd), sd);
});

test('efficientnet_b0 reproduces timm (F16 weights upcast): features, pre-logits and logits', async (t) => {
  const fixture = await sharedFixture(t, 'efficientnet_b0');
  if (!fixture) return;
  assert.deepEqual(fixture.features.shape, [2, 1280, 7, 7]);
  assertParity('efficientnet_b0', createModel('efficientnet_b0'), fixture);
});

test('efficientnet_b0 trains with dropout and drop-path: gradients reach the stem', () => {
  const model = new EfficientNet(EFFICIENTNET_CONFIGS.efficientnet_b0, { numClasses: 5, dropRate: 0.2, dropPathRate: 0.2 });
  assertTrainStep(model, [2, 3, 64, 64], 5);
});

test('resetClassifier swaps the classifier; 0 classes returns the 1280-wide pre-logits', () => {
  const model = createModel('efficientnet_b0').eval();
  model.resetClassifier(2);
  assert.deepEqual(model.stateDict().get('classifier.weight')!.shape, [2, 1280]);
  model.resetClassifier(0);
  torch.noGrad(() => torch.tidy(() => assert.deepEqual(model.forward(torch.randn([1, 3, 96, 96])).shape, [1, 1280])));
});
