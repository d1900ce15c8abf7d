import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zeros } from '../../src/torch/index.js';
import { Adam, MultiStepLR, OneCycleLR, SGD, StepLR, WarmupCosineLR, type LRScheduler, type Optimizer } from '../../src/optim/index.js';

// Reference sequences from PyTorch 1.13: the LR (and momentum) in effect before each of n steps.
//   def seq(make, n, opt_cls=SGD, key=None, **okw):
//       opt = opt_cls([torch.zeros(1, requires_grad=True)], lr=1.0, **okw); s = make(opt); lrs, moms = [], []
//       for i in range(n):
//           g = opt.param_groups[0]; lrs.append(g['lr'])
//           if key: moms.append(g['betas'][0] if key == 'betas' else g['momentum'])
//           opt.step(); s.step()
//       return lrs, moms

const sgd = (lr = 1.0, momentum = 0): SGD => new SGD([zeros([1]).requiresGrad_()], { lr, momentum });

function sequence(opt: Optimizer, s: LRScheduler, n: number, momentum?: () => number): { lrs: number[]; moms: number[] } {
  const lrs: number[] = [];
  const moms: number[] = [];
  for (let i = 0; i < n; i++) {
    lrs.push(opt.paramGroups[0]!.lr);
    if (momentum) moms.push(momentum());
    s.step();
  }
  return { lrs, moms };
}

function assertClose(actual: number[], expected: number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `step ${i}: ${v} vs ${expected[i]}`));
}

test('StepLR decays by gamma every stepSize steps', () => {
  // seq(lambda o: StepLR(o, step_size=3, gamma=0.5), 10)
  const opt = sgd();
  const { lrs } = sequence(opt, new StepLR(opt, { stepSize: 3, gamma: 0.5 }), 10);
  assertClose(lrs, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]);
});

test('MultiStepLR decays at each milestone, counting repeats', () => {
  // seq(lambda o: MultiStepLR(o, milestones=[2, 5, 5], gamma=0.1), 8)
  const opt = sgd();
  const { lrs } = sequence(opt, new MultiStepLR(opt, { milestones: [5, 2, 5] }), 8);
  assertClose(lrs, [1.0, 1.0, 0.1, 0.1, 0.1, 0.001, 0.001, 0.001]);
});

test('WarmupCosineLR without warmup is cosine annealing', () => {
  // seq(lambda o: CosineAnnealingLR(o, T_max=8, eta_min=0.01), 9)
  const opt = sgd();
  const { lrs } = sequence(opt, new WarmupCosineLR(opt, { totalSteps: 8, minLr: 0.01 }), 9);
  assertClose(lrs, [1.0, 0.9623203685930869, 0.855017856687341, 0.6944282990207195, 0.5049999999999999, 0.3155717009792805, 0.15498214331265897, 0.04767963140691306, 0.01]);
});

test('WarmupCosineLR: linear warmup to the base LR, cosine to minLr, then flat', () => {
  const opt = new SGD([{ params: [zeros([1]).requiresGrad_()], lr: 0.1 }, { params: [zeros([1]).requiresGrad_()], lr: 1 }], { lr: 1 });
  const s = new WarmupCosineLR(opt, { warmupSteps: 4, totalSteps: 14, warmupStartFactor: 0.2 });
  const { lrs } = sequence(opt, s, 16);
  assertClose(lrs.slice(0, 5), [0.02, 0.04, 0.06, 0.08, 0.1]);
  assertClose([lrs[9]!], [0.05], 1e-15);
  assertClose(lrs.slice(14), [0, 0]);
  assert.ok(lrs.slice(4, 15).every((v, i, a) => i === 0 || v < a[i - 1]!), 'decreasing after warmup');
  assertClose(s.getLastLr(), [0, 0]);
  assertClose(opt.getLr(), [0, 0]);
});

test('OneCycleLR (cos) matches PyTorch: LR peak at pctStart, momentum cycled inversely', () => {
  // seq(lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10), 10, key='momentum', momentum=0.9)
  const opt = sgd(1.0, 0.9);
  const s = new OneCycleLR(opt, { maxLr: 1.0, totalSteps: 10 });
  const { lrs, moms } = sequence(opt, s, 10, () => opt.paramGroups[0]!.momentum);
  assertClose(lrs, [0.040000000000000036, 0.52, 1.0, 0.9504846320134737, 0.8117456539497631, 0.6112620219362893, 0.38874197806371075, 0.18825834605023697, 0.049519367986526286, 4e-6]);
  assertClose(moms, [0.95, 0.8999999999999999, 0.85, 0.854951556604879, 0.8688255099070633, 0.8888739533021842, 0.9111260466978157, 0.9311744900929366, 0.945048443395121, 0.95]);
  assert.equal(Math.max(...lrs), 1.0);
  assert.throws(() => s.step(), /tried to step 11 times/);
});

test("OneCycleLR three-phase, linear, on Adam's beta1 matches PyTorch", () => {
  // seq(lambda o: OneCycleLR(o, max_lr=0.5, total_steps=12, three_phase=True, anneal_strategy='linear', pct_start=0.25), 12, opt_cls=Adam, key='betas')
  const opt = new Adam([zeros([1]).requiresGrad_()], { lr: 1.0 });
  const s = new OneCycleLR(opt, { maxLr: 0.5, totalSteps: 12, threePhase: true, annealStrategy: 'linear', pctStart: 0.25 });
  const { lrs, moms } = sequence(opt, s, 12, () => opt.paramGroups[0]!.betas[0]);
  assertClose(lrs, [0.02, 0.26, 0.5, 0.26, 0.020000000000000018, 0.017143142857142857, 0.014286285714285715, 0.011429428571428571, 0.00857257142857143, 0.005715714285714284, 0.002858857142857142, 1.9999999999985307e-6]);
  assertClose(moms, [0.95, 0.8999999999999999, 0.85, 0.8999999999999999, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]);
  assert.equal(opt.paramGroups[0]!.betas[1], 0.999);
  // After the last step the LR rests at the final value (PyTorch extrapolates below it, here to -0.00285).
  assertClose(opt.getLr(), [0.5 / 25 / 1e4]);
});

test('OneCycleLR takes a peak per group and epochs x stepsPerEpoch', () => {
  const opt = new SGD([{ params: [zeros([1]).requiresGrad_()] }, { params: [zeros([1]).requiresGrad_()] }], { lr: 1 });
  const s = new OneCycleLR(opt, { maxLr: [0.01, 0.1], epochs: 2, stepsPerEpoch: 5, cycleMomentum: false });
  assert.equal(s.totalSteps, 10);
  for (let i = 0; i < 2; i++) s.step();
  assertClose(opt.getLr(), [0.01, 0.1]);
  assert.equal(opt.paramGroups[0]!.momentum, 0);
});

test('scaleLr lowers the whole schedule from now on (ReduceLROnPlateau on a schedule)', () => {
  const opt = sgd();
  const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
  s.step();
  s.scaleLr(0.1);
  assertClose(opt.getLr(), [0.1]);
  s.step();
  assertClose(opt.getLr(), [0.05]);
});

test('schedulers resume exactly from their state dict', () => {
  const make = (opt: SGD): LRScheduler => new WarmupCosineLR(opt, { warmupSteps: 3, totalSteps: 20, minLr: 1e-4 });
  const a = sgd(0.3);
  const sa = make(a);
  for (let i = 0; i < 7; i++) sa.step();
  sa.scaleLr(0.5);
  const saved = JSON.parse(JSON.stringify(sa.stateDict())) as ReturnType<LRScheduler['stateDict']>;
  assert.deepEqual(saved, { lastEpoch: 7, baseLrs: [0.15] });
  const b = sgd(0.3);
  const sb = make(b);
  sb.loadStateDict(saved);
  assert.deepEqual(b.getLr(), a.getLr());
  for (let i = 0; i < 5; i++) {
    sa.step();
    sb.step();
    assert.deepEqual(b.getLr(), a.getLr());
  }
});
