import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { DType } from '../../src/torch/index.js';
import type { StateDict } from '../../src/nn/index.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { hubRepo, loadWeights } from '../../src/models/weights.js';
import { registerModel } from '../../src/models/registry.js';
import '../../src/models/vgg.js'; // registers vgg16 and vgg16_tiny (no pretrained weights)
import { JointHead } from '../../src/models/arcface.js';
import { SGD } from '../../src/optim/index.js';
import { TransferModel, paramGroups } from '../../src/train/transfer.js';
import { TinyBackbone } from './tiny_backbone.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finprint-weights-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const values = (sd: StateDict): Record<string, number[]> => Object.fromEntries([...sd].map(([k, t]) => [k, t.toArray()]));
/** The state dict with floating tensors cast to dtype (integers kept, as a checkpoint writer does). */
const cast = (sd: StateDict, dtype: DType): StateDict => new Map([...sd].map(([k, t]) => [k, torch.isFloating(t.dtype) ? t.to(dtype) : t]));
/** A trained-looking source model: seeded, with non-default BN statistics. */
function source(numClasses: number): TinyBackbone {
  torch.manualSeed(7);
  const m = new TinyBackbone(numClasses);
  m.train();
  m.forwardFeatures(torch.randn([2, 3, 8, 8]));
  return m;
}

describe('loadWeights', () => {
  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    test(`loads a ${dtype} checkpoint into float32 tensors`, async () => {
      const src = source(5);
      const file = join(dir, `tiny-${dtype}.safetensors`);
      await saveSafetensors(file, cast(src.stateDict(), dtype));
      torch.manualSeed(99);
      const model = new TinyBackbone(5);
      const report = await loadWeights(model, file);
      assert.deepEqual(report.loaded, [...model.stateDict().keys()]);
      assert.deepEqual(report.ignored, []);
      const expected = cast(cast(src.stateDict(), dtype), 'float32');
      assert.deepEqual(values(model.stateDict()), values(expected));
      for (const [k, t] of model.stateDict()) assert.equal(t.dtype, k.endsWith('num_batches_tracked') ? 'int64' : 'float32', k);
    });
  }

  test('ignoreHead with named prefixes: the rest loads, the head keeps its own weights', async () => {
    const file = join(dir, 'tiny-10.safetensors');
    await saveSafetensors(file, source(10).stateDict());
    torch.manualSeed(99);
    const model = new TinyBackbone(5);
    const headBefore = model.head!.fc.weight.toArray();
    const report = await loadWeights(model, file, { ignoreHead: ['head.fc'] });
    assert.deepEqual(report.ignored.sort(), ['head.fc.bias', 'head.fc.weight']);
    assert.deepEqual(report.kept, ['head.fc.weight', 'head.fc.bias']);
    assert.deepEqual(model.head!.fc.weight.toArray(), headBefore);
    assert.deepEqual(model.stem.conv.weight.toArray(), source(10).stem.conv.weight.toArray());
  });

  test('ignoreHead: true uses the classifier prefixes (also when the classes match)', async () => {
    const file = join(dir, 'tiny-5.safetensors');
    await saveSafetensors(file, source(5).stateDict());
    const model = new TinyBackbone(5);
    const headBefore = model.head!.fc.bias!.toArray();
    const report = await loadWeights(model, file, { ignoreHead: true, classifier: ['head.fc'] });
    assert.deepEqual(report.ignored.sort(), ['head.fc.bias', 'head.fc.weight']);
    assert.deepEqual(model.head!.fc.bias!.toArray(), headBefore);
    await assert.rejects(loadWeights(model, file, { ignoreHead: true }), /needs the classifier prefixes.* for ignoreHead but received true/);
  });

  test('with the classifier prefixes known, a head of another size or none is dropped as timm does', async () => {
    const file = join(dir, 'tiny-10.safetensors');
    await saveSafetensors(file, source(10).stateDict());
    const other = await loadWeights(new TinyBackbone(5), file, { classifier: ['head.fc'] });
    assert.deepEqual(other.ignored.sort(), ['head.fc.bias', 'head.fc.weight']);
    const none = await loadWeights(new TinyBackbone(0), file, { classifier: ['head.fc'] });
    assert.deepEqual(none.ignored.sort(), ['head.fc.bias', 'head.fc.weight']);
    assert.deepEqual(none.kept, []);
    const same = await loadWeights(new TinyBackbone(10), file, { classifier: ['head.fc'] });
    assert.deepEqual(same.ignored, [], 'a head that fits is loaded');
  });

  test('a removed classifier takes its parent module along (LeViT: head.bn goes with head.linear)', async () => {
    const file = join(dir, 'tiny-normed-head.safetensors');
    await saveSafetensors(file, new Map([...source(10).stateDict(), ['head.bn.weight', torch.ones([8])]]));
    const none = await loadWeights(new TinyBackbone(0), file, { classifier: ['head.fc'] });
    assert.deepEqual(none.ignored.sort(), ['head.bn.weight', 'head.fc.bias', 'head.fc.weight']);
    // A model that has a head must match everything in it but the classifier.
    await assert.rejects(loadWeights(new TinyBackbone(5), file, { classifier: ['head.fc'] }), /ignored head prefixes: head\.fc\)\n[^]*Unexpected key\(s\) in state_dict: "head\.bn\.weight"/);
  });

  test('a checkpoint that does not fit fails listing every key, and copies nothing', async () => {
    const sd = source(10).stateDict();
    const broken: StateDict = new Map(sd);
    broken.set('blocks.0.conv.weight', torch.zeros([8, 4, 1, 1]));
    broken.delete('norm.weight');
    broken.set('extra.weight', torch.zeros([2]));
    const file = join(dir, 'broken.safetensors');
    await saveSafetensors(file, broken);
    const model = new TinyBackbone(5);
    const before = values(model.stateDict());
    await assert.rejects(loadWeights(model, file), (err: Error) => {
      assert.match(err.message, /broken\.safetensors: the checkpoint does not fit the model \(no head prefixes ignored; pass ignoreHead/);
      assert.match(err.message, /Missing key\(s\) in state_dict: "norm\.weight"/);
      assert.match(err.message, /Unexpected key\(s\) in state_dict: "extra\.weight"/);
      assert.match(err.message, /size mismatch for blocks\.0\.conv\.weight: copying a param with shape \[8, 4, 1, 1\]/);
      assert.match(err.message, /size mismatch for head\.fc\.weight/);
      return true;
    });
    // Ignoring the head leaves the problems outside it.
    await assert.rejects(loadWeights(model, file, { ignoreHead: ['head'] }), (err: Error) => {
      assert.match(err.message, /ignored head prefixes: head\)\n/);
      assert.doesNotMatch(err.message, /head\.fc/);
      assert.match(err.message, /norm\.weight/);
      return true;
    });
    assert.deepEqual(values(model.stateDict()), before);
  });

  test("the model's checkpoint filter is applied first", async () => {
    class Renaming extends TinyBackbone {
      override filterCheckpoint(sd: StateDict): StateDict {
        return new Map([...sd].map(([k, t]) => [k.replace(/^classifier\./, 'head.fc.'), t]));
      }
    }
    const sd = source(5).stateDict();
    const file = join(dir, 'torchvision-names.safetensors');
    await saveSafetensors(file, new Map([...sd].map(([k, t]) => [k.replace(/^head\.fc\./, 'classifier.'), t])));
    const model = new Renaming(5);
    await loadWeights(model, file);
    assert.deepEqual(model.head!.fc.weight.toArray(), sd.get('head.fc.weight')!.toArray());
  });

  test("prefix takes one part of a checkpoint: the backbone of a finprint run's TransferModel", async () => {
    const src = source(0);
    const run = new TransferModel(src, new JointHead(8, 6, 3, { neck: { embeddingDim: 6 } }));
    const file = join(dir, 'run-best.safetensors');
    await saveSafetensors(file, run.stateDict());
    torch.manualSeed(99);
    const model = new TinyBackbone(0);
    const report = await loadWeights(model, file, { prefix: 'backbone' });
    assert.deepEqual(report.loaded, [...model.stateDict().keys()]);
    assert.deepEqual(values(model.stateDict()), values(src.stateDict()));
    await assert.rejects(loadWeights(new TinyBackbone(0), file, { prefix: 'neck' }), /no keys under 'neck\.'/);
  });

  test('bad arguments name the parameter', async () => {
    await assert.rejects(loadWeights(new TinyBackbone(), 'x.safetensors', { prefix: 'backbone.' }), /for prefix/);
    await assert.rejects(loadWeights(new TinyBackbone(), ''), /for file/);
    await assert.rejects(loadWeights(new TinyBackbone(), 'x.safetensors', { ignoreHead: ['head.'] }), /for ignoreHead/);
  });
});

test('round trip: a trained model saved and loaded into a fresh one gives identical outputs', async () => {
  torch.manualSeed(11);
  const make = (): TransferModel<JointHead, TinyBackbone> => new TransferModel(new TinyBackbone(), new JointHead(8, 4, 2, { neck: { embeddingDim: 6 } }), { trainableBlocks: 2 });
  const model = make();
  const opt = new SGD(paramGroups(model, { lr: 0.05, headLrMult: 2 }), { lr: 0.05, momentum: 0.9 });
  const ids = torch.tensor([0, 1, 2, 3], [4], { dtype: 'int64' });
  const species = torch.tensor([0, 1, 0, 1], [4], { dtype: 'int64' });
  for (let i = 0; i < 3; i++) {
    model.train();
    opt.zeroGrad();
    const out = model.forward(torch.randn([4, 3, 8, 8]), ids);
    model.head.loss(out, { individual: ids, species }).loss.backward();
    opt.step();
  }
  const file = join(dir, 'trained.safetensors');
  await saveSafetensors(file, model.stateDict());
  torch.manualSeed(12);
  const fresh = make();
  await loadWeights(fresh, file);
  model.eval();
  fresh.eval();
  const x = torch.randn([3, 3, 8, 8]);
  const [a, b] = [model.forward(x), fresh.forward(x)];
  for (const k of ['embedding', 'individual', 'species'] as const) assert.deepEqual(b[k].toArray(), a[k].toArray(), k);
  assert.deepEqual(values(fresh.stateDict()), values(model.stateDict()));
});

describe('hubRepo', () => {
  test('the registered default, or timm/<name>.<tag>', () => {
    registerModel({
      name: 'weights_test_net',
      family: 'test',
      testVariant: true,
      pretrainedCfg: { hfHubId: 'timm/weights_test_net.a1_in1k', inputSize: [3, 8, 8], interpolation: 'bilinear', cropPct: 1, mean: [0, 0, 0], std: [1, 1, 1], fixedInputSize: false, classifier: ['head.fc'], numClasses: 5 },
      create: ({ numClasses }) => new TinyBackbone(numClasses),
    });
    assert.equal(hubRepo('weights_test_net'), 'timm/weights_test_net.a1_in1k');
    assert.equal(hubRepo('weights_test_net', 'b2_in1k'), 'timm/weights_test_net.b2_in1k');
    assert.equal(hubRepo('vgg16', 'tv_in1k'), 'timm/vgg16.tv_in1k');
    assert.equal(hubRepo('vgg16.tv_in1k'), 'timm/vgg16.tv_in1k');
    assert.throws(() => hubRepo('vgg16.tv_in1k', 'other'), /already names tag 'tv_in1k'/);
    assert.throws(() => hubRepo('no_such_model'), /Expected one of .+ for model but received "no_such_model" of type string/);
    assert.throws(() => hubRepo('../etc'), /for name/);
    assert.throws(() => hubRepo('vgg16', 'a/b'), /for tag/);
  });

  test('a model without a hub repository (a test variant) says it has no pretrained weights, and which models have', () => {
    assert.throws(() => hubRepo('vgg16_tiny'), (err: Error) => {
      assert.match(err.message, /^no pretrained weights for vgg16_tiny \(models with pretrained weights: .*\bvgg16\b.*\)$/);
      assert.doesNotMatch(err.message, /vgg16_tiny,|vgg16_tiny\)|Expected a hub repository/);
      return true;
    });
  });
});
