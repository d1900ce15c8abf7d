import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ones, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import { Adam, AdamW, SGD, type Optimizer, type OptimizerStateDict } from '../../src/optim/index.js';

// A fixed least-squares problem. The reference numbers below come from PyTorch 1.13:
//   def run(make, steps=5):
//       w = torch.tensor([[0.5, -0.3, 0.8], [-0.2, 0.4, 0.1]], requires_grad=True)
//       b = torch.tensor([0.1, -0.1], requires_grad=True)
//       x = torch.tensor([[1., 2., 3.], [-1., 0.5, 2.], [0.3, -0.7, 1.], [2., 1., -1.]])
//       y = torch.tensor([[1., 0.], [0., 1.], [0.5, 0.5], [-1., 2.]])
//       opt = make([w, b])
//       for _ in range(steps):
//           opt.zero_grad(); loss = ((x @ w.T + b - y) ** 2).mean(); loss.backward(); opt.step()
//       return [round(v, 9) for v in w.flatten().tolist() + b.tolist()]
const X = tensor([1, 2, 3, -1, 0.5, 2, 0.3, -0.7, 1, 2, 1, -1], [4, 3]);
const Y = tensor([1, 0, 0, 1, 0.5, 0.5, -1, 2], [4, 2]);

function problem(): [Tensor, Tensor] {
  return [tensor([0.5, -0.3, 0.8, -0.2, 0.4, 0.1], [2, 3]).requiresGrad_(), tensor([0.1, -0.1]).requiresGrad_()];
}

function train(opt: Optimizer, [w, b]: Tensor[], steps: number): void {
  for (let i = 0; i < steps; i++) {
    tidy(() => {
      opt.zeroGrad();
      X.matmul(w!.mT).add(b!).sub(Y).pow(2).mean().backward();
      opt.step();
    });
  }
}

function run(make: (params: Tensor[]) => Optimizer, steps = 5): number[] {
  const params = problem();
  train(make(params), params, steps);
  return params.flatMap((p) => p.toArray());
}

function assertClose(actual: number[], expected: number[], tol = 5e-7): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `element ${i}: ${v} vs PyTorch ${expected[i]}`));
}

test('SGD with momentum, dampening and weight decay matches PyTorch', () => {
  // run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01))
  const expected = [0.127474889, -0.600536764, 0.397883266, 0.40393129, 0.384316891, -0.375288218, -0.448184192, 0.636621594];
  assertClose(run((p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 })), expected);
});

test('SGD with Nesterov momentum matches PyTorch', () => {
  // run(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True))
  const expected = [0.201810226, -0.455221385, 0.614337325, 0.310423106, 0.298831671, -0.354460031, -0.411406249, 0.790953159];
  assertClose(run((p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true })), expected);
});

test('Adam with L2 weight decay matches PyTorch', () => {
  // run(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), weight_decay=0.05))
  const expected = [0.155410364, -0.606278718, 0.443200618, 0.227408692, 0.308882117, -0.270092815, -0.300323963, 0.393314779];
  assertClose(run((p) => new Adam(p, { lr: 0.1, betas: [0.8, 0.99], weightDecay: 0.05 })), expected);
});

test('Adam with AMSGrad matches PyTorch', () => {
  // run(lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True))
  const expected = [0.139048874, -0.641124129, 0.426320016, 0.23939082, 0.3278023, -0.304729015, -0.320563883, 0.395840526];
  assertClose(run((p) => new Adam(p, { lr: 0.1, amsgrad: true })), expected);
});

test('AdamW with decoupled weight decay matches PyTorch', () => {
  // run(lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1))
  const expected = [0.125067607, -0.61259234, 0.40531376, 0.240248859, 0.323140889, -0.297524214, -0.311993629, 0.391030282];
  assertClose(run((p) => new AdamW(p, { lr: 0.1, weightDecay: 0.1 })), expected);
});

test('parameter groups override the defaults; lr is settable per group', () => {
  const [w, b] = problem();
  const opt = new AdamW([{ params: [w!], lr: 0.01 }, { params: [b!], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.5 });
  assert.deepEqual(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.betas]), [[0.01, 0.5, [0.9, 0.999]], [0.1, 0, [0.9, 0.999]]]);
  opt.paramGroups[0]!.betas[0] = 0.5;
  assert.deepEqual(opt.paramGroups[1]!.betas, [0.9, 0.999], 'groups do not share the defaults object');
  assert.deepEqual(opt.getLr(), [0.01, 0.1]);
  opt.setLr(0.2);
  assert.deepEqual(opt.getLr(), [0.2, 0.2]);
  opt.setLr([0.001, 0.002]);
  opt.paramGroups[1]!.lr = 0.3;
  assert.deepEqual(opt.getLr(), [0.001, 0.3]);
  assert.throws(() => opt.setLr([1]), /Expected a number or 2 learning rates \(one per parameter group\) for setLr\.lr but received \[1\]/);
  assert.throws(() => new SGD([w!, w!], { lr: 0.1 }), /more than one parameter group/);
  assert.throws(() => new SGD([{ params: [w!] }, { params: [w!] }], { lr: 0.1 }), /more than one parameter group/);
  assert.throws(() => new SGD([w!], { lr: -1 }), /lr/);
  assert.throws(() => new SGD([w!], { lr: 0.1, nesterov: true }), /Expected false, or true with a momentum > 0 and zero dampening \(Nesterov momentum needs them\) for nesterov but received true/);
  assert.throws(() => new Adam([w!], { betas: [0.9, 1] }), /betas/);
  assert.throws(() => new Adam([]), /Expected a non-empty parameter list for Adam\.params but received \[\] of type array/);
});

test('a parameter without a gradient is left alone', () => {
  const [w, b] = problem();
  const before = b!.toArray();
  const opt = new Adam([w!, b!], { lr: 0.1 });
  tidy(() => X.matmul(w!.mT).sum().backward());
  opt.step();
  assert.deepEqual(b!.toArray(), before);
  assert.deepEqual([...opt.stateDict().tensors.keys()], ['state.0.expAvg', 'state.0.expAvgSq']);
});

// Simulates a save to disk: tensors through plain arrays, the rest through JSON text.
function roundTrip(sd: OptimizerStateDict): OptimizerStateDict {
  const tensors = new Map([...sd.tensors].map(([k, t]) => [k, tensor(t.toArray(), t.shape)]));
  return { tensors, json: JSON.parse(JSON.stringify(sd.json)) as OptimizerStateDict['json'] };
}

for (const [name, make] of [
  ['SGD', (p: Tensor[]) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true })],
  ['Adam', (p: Tensor[]) => new Adam(p, { lr: 0.05, amsgrad: true })],
  ['AdamW', (p: Tensor[]) => new AdamW([{ params: [p[0]!], lr: 0.01 }, { params: [p[1]!] }], { lr: 0.05 })],
] as const) {
  test(`${name}: save after k steps, load into a fresh optimizer, continue = uninterrupted`, () => {
    const straight = problem();
    train(make(straight), straight, 8);

    const first = problem();
    const opt1 = make(first);
    train(opt1, first, 3);
    const saved = roundTrip(opt1.stateDict());
    const resumed = problem();
    resumed.forEach((p, i) => tidy(() => p.detach().copy_(first[i]!)));
    const opt2 = make(resumed);
    opt2.paramGroups[0]!.lr = 123; // overwritten by the load
    opt2.loadStateDict(saved);
    assert.deepEqual(opt2.getLr(), opt1.getLr());
    train(opt2, resumed, 5);
    assert.deepEqual(resumed.flatMap((p) => p.toArray()), straight.flatMap((p) => p.toArray()));
    opt1.dispose();
    opt2.dispose();
  });
}

test('stateDict layout: tensors by state.<index>.<name>, JSON for groups and steps', () => {
  const [w, b] = problem();
  const opt = new Adam([{ params: [w!] }, { params: [b!], lr: 0.5 }], { lr: 0.1 });
  train(opt, [w!, b!], 2);
  const { tensors, json } = opt.stateDict();
  assert.deepEqual([...tensors.keys()], ['state.0.expAvg', 'state.0.expAvgSq', 'state.1.expAvg', 'state.1.expAvgSq']);
  assert.deepEqual(tensors.get('state.1.expAvg')!.shape, [2]);
  assert.deepEqual(json, {
    optimizer: 'Adam',
    paramGroups: [
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [0] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, params: [1] },
    ],
    state: { 0: { step: 2 }, 1: { step: 2 } },
  });
});

test('loadStateDict rejects state from another optimizer or layout, changing nothing', () => {
  const [w, b] = problem();
  const adam = new Adam([w!, b!]);
  train(adam, [w!, b!], 1);
  const sd = adam.stateDict();
  assert.throws(() => new SGD([w!, b!], { lr: 0.1 }).loadStateDict(sd), /from Adam/);
  assert.throws(() => new Adam([{ params: [w!] }, { params: [b!] }]).loadStateDict(sd), /1 parameter groups/);
  assert.throws(() => new Adam([w!]).loadStateDict(sd), /2 parameters in the state dict, 1 in the optimizer/);
  const other = new Adam([b!, w!]);
  assert.throws(() => other.loadStateDict(sd), /has shape \[2, 3\], its parameter \[2\]/);
  assert.equal(other.stateDict().tensors.size, 0);
  const bad = { tensors: new Map([['state.7.expAvg', ones([2])]]), json: sd.json };
  assert.throws(() => adam.loadStateDict(bad), /unexpected tensor key 'state\.7\.expAvg'/);
});
