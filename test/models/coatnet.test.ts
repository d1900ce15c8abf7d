import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createModel, modelEntry, type Backbone } from '../../src/models/index.js';
import * as nn from '../../src/nn/index.js';
import * as torch from '../../src/torch/index.js';
import { assertFixtureTrainStep, assertMatchesManifest, assertParity } from './backbone_checks.js';
import { loadFixture, maxRelDiff, type TimmFixture } from './timm_fixture.js';

let fixture: TimmFixture;
let full: Backbone; // coatnet_0_rw_224, random weights, shared by the tests that only read it
before(async () => {
  fixture = await loadFixture('coatnet_0_rw_tiny');
  full = createModel('coatnet_0_rw_224').eval();
});

function tinyWithFixtureWeights(): Backbone {
  const model = createModel('coatnet_0_rw_tiny');
  model.loadStateDict(fixture.stateDict);
  return model;
}

test('coatnet_0_rw_tiny reproduces timm: features, pre-logits and logits', () => {
  const model = createModel('coatnet_0_rw_tiny');
  assertParity('coatnet_0_rw_tiny', model, fixture);
  torch.noGrad(() => {
    assert.deepEqual(model.forwardFeatures(fixture.input).shape, [2, 128, 7, 7]);
    assert.deepEqual(model.forward(fixture.input).shape, [2, 10]);
  });
});

test('coatnet_0_rw_224 state dict matches timm names, shapes and dtypes; position indices are not persisted', () => {
  assertMatchesManifest('coatnet_0_rw_224', full);
  const sd = full.stateDict();
  const idx = full.namedBuffers().filter(([k]) => k.endsWith('relative_position_index'));
  assert.equal(idx.length, 9);
  assert.ok(idx.every(([k]) => !sd.has(k)));
  assert.equal(full.numFeatures, 768);
});

test('coatnet_0_rw_224 runs at batch 1, through the stride-1 MBConv and transformer blocks', () => {
  torch.noGrad(() =>
    torch.tidy(() => {
      const features = full.forwardFeatures(torch.randn([1, 3, 224, 224]));
      assert.deepEqual(features.shape, [1, 768, 7, 7]);
      const logits = full.forwardHead(features);
      assert.deepEqual(logits.shape, [1, 1000]);
      assert.ok(logits.isfinite().all().item());
    }),
  );
});

test('stride-1 blocks keep shape and add an identity shortcut', () => {
  const modules = new Map(full.namedModules());
  for (const [name, zeroed, shape] of [
    ['stages.0.blocks.1', ['conv3_1x1'], [1, 96, 56, 56]],
    ['stages.2.blocks.1', ['attn.proj', 'mlp.fc2'], [1, 384, 14, 14]],
  ] as const) {
    const block = modules.get(name)!;
    torch.noGrad(() =>
      torch.tidy(() => {
        const x = torch.randn([...shape]);
        assert.deepEqual((block.forward(x) as torch.Tensor).shape, [...shape], `${name} keeps the shape`);
        // With the residual branches' output layers zeroed, the block is its shortcut: the identity.
        const sd = block.stateDict();
        const saved = new Map([...sd].filter(([k]) => zeroed.some((z) => k.startsWith(`${z}.`))).map(([k, t]) => [k, t.clone()]));
        for (const k of saved.keys()) sd.get(k)!.zero_();
        assert.equal(maxRelDiff(block.forward(x) as torch.Tensor, x), 0, `${name} shortcut is the identity`);
        for (const [k, t] of saved) sd.get(k)!.copy_(t);
      }),
    );
  }
});

test('relative_position_index: (Δrow + H − 1)·(2W − 1) + (Δcol + W − 1)', () => {
  const buffers = new Map(createModel('coatnet_0_rw_tiny').namedBuffers());
  const idx = buffers.get('stages.3.blocks.0.attn.rel_pos.relative_position_index')!; // 7x7 window
  assert.deepEqual(idx.shape, [49 * 49]);
  const v = idx.toArray();
  assert.equal(v[0], 6 * 13 + 6); // (0,0) -> (0,0): the centre of the 13x13 table
  assert.equal(v[(2 * 7 + 5) * 49 + (6 * 7 + 1)], (2 - 6 + 6) * 13 + (5 - 1 + 6)); // (2,5) -> (6,1)
  assert.equal(Math.max(...v), 13 * 13 - 1);
  assert.deepEqual(buffers.get('stages.2.blocks.0.attn.rel_pos.relative_position_index')!.shape, [196 * 196]);
});

test('registered as a coatnet; the tiny variant is a test variant', () => {
  assert.equal(modelEntry('coatnet_0_rw_224').family, 'coatnet');
  assert.equal(modelEntry('coatnet_0_rw_tiny').testVariant, true);
});

test('train mode: one forward/backward reaches the stem and updates BatchNorm statistics', () => {
  assertFixtureTrainStep(tinyWithFixtureWeights(), fixture, ['stem.conv1.weight', 'stages.0.blocks.0.se_early.fc1.weight', 'stages.2.blocks.0.attn.rel_pos.relative_position_bias_table', 'stages.3.blocks.0.shortcut.expand.weight', 'head.fc.weight'], 'stem.norm1');
});

test('resetClassifier replaces head.fc; 0 leaves the pre-logits', () => {
  const model = tinyWithFixtureWeights().eval();
  torch.noGrad(() => {
    const pre = model.forwardHead(fixture.features, { preLogits: true });
    model.resetClassifier(5);
    assert.deepEqual(model.forwardHead(fixture.features).shape, [2, 5]);
    assert.deepEqual(model.stateDict().get('head.fc.weight')!.shape, [5, 128]);
    model.resetClassifier(0);
    assert.ok(![...model.stateDict().keys()].some((k) => k.startsWith('head')));
    assert.equal(maxRelDiff(model.forwardHead(fixture.features), pre), 0);
  });
});

test('blocks() lists stem, every stage block and the final norm from input to output', () => {
  const depths = [2, 3, 7, 2];
  assert.deepEqual(full.blocks().map((b) => b.name), ['stem', ...depths.flatMap((d, s) => Array.from({ length: d }, (_, b) => `stages.${s}.blocks.${b}`)), 'norm']);
  const byName = new Map(full.namedModules());
  for (const b of full.blocks()) assert.equal(byName.get(b.name), b.module, `${b.name} is the module at that prefix`);
  // Every parameter outside the classifier belongs to one block, so freezing by blocks is complete.
  const covered = new Set(full.blocks().flatMap((b) => b.module.parameters()));
  assert.deepEqual(full.namedParameters().filter(([, p]) => !covered.has(p)).map(([k]) => k), ['head.fc.weight', 'head.fc.bias']);
});

test('filterCheckpoint passes a state dict through unchanged', () => {
  const w = torch.zeros([2]);
  const sd: nn.StateDict = new Map([['stem.conv1.weight', w], ['anything.else', w]]);
  assert.deepEqual([...full.filterCheckpoint(sd)], [...sd]);
});
