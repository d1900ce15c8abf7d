import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BNAct, ClassifierHead, ConvNormAct, dropPath, symmetricPadding } from '../../src/models/layers.js';
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import { maxRelDiff } from './timm_fixture.js';

test('symmetricPadding is timm get_padding: ((s - 1) + d (k - 1)) / 2 per dim', () => {
  assert.deepEqual(symmetricPadding(3), [1, 1]);
  assert.deepEqual(symmetricPadding(3, 2), [1, 1]);
  assert.deepEqual(symmetricPadding(5, 2), [2, 2]);
  assert.deepEqual(symmetricPadding([1, 7]), [0, 3]);
  assert.deepEqual(symmetricPadding(3, 1, 2), [2, 2]);
});

test('BNAct keeps its keys on the module; ConvNormAct nests conv and bn', () => {
  assert.deepEqual([...new BNAct(4, 'relu').stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  const cna = new ConvNormAct(3, 8, 3, { stride: 2, act: 'silu', eps: 1e-3 });
  assert.deepEqual([...cna.stateDict().keys()], ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
  assert.deepEqual(cna.conv.padding, [1, 1]);
  assert.equal(cna.bn.eps, 1e-3);
  assert.equal(cna.conv.bias, undefined);
});

test('the in-place activation after BN gives the same values and gradients as the out-of-place one', () => {
  for (const act of ['relu', 'silu'] as const) {
    const bn = new BNAct(3, act);
    torch.tidy(() => {
      const x = torch.randn([2, 3, 5, 5]).requiresGrad_();
      const y = bn.forward(x);
      y.pow(2).sum().backward();
      const gIn = x.grad!;
      const gW = bn.weight!.grad!.clone();
      bn.zeroGrad();
      const x2 = x.detach().requiresGrad_();
      const plain = F.batchNorm(x2, { weight: bn.weight, bias: bn.bias, training: true, eps: bn.eps });
      const ref = act === 'relu' ? F.relu(plain) : F.silu(plain);
      ref.pow(2).sum().backward();
      assert.equal(maxRelDiff(y, ref), 0, `${act} values`);
      assert.ok(maxRelDiff(gIn, x2.grad!) < 1e-6, `${act} input gradient`);
      assert.ok(maxRelDiff(gW, bn.weight!.grad!) < 1e-6, `${act} weight gradient`);
      bn.zeroGrad();
    });
  }
});

test('dropPath drops whole samples with probability p and rescales the rest; identity in eval', () => {
  torch.tidy(() => {
    const x = torch.ones([4000, 2, 3, 3]);
    assert.equal(dropPath(x, 0.25, false), x);
    assert.equal(dropPath(x, 0, true), x);
    const y = dropPath(x, 0.25, true);
    const perSample = y.amax([1, 2, 3]).toArray();
    const minPerSample = y.flatten(1).min(1).values.toArray();
    assert.deepEqual(perSample, minPerSample, 'a sample is dropped or kept as a whole');
    assert.ok(perSample.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    const dropped = perSample.filter((v) => v === 0).length / perSample.length;
    assert.ok(Math.abs(dropped - 0.25) < 0.04, `dropped fraction ${dropped}`);
  });
});

test('ClassifierHead: a 1x1-conv fc equals the Linear fc with the same weights', () => {
  const linear = new ClassifierHead(6, 3).eval();
  const conv = new ClassifierHead(6, 3, { useConv: true }).eval();
  conv.loadStateDict(new Map([...linear.stateDict()].map(([k, t]) => [k, k.endsWith('weight') ? t.reshape(3, 6, 1, 1) : t])));
  torch.noGrad(() =>
    torch.tidy(() => {
      const x = torch.randn([2, 6, 4, 5]);
      assert.ok(maxRelDiff(conv.forward(x), linear.forward(x)) < 1e-6);
      assert.deepEqual(conv.forward(x, { preLogits: true }).shape, [2, 6]);
      assert.ok(maxRelDiff(linear.forward(x, { preLogits: true }), x.mean([2, 3])) < 1e-6);
    }),
  );
});
