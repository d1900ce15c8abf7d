import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { EfficientNet, EFFICIENTNET_CONFIGS } from '../../src/models/efficientnet.js';
import { createModel } from '../../src/models/index.js';
import { assertMatchesManifest, assertParity, assertTrainStep } from './backbone_checks.js';
import { loadFixture, type TimmFixture } from './timm_fixture.js';

let fixture: TimmFixture;
before(async () => {
  fixture = await loadFixture('efficientnetv2_rw_m_tiny');
});

test('efficientnetv2_rw_m state dict and pretrained_cfg match timm', () => {
  const model = createModel('efficientnetv2_rw_m');
  assertMatchesManifest('efficientnetv2_rw_m', model);
  assert.equal(model.numFeatures, 2152);
  // Depth 1.2 / 1.6 rounded up: 2,4,4,6,9,15 -> 3,5,5,8,15,24 blocks.
  assert.deepEqual(
    EFFICIENTNET_CONFIGS.efficientnetv2_rw_m.stages.map((s) => s.repeats),
    [3, 5, 5, 8, 15, 24],
  );
  const names = model.blocks().map((b) => b.name);
  assert.deepEqual(names.slice(0, 4), ['conv_stem', 'bn1', 'blocks.0.0', 'blocks.0.1']);
  assert.deepEqual(names.slice(-3), ['blocks.5.23', 'conv_head', 'bn2']);
  assert.equal(names.length, 60 + 4);
  model.dispose();
});

test('efficientnetv2_rw_m_tiny reproduces timm: features, pre-logits and logits', () => {
  const model = createModel('efficientnetv2_rw_m_tiny');
  assert.deepEqual(fixture.features.shape, [2, 448, 3, 3]);
  assert.equal(model.numFeatures, 448);
  assertParity('efficientnetv2_rw_m_tiny', model, fixture);
});

test('efficientnetv2_rw_m_tiny trains with dropout and drop-path: gradients reach the stem', () => {
  const model = new EfficientNet(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m_tiny, { numClasses: 5, dropRate: 0.2, dropPathRate: 0.2 });
  assertTrainStep(model, [2, 3, 64, 64], 5);
});
