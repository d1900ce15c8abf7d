import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

const { F } = torch;
const close = (a: number[], b: number[], tol = 1e-5): void => {
  assert.equal(a.length, b.length, `length ${a.length} != ${b.length}`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol, `element ${i}: ${v} != ${b[i]}`));
};

test('creation: typed arrays, constants, ranges, dtypes', () => {
  const t = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(Array.from(t.toFloat32Array()), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(torch.zeros([2, 2]).toArray(), [0, 0, 0, 0]);
  assert.deepEqual(torch.ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
  assert.deepEqual(torch.full([2], 7.5).toArray(), [7.5, 7.5]);
  assert.deepEqual(torch.arange(2, 8, 2).toArray(), [2, 4, 6]);
  assert.equal(torch.arange(3).dtype, 'int64');
  assert.equal(torch.arange(0, 1, 0.5).dtype, 'float32');
  close(torch.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(torch.eye(2).toArray(), [1, 0, 0, 1]);
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'] as const) {
    const x = torch.tensor([1, 0, 1], [3], { dtype });
    assert.equal(x.dtype, dtype);
    assert.deepEqual(x.toArray(), [1, 0, 1], dtype);
  }
  assert.equal(torch.tensor(new BigInt64Array([5n]), []).item(), 5);
});

test('random numbers repeat under manualSeed, and RNG state restores exactly', () => {
  torch.manualSeed(42);
  const a = torch.randn([5]).toArray();
  torch.manualSeed(42);
  assert.deepEqual(torch.randn([5]).toArray(), a);
  const state = torch.getRngState();
  const b = torch.rand([4]).toArray();
  torch.setRngState(state);
  assert.deepEqual(torch.rand([4]).toArray(), b);
  const r = torch.randint(3, 6, [1000]).toArray();
  assert.ok(r.every((v) => v >= 3 && v < 6));
  assert.deepEqual(new Set(r), new Set([3, 4, 5]));
  assert.deepEqual([...torch.randperm(6).toArray()].sort(), [0, 1, 2, 3, 4, 5]);
});

test('views and shape ops', () => {
  const x = torch.arange(24, undefined, 1, { dtype: 'float32' }).reshape(2, 3, 4);
  assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
  assert.deepEqual(x.transpose(0, 2).contiguous().view(4, 6).shape, [4, 6]);
  assert.deepEqual(x.flatten(1).shape, [2, 12]);
  assert.deepEqual(x.unsqueeze(0).squeeze(0).shape, [2, 3, 4]);
  assert.deepEqual(torch.ones([1, 3]).expand(2, 3).shape, [2, 3]);
  assert.deepEqual(x.slice(2, 1, 3).toArray().slice(0, 4), [1, 2, 5, 6]);
  assert.deepEqual(x.narrow(1, 2, 1).flatten().toArray(), [8, 9, 10, 11, 20, 21, 22, 23]);
  assert.deepEqual(x.select(0, 1).shape, [3, 4]);
  const idx = torch.tensor([2, 0], [2], { dtype: 'int64' });
  assert.deepEqual(x.select(0, 0).indexSelect(0, idx).toArray(), [8, 9, 10, 11, 0, 1, 2, 3]);
  const g = torch.tensor([3, 0, 1], [3, 1], { dtype: 'int64' });
  assert.deepEqual(x.select(0, 0).gather(1, g).toArray(), [3, 4, 9]);
  assert.deepEqual(torch.cat([torch.ones([1, 2]), torch.zeros([2, 2])]).shape, [3, 2]);
  assert.deepEqual(torch.stack([torch.ones([2]), torch.zeros([2])], 1).toArray(), [1, 0, 1, 0]);
  assert.deepEqual(x.split(1, 1).map((t) => t.shape[1]), [1, 1, 1]);
  assert.deepEqual(x.split([1, 3], 2).map((t) => t.shape[2]), [1, 3]);
  assert.equal(x.chunk(2, 0).length, 2);
  assert.deepEqual(torch.tensor([1, 2, 3]).flip(0).toArray(), [3, 2, 1]);
  assert.deepEqual(torch.tensor([1, 2, 3]).roll(1, 0).toArray(), [3, 1, 2]);
  assert.deepEqual(F.pad(torch.ones([1, 1, 1, 1]), [1, 0, 0, 1]).shape, [1, 1, 2, 2]);
  assert.deepEqual(F.pad(torch.tensor([1, 2, 3], [1, 1, 3]), [2, 0], 'reflect').toArray(), [3, 2, 1, 2, 3]);
  const v = x.view(6, 4);
  assert.ok(v.handle.sameStorage(x.handle), 'view shares storage');
});

test('elementwise math, comparisons and reductions', () => {
  const x = torch.tensor([-2, -0.5, 0, 1, 4]);
  close(x.abs().toArray(), [2, 0.5, 0, 1, 4]);
  close(x.sign().toArray(), [-1, -1, 0, 1, 1]);
  close(x.clamp(-1, 1).toArray(), [-1, -0.5, 0, 1, 1]);
  close(x.pow(2).toArray(), [4, 0.25, 0, 1, 16]);
  close(x.exp().log().toArray(), x.toArray());
  close(torch.tensor([4, 9]).sqrt().toArray(), [2, 3]);
  close(torch.tensor([4, 16]).rsqrt().toArray(), [0.5, 0.25]);
  assert.deepEqual(x.gt(0).toArray(), [0, 0, 0, 1, 1]);
  assert.equal(x.gt(0).dtype, 'bool');
  close(x.maskedFill(x.lt(0), 9).toArray(), [9, 9, 0, 1, 4]);
  close(x.where(x.ge(0), torch.zeros([5])).toArray(), [0, 0, 0, 1, 4]);
  const m = torch.tensor([1, 5, 3, 2, 8, 0], [2, 3]);
  close(m.sum(1).toArray(), [9, 10]);
  close(m.mean(0, true).toArray(), [1.5, 6.5, 1.5]);
  assert.deepEqual(m.mean(0, true).shape, [1, 3]);
  assert.deepEqual(m.argmax(1).toArray(), [1, 1]);
  assert.equal(m.max().item(), 8);
  assert.equal(m.min().item(), 0);
  close(m.std(1).toArray(), [2, Math.sqrt(52 / 3)]);
  close(m.var(1, { correction: 0 }).toArray(), [8 / 3, 104 / 9], 1e-5);
  close(torch.tensor([0, 0]).logsumexp(0).toArray(), [Math.log(2)]);
  const { values, indices } = torch.tensor([3, 1, 4, 1, 5]).topk(2);
  assert.deepEqual(values.toArray(), [5, 4]);
  assert.deepEqual(indices.toArray(), [4, 2]);
  assert.deepEqual(torch.tensor([3, 1, 2]).sort().values.toArray(), [1, 2, 3]);
  assert.deepEqual(torch.tensor([3, 1, 2]).sort(-1, true).indices.toArray(), [0, 2, 1]);
});

test('linear algebra and network functions', () => {
  const a = torch.tensor([1, 2, 3, 4], [2, 2]);
  close(a.matmul(a).toArray(), [7, 10, 15, 22]);
  close(a.unsqueeze(0).bmm(a.unsqueeze(0)).flatten().toArray(), [7, 10, 15, 22]);
  close(F.linear(torch.tensor([1, 1], [1, 2]), a, torch.tensor([1, -1])).toArray(), [4, 6]);
  // 3x3 ones kernel over a 4x4 ones image: interior 9, edges 6, corners 4 with padding 1.
  const img = torch.ones([1, 1, 4, 4]);
  const k = torch.ones([1, 1, 3, 3]);
  close(F.conv2d(img, k, undefined, { padding: 1 }).toArray().slice(0, 4), [4, 6, 6, 4]);
  assert.deepEqual(F.conv2d(img, k, undefined, { stride: 2, padding: [0, 1, 0, 1] }).shape, [1, 1, 2, 2]);
  assert.deepEqual(F.conv2d(torch.ones([1, 4, 5, 5]), torch.ones([4, 1, 3, 3]), undefined, { groups: 4, dilation: 2 }).shape, [1, 4, 1, 1]);
  const p = torch.arange(16, undefined, 1, { dtype: 'float32' }).reshape(1, 1, 4, 4);
  close(F.maxPool2d(p, 2).flatten().toArray(), [5, 7, 13, 15]);
  close(F.avgPool2d(p, 2).flatten().toArray(), [2.5, 4.5, 10.5, 12.5]);
  assert.deepEqual(F.maxPool2d(torch.ones([1, 1, 5, 5]), 2, { ceilMode: true }).shape, [1, 1, 3, 3]);
  close(F.avgPool2d(torch.ones([1, 1, 2, 2]), 3, { stride: 1, padding: 1, countIncludePad: false }).flatten().toArray(), [1, 1, 1, 1]);
  close(F.adaptiveAvgPool2d(p, 1).flatten().toArray(), [7.5]);
  close(F.adaptiveMaxPool2d(p, 1).flatten().toArray(), [15]);
  close(F.relu6(torch.tensor([-1, 3, 9])).toArray(), [0, 3, 6]);
  close(F.silu(torch.tensor([0, 1])).toArray(), [0, 1 / (1 + Math.exp(-1))]);
  close(F.gelu(torch.tensor([1])).toArray(), [0.8413447]);
  close(F.gelu(torch.tensor([1]), 'tanh').toArray(), [0.8411920]);
  close(F.hardswish(torch.tensor([-4, 1, 4])).toArray(), [0, 4 / 6, 4]);
  close(F.hardsigmoid(torch.tensor([-4, 0, 4])).toArray(), [0, 0.5, 1]);
  close(F.softmax(torch.tensor([0, Math.log(3)]), 0).toArray(), [0.25, 0.75]);
  close(F.logSoftmax(torch.tensor([0, 0]), 0).toArray(), [Math.log(0.5), Math.log(0.5)]);
  close(F.normalize(torch.tensor([3, 4], [1, 2])).toArray(), [0.6, 0.8]);
  close(F.interpolate(torch.tensor([1, 2, 3, 4], [1, 1, 2, 2]), { scaleFactor: 2 }).flatten().toArray().slice(0, 4), [1, 1, 2, 2]);
  assert.deepEqual(F.interpolate(torch.ones([1, 3, 4, 4]), { size: [7, 5], mode: 'bicubic' }).shape, [1, 3, 7, 5]);
  close(F.interpolate(torch.tensor([0, 2], [1, 1, 1, 2]), { size: [1, 3], mode: 'bilinear', alignCorners: true }).flatten().toArray(), [0, 1, 2]);
  // Layer norm of [1, 3] is [-1, 1]; batch norm in eval with stats (mean 1, var 4) is (x - 1) / 2.
  close(F.layerNorm(torch.tensor([1, 3], [1, 2]), [2]).toArray(), [-1, 1], 1e-4);
  const bn = F.batchNorm(torch.tensor([3, 5], [2, 1]), { runningMean: torch.tensor([1]), runningVar: torch.tensor([4]), training: false, eps: 0 });
  close(bn.toArray(), [1, 2]);
  close(F.groupNorm(torch.tensor([1, 3, 5, 7], [1, 4, 1, 1]), 2).flatten().toArray(), [-1, 1, -1, 1], 1e-4);
  assert.deepEqual(F.dropout(torch.ones([10]), 0.5, false).toArray(), new Array(10).fill(1));
  const dropped = F.dropout(torch.ones([1000]), 0.5, true).toArray();
  assert.ok(dropped.every((v) => v === 0 || v === 2));
});

test('losses', () => {
  const logits = torch.tensor([2, 0, 0, 0, 2, 0], [2, 3]);
  const target = torch.tensor([0, 2], [2], { dtype: 'int64' });
  const lse = Math.log(Math.exp(2) + 2);
  const want = ((lse - 2) + lse) / 2;
  close([F.crossEntropy(logits, target).item()], [want]);
  // Label smoothing eps: (1 - eps) * nll + eps * mean over classes of -log p.
  const eps = 0.3;
  const logp = [[2 - lse, -lse, -lse], [-lse, 2 - lse, -lse]];
  const smooth = [0, 1].map((i) => (1 - eps) * -logp[i]![[0, 2][i]!]! + (eps / 3) * -logp[i]!.reduce((a, b) => a + b, 0));
  close([F.crossEntropy(logits, target, { labelSmoothing: eps }).item()], [(smooth[0]! + smooth[1]!) / 2]);
  const w = torch.tensor([1, 1, 3]);
  close([F.crossEntropy(logits, target, { weight: w }).item()], [((lse - 2) + 3 * lse) / 4]);
  close([F.nllLoss(F.logSoftmax(logits, 1), target, { reduction: 'sum' }).item()], [2 * want]);
  close([F.binaryCrossEntropy(torch.tensor([0.5]), torch.tensor([1])).item()], [Math.log(2)]);
  close([F.binaryCrossEntropyWithLogits(torch.tensor([0]), torch.tensor([1])).item()], [Math.log(2)]);
});

test('attention equals softmax(q k^T / sqrt(d)) v', () => {
  const q = torch.tensor([1, 0], [1, 1, 2]);
  const k = torch.tensor([1, 0, 0, 1], [1, 2, 2]);
  const v = torch.tensor([1, 2, 3, 4], [1, 2, 2]);
  const p = Math.exp(1 / Math.SQRT2) / (Math.exp(1 / Math.SQRT2) + 1);
  close(F.scaledDotProductAttention(q, k, v).flatten().toArray(), [p * 1 + (1 - p) * 3, p * 2 + (1 - p) * 4]);
});
