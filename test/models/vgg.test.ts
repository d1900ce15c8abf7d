import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createModel } from '../../src/models/index.js';
import { VGG, VGG_CONFIGS } from '../../src/models/vgg.js';
import * as torch from '../../src/torch/index.js';
import { assertMatchesManifest, assertParity, assertTrainStep } from './backbone_checks.js';
import { loadFixture, maxRelDiff, type TimmFixture } from './timm_fixture.js';

let fixture: TimmFixture;
before(async () => {
  fixture = await loadFixture('vgg16_tiny');
});

test('vgg16_tiny reproduces timm: features, pre-logits and logits', () => {
  const model = createModel('vgg16_tiny');
  assertParity('vgg16_tiny', model, fixture);
  assert.deepEqual(fixture.features.shape, [2, 32, 7, 7]);
  assert.equal(model.numFeatures, 64);
});

test('vgg16 state dict and pretrained_cfg match timm', () => {
  const model = createModel('vgg16');
  assertMatchesManifest('vgg16', model);
  assert.equal(model.numFeatures, 4096);
  const blocks = model.blocks().map((b) => b.name);
  assert.deepEqual(blocks, [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28].map((i) => `features.${i}`).concat('pre_logits'));
  model.dispose();
});

test('vgg16_tiny trains: gradients reach features.0 through dropout', () => {
  const model = new VGG(VGG_CONFIGS.vgg16_tiny, { numClasses: 10, dropRate: 0.5 });
  assertTrainStep(model, [2, 3, 64, 64], 10);
  // Dropout is active in train mode only.
  torch.noGrad(() =>
    torch.tidy(() => {
      const x = torch.randn([2, 3, 64, 64]);
      assert.ok(maxRelDiff(model.forward(x), model.forward(x)) > 0, 'train-mode forwards differ');
      model.eval();
      assert.equal(maxRelDiff(model.forward(x), model.forward(x)), 0, 'eval-mode forwards agree');
    }),
  );
});

test('small inputs are pooled up to the 7x7 the pre_logits conv needs', () => {
  const model = createModel('vgg16_tiny').eval();
  torch.noGrad(() =>
    torch.tidy(() => {
      const features = model.forwardFeatures(torch.randn([1, 3, 96, 96]));
      assert.deepEqual(features.shape, [1, 32, 3, 3]);
      assert.deepEqual(model.forwardHead(features).shape, [1, 10]);
      assert.deepEqual(model.forwardHead(model.forwardFeatures(torch.randn([1, 3, 256, 256])), { preLogits: true }).shape, [1, 64]);
    }),
  );
});

test('filterCheckpoint maps torchvision classifier names onto timm names, reshaping to convs', () => {
  const model = createModel('vgg16_tiny');
  model.loadStateDict(fixture.stateDict);
  model.eval();
  // torchvision's layout: Linear classifier.0 / .3 / .6 instead of pre_logits.fc1 / fc2 and head.fc.
  const tv = new Map(fixture.stateDict);
  const rename: [string, string][] = [
    ['pre_logits.fc1.', 'classifier.0.'],
    ['pre_logits.fc2.', 'classifier.3.'],
    ['head.fc.', 'classifier.6.'],
  ];
  for (const [timmName, tvName] of rename) {
    for (const suffix of ['weight', 'bias']) {
      const t = tv.get(timmName + suffix)!;
      tv.delete(timmName + suffix);
      tv.set(tvName + suffix, t.reshape(t.size(0), -1));
    }
  }
  assert.deepEqual(tv.get('classifier.0.weight')!.shape, [64, 32 * 7 * 7]);
  const filtered = model.filterCheckpoint(tv);
  assert.deepEqual([...filtered.keys()].sort(), [...fixture.stateDict.keys()].sort());
  const fresh = createModel('vgg16_tiny').eval();
  const result = fresh.loadStateDict(filtered);
  assert.deepEqual(result, { missing: [], unexpected: [], mismatched: [] });
  torch.noGrad(() => torch.tidy(() => assert.equal(maxRelDiff(fresh.forward(fixture.input), fixture.logits), maxRelDiff(model.forward(fixture.input), fixture.logits))));
  // timm-named checkpoints pass through unchanged.
  const same = model.filterCheckpoint(fixture.stateDict);
  for (const [k, t] of fixture.stateDict) assert.equal(same.get(k), t);
});

test('resetClassifier replaces head.fc; 0 classes leaves pre-logits', () => {
  const model = createModel('vgg16_tiny').eval();
  model.resetClassifier(3);
  assert.deepEqual(model.stateDict().get('head.fc.weight')!.shape, [3, 64, 1, 1]);
  model.resetClassifier(0);
  assert.ok(![...model.stateDict().keys()].some((k) => k.startsWith('head.')));
  torch.noGrad(() => torch.tidy(() => assert.deepEqual(model.forward(torch.randn([1, 3, 224, 224])).shape, [1, 64])));
});
