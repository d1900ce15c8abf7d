import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createModel, modelEntry, type Backbone } from '../../src/models/index.js';
import * as torch from '../../src/torch/index.js';
import { assertFixtureTrainStep, assertMatchesManifest, assertParity } from './backbone_checks.js';
import { loadFixture, maxRelDiff, type TimmFixture } from './timm_fixture.js';

let fixture: TimmFixture;
let full: Backbone; // levit_192, random weights, shared by the tests that only read it
before(async () => {
  fixture = await loadFixture('levit_192_tiny');
  full = createModel('levit_192').eval();
});

function tinyWithFixtureWeights(): Backbone {
  const model = createModel('levit_192_tiny');
  model.loadStateDict(fixture.stateDict);
  return model;
}

test('levit_192_tiny reproduces timm: features, pre-logits and logits', () => {
  const model = createModel('levit_192_tiny');
  assertParity('levit_192_tiny', model, fixture);
  torch.noGrad(() => {
    assert.deepEqual(model.forwardFeatures(fixture.input).shape, [2, 16, 64]);
    assert.deepEqual(model.forward(fixture.input).shape, [2, 10]);
  });
});

test('levit_192 state dict matches timm names, shapes and dtypes; bias indices are computed, not persisted', () => {
  const model = full;
  assertMatchesManifest('levit_192', model);
  const sd = model.stateDict();
  const idxs = model.namedBuffers().filter(([k]) => k.endsWith('attention_bias_idxs'));
  assert.equal(idxs.length, 14);
  assert.ok(idxs.every(([k]) => !sd.has(k)));
  assert.equal(model.numFeatures, 384);
});

test('attention_bias_idxs follow |Δrow|·R + |Δcol|, with queries on every 2nd row/col when downsampling', () => {
  const buffers = new Map(createModel('levit_192_tiny').namedBuffers());
  const block = buffers.get('stages.1.blocks.0.attn.attention_bias_idxs')!; // R = 7
  assert.deepEqual(block.shape, [49, 49]);
  const b = block.toArray();
  assert.equal(b[0 * 49 + 48], 6 * 7 + 6); // (0,0) -> (6,6)
  assert.equal(b[(3 * 7 + 1) * 49 + (1 * 7 + 4)], 2 * 7 + 3); // (3,1) -> (1,4)
  const down = buffers.get('stages.2.downsample.attn_downsample.attention_bias_idxs')!; // R = 7 -> 4
  assert.deepEqual(down.shape, [16, 49]);
  const d = down.toArray();
  assert.equal(d[(1 * 4 + 3) * 49 + (0 * 7 + 1)], 2 * 7 + 5); // query (1,3) sits at (2,6); key (0,1)
  assert.equal(d[15 * 49 + 48], 0); // query (3,3) sits at (6,6)
});

test('levit_192 runs at batch 1; the tiny variant is a test variant', () => {
  const model = full;
  const logits = torch.noGrad(() => torch.tidy(() => model.forward(torch.randn([1, 3, 224, 224]))));
  assert.deepEqual(logits.shape, [1, 1000]);
  assert.ok(logits.isfinite().all().item());
  assert.equal(modelEntry('levit_192').family, 'levit');
  assert.equal(modelEntry('levit_192_tiny').testVariant, true);
});

test('train mode: one forward/backward reaches the stem and updates BatchNorm statistics', () => {
  assertFixtureTrainStep(tinyWithFixtureWeights(), fixture, ['stem.conv1.linear.weight', 'stages.0.blocks.0.attn.attention_biases', 'stages.1.downsample.attn_downsample.q.ln.linear.weight', 'head.linear.weight', 'head_dist.linear.weight'], 'stem.conv1.bn');
});

test('forwardHead averages head and head_dist; resetClassifier replaces both', () => {
  const model = tinyWithFixtureWeights().eval();
  torch.noGrad(() => {
    const pre = model.forwardHead(fixture.features, { preLogits: true });
    const head = (name: string): torch.Tensor => new Map(model.namedChildren()).get(name)!.forward(pre) as torch.Tensor;
    const mean = head('head').add(head('head_dist')).div(2);
    assert.equal(maxRelDiff(model.forwardHead(fixture.features), mean), 0);

    model.resetClassifier(5);
    assert.deepEqual(model.forwardHead(fixture.features).shape, [2, 5]);
    assert.deepEqual([...model.stateDict()].filter(([k]) => k.startsWith('head')).map(([k, t]) => `${k}:${t.shape.join('x')}`).filter((k) => k.includes('linear')), [
      'head.linear.weight:5x64', 'head.linear.bias:5', 'head_dist.linear.weight:5x64', 'head_dist.linear.bias:5',
    ]);
    model.resetClassifier(0);
    assert.ok(![...model.stateDict().keys()].some((k) => k.startsWith('head')));
    assert.equal(maxRelDiff(model.forwardHead(fixture.features), pre), 0, 'without heads, logits are the pre-logits');
  });
});

test('blocks() lists stem, downsamples and blocks from input to output', () => {
  const model = full;
  const names = model.blocks().map((b) => b.name);
  assert.deepEqual(names, [
    'stem',
    ...[0, 1, 2, 3].map((b) => `stages.0.blocks.${b}`),
    'stages.1.downsample', ...[0, 1, 2, 3].map((b) => `stages.1.blocks.${b}`),
    'stages.2.downsample', ...[0, 1, 2, 3].map((b) => `stages.2.blocks.${b}`),
  ]);
  const byName = new Map(model.namedModules());
  for (const b of model.blocks()) assert.equal(byName.get(b.name), b.module, `${b.name} is the module at that prefix`);
  // Every parameter outside the two classifiers belongs to one block, so freezing by blocks is complete.
  const covered = new Set(model.blocks().flatMap((b) => b.module.parameters()));
  const rest = model.namedParameters().filter(([, p]) => !covered.has(p)).map(([k]) => k);
  assert.ok(rest.length > 0 && rest.every((k) => k.startsWith('head.') || k.startsWith('head_dist.')), rest.join(', '));
});

test('filterCheckpoint drops attention_bias_idxs and keeps everything else', () => {
  const model = createModel('levit_192_tiny');
  const w = torch.zeros([2]);
  const idx = torch.zeros([4, 4], { dtype: 'int64' });
  const sd = new Map([['stages.0.blocks.0.attn.attention_biases', w], ['stages.0.blocks.0.attn.attention_bias_idxs', idx], ['stages.1.downsample.attn_downsample.attention_bias_idxs', idx], ['head.linear.bias', w]]);
  assert.deepEqual([...model.filterCheckpoint(sd).keys()], ['stages.0.blocks.0.attn.attention_biases', 'head.linear.bias']);
});
