import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';

test('backward fills grads of leaves; zeroGrad clears them', () => {
  const x = torch.tensor([1, 2, 3]).requiresGrad_();
  const y = x.mul(x).sum();
  assert.equal(y.gradFn, 'SumBackward0');
  y.backward();
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6]);
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [5, 7, 9], 'gradients accumulate');
  x.zeroGrad();
  assert.equal(x.grad, undefined);
  assert.ok(x.isLeaf);
  assert.ok(!y.isLeaf);
});

test('noGrad records nothing; detach cuts the graph', () => {
  const x = torch.tensor([1, 2]).requiresGrad_();
  const y = torch.noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(torch.isGradEnabled(), true);
  assert.equal(x.mul(2).detach().requiresGrad, false);
});

test('finite-difference gradients of elementwise ops and reductions (float64)', () => {
  const fns: [string, (t: torch.Tensor) => torch.Tensor][] = [
    ['exp', (t) => t.exp()],
    ['sqrt of abs+1', (t) => t.abs().add(1).sqrt()],
    ['pow 3', (t) => t.pow(3)],
    ['logsumexp', (t) => t.reshape(2, 3).logsumexp(1)],
    ['std', (t) => t.reshape(2, 3).std(1)],
    ['softmax', (t) => torch.F.softmax(t.reshape(2, 3), 1).mul(torch.tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'float64' }))],
    ['matmul', (t) => t.reshape(2, 3).matmul(t.reshape(3, 2))],
    ['gelu', (t) => torch.F.gelu(t)],
    ['normalize', (t) => torch.F.normalize(t.reshape(2, 3))],
  ];
  const base = [0.3, -0.7, 1.1, 0.5, -1.3, 0.9];
  for (const [name, fn] of fns) {
    const x = torch.tensor(base, [6], { dtype: 'float64' }).requiresGrad_();
    fn(x).sum().backward();
    const analytic = x.grad!.toArray();
    const h = 1e-6;
    const numeric = base.map((_, i) => {
      const plus = base.slice();
      const minus = base.slice();
      plus[i]! += h;
      minus[i]! -= h;
      const f = (v: number[]): number => torch.noGrad(() => fn(torch.tensor(v, [6], { dtype: 'float64' })).sum().item());
      return (f(plus) - f(minus)) / (2 * h);
    });
    analytic.forEach((g, i) => assert.ok(Math.abs(g - numeric[i]!) < 1e-5, `${name}: d/dx${i} analytic ${g} numeric ${numeric[i]}`));
  }
});
