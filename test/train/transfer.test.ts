import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { SGD } from '../../src/optim/index.js';
import { DenseHead } from '../../src/models/heads.js';
import { TransferModel, applyFreeze, countParameters, frozenModules, paramGroups, type TrainableBlocks } from '../../src/train/transfer.js';
import { TinyBackbone } from '../models/tiny_backbone.js';

const build = (trainableBlocks: TrainableBlocks): TransferModel<DenseHead, TinyBackbone> => {
  torch.manualSeed(0);
  return new TransferModel(new TinyBackbone(), new DenseHead(8, 3, { hiddenFeatures: 4, dropout: 0 }), { trainableBlocks });
};
const snapshot = (ts: [string, Tensor][]): Map<string, number[]> => new Map(ts.map(([k, t]) => [k, t.toArray()]));
const trainableNames = (m: TransferModel): string[] => m.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k);
const batch = (): { x: Tensor; y: Tensor } => ({ x: torch.randn([4, 3, 8, 8]), y: torch.tensor([0, 1, 2, 1], [4], { dtype: 'int64' }) });

/** One SGD step on a batch, in train mode, as a trainer would take it. */
function step(model: TransferModel<DenseHead, TinyBackbone>): void {
  const { x, y } = batch();
  model.train();
  const opt = new SGD(paramGroups(model, { lr: 0.1 }), { lr: 0.1 });
  opt.zeroGrad();
  torch.F.crossEntropy(model.forward(x), y).backward();
  opt.step();
}

describe('freezing', () => {
  test('frozen backbone: after a training step, gradients and updates only in the head', () => {
    const model = build(0);
    const before = snapshot(model.namedParameters());
    step(model);
    for (const [name, p] of model.namedParameters()) {
      const inHead = name.startsWith('head.');
      assert.equal(p.requiresGrad, inHead, `${name} requiresGrad`);
      assert.equal(p.grad !== undefined, inHead, `${name} has a gradient only if it trains`);
      assert.equal(JSON.stringify(p.toArray()) !== JSON.stringify(before.get(name)), inHead, `${name} changed only if it trains`);
    }
  });

  test('frozen BatchNorm keeps its running statistics through model.train() and forward', () => {
    const model = build(1);
    const stats = (): Map<string, number[]> => snapshot(model.backbone.namedBuffers().filter(([k]) => /running_(mean|var)$/.test(k)));
    const before = stats();
    step(model);
    step(model);
    const after = stats();
    for (const [name, v] of before) {
      const trains = name.startsWith('blocks.2.') || name.startsWith('norm.');
      assert.equal(JSON.stringify(after.get(name)) !== JSON.stringify(v), trains, `${name} changed only if its layer trains`);
    }
    assert.equal(model.backbone.stem.bn.training, false);
    assert.equal(model.backbone.stages.get(2).bn.training, true);
    assert.equal(model.head.training, true);
    model.eval();
    assert.equal(model.backbone.stages.get(2).bn.training, false);
  });

  test('trainableBlocks N unfreezes exactly the last N blocks (and what sits above them); N = all blocks includes the stem', () => {
    const expected: [TrainableBlocks, string[]][] = [
      [0, []],
      [1, ['blocks.2', 'norm']],
      [2, ['blocks.1', 'blocks.2', 'norm']],
      [3, ['stem', 'blocks.0', 'blocks.1', 'blocks.2', 'norm']],
      ['all', ['stem', 'blocks.0', 'blocks.1', 'blocks.2', 'norm']],
    ];
    for (const [n, parts] of expected) {
      const model = build(n);
      const want = model.backbone.namedParameters().map(([k]) => k).filter((k) => parts.some((p) => k.startsWith(`${p}.`)));
      assert.deepEqual(trainableNames(model).filter((k) => k.startsWith('backbone.')), want.map((k) => `backbone.${k}`), `trainableBlocks ${n}`);
    }
    const summary = applyFreeze(new TinyBackbone(), 2);
    assert.deepEqual(summary.trainableBlocks, ['blocks.1', 'blocks.2']);
    assert.deepEqual(summary.frozenBatchNorms, ['stem.bn', 'blocks.0.bn']);
  });

  test('setTrainableBlocks unfreezes later; the newly trainable BatchNorm follows train mode again', () => {
    const model = build(0);
    model.train();
    assert.equal(model.backbone.stages.get(2).bn.training, false);
    model.setTrainableBlocks(1);
    assert.equal(model.trainableBlocks, 1);
    assert.equal(model.backbone.stages.get(2).bn.training, true);
    assert.equal(model.backbone.stages.get(1).bn.training, false);
    assert.ok(model.backbone.stages.get(2).conv.weight.requiresGrad);
    assert.ok(!model.backbone.stages.get(1).conv.weight.requiresGrad);
  });

  test('a bad trainableBlocks names the parameter and the blocks', () => {
    assert.throws(() => frozenModules(new TinyBackbone(), 4), /Expected 'all' or an integer from 0 to 3 \(the backbone's blocks: blocks\.0, blocks\.1, blocks\.2\) for trainableBlocks but received 4 of type number/);
    assert.throws(() => build(-1), /trainableBlocks/);
    assert.throws(() => build('some' as TrainableBlocks), /trainableBlocks/);
  });
});

describe('parameter groups', () => {
  test('backbone at lr, head at lr * headLrMult; frozen parameters left out', () => {
    const model = build(1);
    const groups = paramGroups(model, { lr: 1e-3, headLrMult: 10 });
    assert.equal(groups.length, 2);
    assert.equal(groups[0]!.lr, 1e-3);
    assert.ok(Math.abs(groups[1]!.lr - 1e-2) < 1e-15);
    const trainableBackbone = model.backbone.parameters().filter((p) => p.requiresGrad);
    assert.deepEqual(groups[0]!.params, trainableBackbone);
    assert.deepEqual(groups[1]!.params, model.head.parameters());
    const opt = new SGD(groups, { lr: 1e-3 });
    assert.deepEqual(opt.paramGroups.map((g) => g.lr), [1e-3, groups[1]!.lr]);
  });

  test('a frozen backbone gives only the head group; bad options name the parameter', () => {
    const model = build(0);
    const groups = paramGroups(model, { lr: 0.01 });
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.lr, 0.01);
    assert.throws(() => paramGroups(model, { lr: -1 }), /for lr/);
    assert.throws(() => paramGroups(model, { lr: 1, headLrMult: NaN }), /for headLrMult/);
    model.head.requiresGrad_(false);
    assert.throws(() => paramGroups(model, { lr: 1 }), /no trainable parameters/);
  });
});

describe('Keras-style parameter counts', () => {
  // TinyBackbone: stem conv 3*4*9, bn 4; blocks conv 4*8*9, 8*8*9, 8*8*9, bn 8 each; norm 8.
  const convs = 3 * 4 * 9 + 4 * 8 * 9 + 8 * 8 * 9 * 2;
  const bnChannels = 4 + 8 * 3 + 8;
  const head = 8 * 4 + 4 + 4 * 3 + 3;

  test('unfrozen: trainable = all parameters, non-trainable = BatchNorm running mean and var', () => {
    const c = countParameters(build('all'));
    assert.deepEqual(c, { total: convs + 2 * bnChannels + head + 2 * bnChannels, trainable: convs + 2 * bnChannels + head, nonTrainable: 2 * bnChannels });
  });

  test('frozen backbone: frozen parameters move to non-trainable; the total stays', () => {
    const all = countParameters(build('all'));
    const c = countParameters(build(0));
    assert.equal(c.trainable, head);
    assert.equal(c.nonTrainable, convs + 2 * bnChannels + 2 * bnChannels);
    assert.equal(c.trainable + c.nonTrainable, c.total);
    assert.equal(c.total, all.total);
    const one = countParameters(build(1));
    assert.equal(one.trainable, head + 8 * 8 * 9 + 2 * 8 + 2 * 8);
    assert.equal(one.total, all.total);
  });
});
