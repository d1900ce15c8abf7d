// Finite-difference gradient check (float64), as torch.autograd.gradcheck: the gradient autograd
// computes for sum(fn() * w), w random, must match central differences for every element of every
// input (plain inputs or module parameters, perturbed in place).
import assert from 'node:assert/strict';
import { manualSeed, noGrad, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';

export function gradcheck(fn: () => Tensor, inputs: Tensor[], options: { eps?: number; atol?: number; rtol?: number } = {}): void {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3 } = options;
  tidy(() => {
    for (const t of inputs) {
      assert.equal(t.dtype, 'float64', 'gradcheck needs float64 inputs');
      t.requiresGrad_(true).zeroGrad();
    }
    const out = fn();
    manualSeed(1234);
    const w = randn(out.shape, { dtype: 'float64' });
    out.mul(w).sum().backward();
    const objective = (): number => noGrad(() => tidy(() => fn().mul(w).sum().item()));
    for (const [k, t] of inputs.entries()) {
      const analytic = t.grad!.toArray();
      const values = t.toArray();
      const set = (): void => void noGrad(() => t.copy_(tensor(values, t.shape, { dtype: 'float64' })));
      for (let j = 0; j < values.length; j++) {
        const v = values[j]!;
        values[j] = v + eps;
        set();
        const plus = objective();
        values[j] = v - eps;
        set();
        const minus = objective();
        values[j] = v;
        set();
        const numeric = (plus - minus) / (2 * eps);
        assert.ok(Math.abs(analytic[j]! - numeric) <= atol + rtol * Math.abs(numeric), `input ${k} element ${j}: autograd ${analytic[j]} vs finite difference ${numeric}`);
      }
    }
  });
}
