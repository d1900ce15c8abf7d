import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

test('a libtorch error becomes a JS Error naming the op and the input shapes', () => {
  const a = torch.ones([2, 3]);
  assert.throws(() => a.matmul(a), /aten::matmul\(self: Float\[2, 3\], other: Float\[2, 3\]\).*cannot be multiplied/s);
  assert.throws(() => torch.F.conv2d(torch.ones([1, 3, 8, 8]), torch.ones([4, 2, 3, 3]), undefined), /aten::conv2d\(input: Float\[1, 3, 8, 8\], weight: Float\[4, 2, 3, 3\]/);
  assert.throws(() => a.add(torch.ones([4])), /aten::add\.Tensor.*size of tensor a \(3\) must match/s);
  assert.throws(() => torch.F.crossEntropy(torch.ones([2, 3]), torch.ones([2])), /cross_entropy_loss.*target: Float\[2\]/s);
  // The process survives and keeps working.
  assert.deepEqual(a.sum().item(), 6);
});

test('disposed tensors, bad shapes and bad arguments are clear errors', () => {
  const t = torch.ones([2]);
  t.dispose();
  assert.ok(t.isDisposed);
  assert.throws(() => t.add(1), /argument 'self': tensor was disposed/);
  assert.throws(() => t.shape, /tensor was disposed/);
  assert.throws(() => torch.tensor([1, 2, 3], [2, 2]), /shape \[2, 2\] holds 4 elements but data has 3/);
  assert.throws(() => torch.zeros([2, -1]), /Expected integer >= 0 for zeros\.shape\[1\] but received -1 of type number/);
  assert.throws(() => torch.ones([2]).reshape(1.5), /expected an integer, got 1\.5/);
  assert.throws(() => torch.F.dropout(torch.ones([2]), 2, true), /Expected number between 0 and 1 for dropout\.p but received 2 of type number/);
  assert.throws(() => torch.setNumThreads(0), /Expected positive integer for setNumThreads\.n but received 0/);
  assert.throws(() => torch.ones([3]).item(), /one element/);
  assert.throws(() => torch.tensor([1]).to('float33' as 'float32'), /Expected a dtype or a device \('cpu', 'cuda', 'cuda:N'\) for to\.target but received "float33"/);
  assert.throws(() => torch.tensor([1]).to('cuda:x' as 'float32'), /Expected a dtype or a device .* for to\.target but received "cuda:x"/);
  assert.throws(() => torch.zeros([2], { dtype: 'float33' as 'float32' }), /Expected one of .*float32.* for dtype but received "float33"/);
  assert.throws(() => torch.randint(3, 3, [2]), /Expected a number greater than low \(3\) for randint\.high but received 3/);
  assert.throws(() => torch.arange(0, 4, 0), /for arange\.step but received 0/);
  assert.throws(() => torch.cat([]), /Expected at least one tensor for cat\.tensors/);
  assert.throws(() => torch.manualSeed(-1), /for manualSeed\.seed but received -1/);
  assert.throws(() => torch.F.interpolate(torch.ones([1, 1, 2, 2]), { size: [4, 4], mode: 'area' as 'nearest' }), /Expected one of nearest, bilinear, bicubic for interpolate\.mode but received "area"/);
  assert.throws(() => torch.F.maxPool2d(torch.ones([1, 1, 4, 4]), 1.5), /Expected an integer or a pair of integers for maxPool2d\.kernelSize but received 1\.5/);
});

test('tidy frees what it does not return, even when fn throws', () => {
  let inner: torch.Tensor[] = [];
  const kept = torch.tidy(() => {
    const a = torch.ones([3]);
    const b = a.add(1);
    const c = b.mul(2);
    inner = [a, b];
    return { c };
  });
  assert.ok(inner.every((t) => t.isDisposed));
  assert.deepEqual(kept.c.toArray(), [4, 4, 4]);
  let leaked: torch.Tensor | undefined;
  assert.throws(() =>
    torch.tidy(() => {
      leaked = torch.ones([1]);
      throw new Error('boom');
    }),
  );
  assert.ok(leaked!.isDisposed);
  // Nested: the inner result survives the inner scope and is freed by the outer one.
  let innerResult: torch.Tensor | undefined;
  torch.tidy(() => {
    innerResult = torch.tidy(() => torch.ones([1]));
    assert.ok(!innerResult.isDisposed);
    return undefined;
  });
  assert.ok(innerResult!.isDisposed);
  // keep() escapes every scope.
  const p = torch.tidy(() => {
    torch.ones([1]).keep();
    return torch.zeros([1]).keep();
  });
  assert.ok(!p.isDisposed);
});

test('engine facts: version, threads', () => {
  const info = torch.buildInfo();
  assert.match(info.version, /^\d+\.\d+/);
  assert.ok(torch.getNumThreads() >= 1);
  const before = torch.getNumThreads();
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(before);
});
