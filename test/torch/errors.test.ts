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
  assert.throws(() => torch.zeros([2, -1]), /shape\[1\] must be a non-negative integer/);
  assert.throws(() => torch.ones([2]).reshape(1.5), /expected an integer, got 1\.5/);
  assert.throws(() => torch.F.dropout(torch.ones([2]), 2, true), /p must be in \[0, 1\]/);
  assert.throws(() => torch.setNumThreads(0), /positive integer/);
  assert.throws(() => torch.ones([3]).item(), /one element/);
  assert.throws(() => torch.tensor([1]).to('float33' as 'float32'), /expected a dtype or a device/);
  assert.throws(() => torch.tensor([1]).to('cuda:x' as 'float32'), /expected a dtype or a device/);
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
