import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { EFFICIENTNET_CONFIGS } from '../../src/models/efficientnet.js';
import { createModel, modelEntry } from '../../src/models/index.js';
import { MiewId } from '../../src/models/miewid.js';
import { SGD } from '../../src/optim/index.js';
import * as torch from '../../src/torch/index.js';
import { assertStateDictMatchesManifest, assertTrainStep } from './backbone_checks.js';
import { loadFixtureTensors, loadManifest, maxRelDiff } from './timm_fixture.js';

type Fixture = Awaited<ReturnType<typeof loadFixtureTensors<'__input__' | '__features__' | '__embedding__'>>>;
let fixture: Fixture;
before(async () => {
  fixture = await loadFixtureTensors('miewid_tiny', ['__input__', '__features__', '__embedding__']);
});

test('miewid state dict matches MiewIdNet (51,087,747 parameters); config from the model card', () => {
  const manifest = loadManifest('miewid');
  const model = createModel('miewid');
  assertStateDictMatchesManifest(manifest, model);
  assert.equal(manifest.num_params, 51_087_747);
  assert.equal(model.numFeatures, manifest.pretrained_cfg.embedding_dim);
  const cfg = modelEntry('miewid').pretrainedCfg;
  assert.deepEqual([cfg.inputSize, cfg.mean, cfg.std], [manifest.pretrained_cfg.input_size, manifest.pretrained_cfg.mean, manifest.pretrained_cfg.std]);
  const names = model.blocks().map((b) => b.name);
  assert.deepEqual([names[0], names.at(-1), names.length], ['backbone.conv_stem', 'backbone.bn2', 64]);
  // No classifier to have or to swap.
  assert.throws(() => model.resetClassifier(5), /numClasses/);
  assert.throws(() => createModel('miewid', { numClasses: 5 }), /numClasses/);
  model.dispose();
});

test('miewid_tiny reproduces MiewIdNet: features and embedding', () => {
  const model = createModel('miewid_tiny') as MiewId;
  model.loadStateDict(fixture.stateDict);
  model.eval();
  assert.ok(Math.abs(model.pooling.p.item() - 2.7) < 1e-6, "the fixture's trained p (2.7) is loaded");
  torch.noGrad(() =>
    torch.tidy(() => {
      const { __input__: input, __features__: features, __embedding__: embedding } = fixture.tensors;
      const ours = model.forwardFeatures(input);
      const diffs = {
        features: maxRelDiff(ours, features),
        embedding: maxRelDiff(model.forwardHead(ours), embedding),
        forwardEmbedding: maxRelDiff(model.forwardEmbedding(input), embedding),
      };
      console.log(`miewid_tiny max rel diff: ${JSON.stringify(diffs)}`);
      for (const [what, d] of Object.entries(diffs)) assert.ok(d <= 1e-4, `miewid_tiny ${what}: max rel diff ${d} > 1e-4`);
      // Embeddings are compared by cosine: each is (all but) parallel to the reference.
      const cosine = torch.F.normalize(model.forwardEmbedding(input)).mul(torch.F.normalize(embedding)).sum([1]);
      assert.ok(cosine.min().item() > 1 - 1e-6, `cosine to the reference ${cosine.min().item()}`);
    }),
  );
});

test('miewid_tiny trains: gradients reach the stem through GeM and BatchNorm1d', () => {
  const model = new MiewId(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m_tiny, { dropPathRate: 0.2 });
  // A fixed random direction: the mean square of a batch-normalised output would be ~constant.
  const target = torch.randn([2, model.numFeatures]);
  assertTrainStep(model, [2, 3, 64, 64], model.numFeatures, (out) => out.mul(target).sum());
  target.dispose();
});

test("miewid's GeM p is a learnable parameter: it gets a gradient and an optimizer step moves it", () => {
  const model = new MiewId(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m_tiny).train();
  const p = new Map(model.namedParameters()).get('pooling.p');
  assert.ok(p === model.pooling.p && p.requiresGrad, 'pooling.p is a trainable parameter');
  const before = p.item();
  const target = torch.randn([2, model.numFeatures]);
  const loss = torch.tidy(() => model.forward(torch.randn([2, 3, 64, 64])).mul(target).sum());
  loss.backward();
  const g = p.grad!;
  assert.ok(Number.isFinite(g.item()) && g.item() !== 0, `pooling.p gradient ${g.item()}`);
  new SGD(model.parameters(), { lr: 0.1 }).step();
  assert.ok(Math.abs(p.item() - before) > 0, 'p moved');
  for (const t of [loss, target]) t.dispose();
  model.dispose();
});
