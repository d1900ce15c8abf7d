import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed, ones, randn, tensor, tidy, zeros, type Tensor } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';

class Block extends nn.Module {
  readonly conv = this.registerModule('conv', new nn.Conv2d(4, 4, 3, { padding: 1, bias: false }));
  readonly bn = this.registerModule('bn', new nn.BatchNorm2d(4));
  readonly act = this.registerModule('act', new nn.ReLU());

  override forward(x: Tensor): Tensor {
    return this.act.forward(this.bn.forward(this.conv.forward(x)));
  }
}

class Net extends nn.Module {
  readonly convStem = this.registerModule('conv_stem', new nn.Conv2d(3, 4, 3, { stride: 2 }));
  readonly blocks = this.registerModule('blocks', new nn.ModuleList([new Block(), new Block()]));
  readonly head = this.registerModule('head', new nn.Sequential({ drop: new nn.Dropout(0.2), pool: new nn.AdaptiveAvgPool2d(1), flat: new nn.Flatten(), fc: new nn.Linear(4, 2) }));
  readonly scale: Tensor;

  constructor() {
    super();
    this.registerBuffer('anchor', zeros([2]), { persistent: false });
    this.scale = this.registerParameter('scale', ones([1]));
  }

  override forward(x: Tensor): Tensor {
    let h = this.convStem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h).mul(this.scale);
  }
}

const values = (sd: nn.StateDict): number[][] => [...sd.values()].map((t) => t.toArray());

test('names and order of parameters, buffers and modules match PyTorch', () => {
  const net = new Net();
  // Expected lists printed by PyTorch 1.13 for the same model (Block/Net written with torch.nn):
  //   print([k for k, _ in n.named_parameters()]); print(list(n.state_dict().keys()))
  //   print([k for k, _ in n.named_buffers()]);    print([k for k, _ in n.named_modules()])
  // (the PyTorch head has no pool/flat children, so those two module names are added here).
  const block = (i: number, bn: string[]): string[] => [`blocks.${i}.conv.weight`, ...bn.map((n) => `blocks.${i}.bn.${n}`)];
  const bnParams = ['weight', 'bias'];
  const bnAll = [...bnParams, 'running_mean', 'running_var', 'num_batches_tracked'];
  const head = ['head.fc.weight', 'head.fc.bias'];
  assert.deepEqual(net.namedParameters().map(([k]) => k), ['scale', 'conv_stem.weight', 'conv_stem.bias', ...block(0, bnParams), ...block(1, bnParams), ...head]);
  assert.deepEqual([...net.stateDict().keys()], ['scale', 'conv_stem.weight', 'conv_stem.bias', ...block(0, bnAll), ...block(1, bnAll), ...head]);
  const bnBuffers = (i: number): string[] => ['running_mean', 'running_var', 'num_batches_tracked'].map((n) => `blocks.${i}.bn.${n}`);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), ['anchor', ...bnBuffers(0), ...bnBuffers(1)]);
  assert.deepEqual(net.namedModules().map(([k]) => k), [
    '', 'conv_stem', 'blocks', 'blocks.0', 'blocks.0.conv', 'blocks.0.bn', 'blocks.0.act', 'blocks.1', 'blocks.1.conv', 'blocks.1.bn', 'blocks.1.act',
    'head', 'head.drop', 'head.pool', 'head.flat', 'head.fc',
  ]);
  assert.deepEqual(net.namedChildren().map(([k]) => k), ['conv_stem', 'blocks', 'head']);
  const nbt = net.stateDict().get('blocks.0.bn.num_batches_tracked')!;
  assert.equal(nbt.dtype, 'int64');
  assert.deepEqual(nbt.shape, []);
  assert.equal(net.parameters().length, 11);
  assert.equal(net.namedParameters({ recurse: false }).length, 1);
  net.dispose();
});

test('a shared module is listed once by namedParameters but under every key by stateDict', () => {
  const shared = new nn.Linear(2, 2);
  const outer = new nn.Sequential({ a: shared, b: new nn.Sequential(shared) });
  assert.deepEqual(outer.namedParameters().map(([k]) => k), ['a.weight', 'a.bias']);
  assert.deepEqual([...outer.stateDict().keys()], ['a.weight', 'a.bias', 'b.0.weight', 'b.0.bias']);
  assert.equal(outer.namedModules().length, 3);
});

test('registration rejects bad names, non-float parameters and duplicates across kinds', () => {
  const m = new nn.Identity();
  assert.throws(() => m.registerParameter('a.b', zeros([1])), /Expected a non-empty string without '\.' for Identity member name but received "a\.b"/);
  assert.throws(() => m.registerParameter('i', zeros([1], { dtype: 'int64' })), /floating point/);
  m.registerBuffer('x', zeros([1]));
  assert.throws(() => m.registerParameter('x', zeros([1])), /already registered/);
  assert.throws(() => m.registerModule('x', new nn.ReLU()), /already registered/);
});

test('stateDict / loadStateDict round trip copies values in place', () => {
  manualSeed(1);
  const a = new Net();
  manualSeed(2);
  const b = new Net();
  a.train().forward(randn([2, 3, 9, 9])); // moves a's running stats and num_batches_tracked
  assert.notDeepEqual(values(a.stateDict()), values(b.stateDict()));
  const weightBefore = b.convStem.weight;
  const result = b.loadStateDict(a.stateDict());
  assert.deepEqual(result, { missing: [], unexpected: [], mismatched: [] });
  assert.deepEqual(values(b.stateDict()), values(a.stateDict()));
  assert.equal(b.convStem.weight, weightBefore, 'parameters keep their identity');
  assert.ok(b.convStem.weight.requiresGrad);
  assert.equal(b.stateDict().get('blocks.1.bn.num_batches_tracked')!.item(), 1);
  // Loading from a plain record works too, and converts dtype.
  const record = Object.fromEntries([...a.stateDict()].map(([k, t]) => [k, t.dtype === 'float32' ? t.to('float64') : t]));
  b.loadStateDict(record);
  assert.deepEqual(values(b.stateDict()), values(a.stateDict()));
  a.dispose();
  b.dispose();
});

test('strict load reports missing, unexpected and mis-shaped keys and copies nothing', () => {
  manualSeed(3);
  const net = new Net();
  const sd = new Map(net.stateDict());
  sd.delete('head.fc.bias');
  sd.set('head.classifier.weight', zeros([2, 4]));
  sd.set('conv_stem.weight', zeros([8, 3, 3, 3]));
  sd.set('scale', tensor([7]));
  const before = net.scale.item();
  assert.throws(
    () => net.loadStateDict(sd),
    (err: Error) => {
      assert.match(err.message, /^Error\(s\) in loading state_dict for Net:/);
      assert.match(err.message, /Missing key\(s\) in state_dict: "head\.fc\.bias"\./);
      assert.match(err.message, /Unexpected key\(s\) in state_dict: "head\.classifier\.weight"\./);
      assert.match(err.message, /size mismatch for conv_stem\.weight: copying a param with shape \[8, 3, 3, 3\] from checkpoint, the shape in current model is \[4, 3, 3, 3\]\./);
      return true;
    },
  );
  assert.equal(net.scale.item(), before, 'a failed strict load changes nothing');

  const report = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(report, {
    missing: ['head.fc.bias'],
    unexpected: ['head.classifier.weight'],
    mismatched: [{ key: 'conv_stem.weight', expected: [4, 3, 3, 3], got: [8, 3, 3, 3] }],
  });
  assert.equal(net.scale.item(), 7, 'non-strict load copies the keys that fit');
  net.dispose();
});

test('a checkpoint without num_batches_tracked loads (zeroed), as PyTorch does', () => {
  const bn = new nn.BatchNorm2d(2);
  bn.forward(randn([4, 2, 3, 3]));
  assert.equal(bn.numBatchesTracked!.item(), 1);
  const sd = new Map(bn.stateDict());
  sd.delete('num_batches_tracked');
  assert.deepEqual(bn.loadStateDict(sd).missing, []);
  assert.equal(bn.numBatchesTracked!.item(), 0);
});

test('train/eval switch changes Dropout and BatchNorm behaviour, recursively', () => {
  const net = new nn.Sequential(new nn.BatchNorm1d(3), new nn.Dropout(0.5));
  const [bn, drop] = [net.get(0) as nn.BatchNorm1d, net.get(1) as nn.Dropout];
  assert.ok(net.training && bn.training && drop.training);
  const x = tensor([1, 2, 3, 4, 6, 8, 7, 10, 13, 2, 2, 2], [4, 3]);

  manualSeed(0);
  const y = drop.forward(ones([1000])).toArray();
  assert.ok(y.every((v) => v === 0 || v === 2), 'kept elements are scaled by 1 / (1 - p)');
  const zeroed = y.filter((v) => v === 0).length;
  assert.ok(zeroed > 400 && zeroed < 600, `about half zeroed, got ${zeroed}`);

  // Train mode: batch statistics, so each column comes out with mean 0.
  const trained = bn.forward(x).mean(0).toArray();
  trained.forEach((m) => assert.ok(Math.abs(m) < 1e-6));

  net.eval();
  assert.ok(!net.training && !bn.training && !drop.training);
  assert.deepEqual(drop.forward(x).toArray(), x.toArray());
  // Eval mode: running statistics (after one update: mean = 0.1 * batch mean, var = 0.9 + 0.1 * unbiased var).
  const mean = bn.runningMean!.toArray();
  const variance = bn.runningVar!.toArray();
  const out = bn.forward(x).toArray();
  x.toArray().forEach((v, i) => assert.ok(Math.abs(out[i]! - (v - mean[i % 3]!) / Math.sqrt(variance[i % 3]! + 1e-5)) < 1e-5));
  net.train();
  assert.ok(bn.training && drop.training);
});

test("a parent's train()/eval() runs each child's own train() override, as in PyTorch", () => {
  const calls: boolean[] = [];
  /** Keeps its BatchNorm in eval mode whatever mode it is put in (as TransferModel keeps frozen BNs). */
  class FrozenNorm extends nn.Module {
    readonly bn = this.registerModule('bn', new nn.BatchNorm1d(2));

    override train(mode = true): this {
      calls.push(mode);
      super.train(mode);
      this.bn.training = false;
      return this;
    }

    override forward(x: Tensor): Tensor {
      return this.bn.forward(x);
    }
  }
  const frozen = new FrozenNorm();
  const drop = new nn.Dropout();
  const net = new nn.Sequential({ inner: new nn.Sequential(frozen), drop });

  net.eval();
  assert.deepEqual(calls, [false]);
  assert.ok(!net.training && !frozen.training && !frozen.bn.training && !drop.training);
  net.train();
  assert.deepEqual(calls, [false, true]);
  assert.ok(net.training && frozen.training && drop.training);
  assert.ok(!frozen.bn.training, 'the override ran after the parent set the mode');
});

test('BatchNorm running statistics update in train mode only', () => {
  const bn = new nn.BatchNorm1d(2);
  const x = tensor([1, 2, 3, 5, 2, 0], [3, 2]);
  bn.forward(x);
  // Column means 2, 2.333…; unbiased variances 1, 6.333…
  assertClose(bn.runningMean!.toArray(), [0.2, 0.2333333]);
  assertClose(bn.runningVar!.toArray(), [1.0, 1.5333333]);
  assert.equal(bn.numBatchesTracked!.item(), 1);
  bn.eval().forward(x.mul(10));
  assertClose(bn.runningMean!.toArray(), [0.2, 0.2333333]);
  assert.equal(bn.numBatchesTracked!.item(), 1);

  // momentum null: a cumulative average. PyTorch 1.13 prints [3.0, 3.5] [2.5, 15.8333] 2 for
  //   bn = nn.BatchNorm1d(2, momentum=None); x = torch.tensor([[1., 2.], [3., 5.], [2., 0.]])
  //   bn(x); bn(x * 2); print(bn.running_mean.tolist(), bn.running_var.tolist(), bn.num_batches_tracked.item())
  const cumulative = new nn.BatchNorm1d(2, { momentum: null });
  cumulative.forward(x);
  cumulative.forward(x.mul(2));
  assertClose(cumulative.runningMean!.toArray(), [3.0, 3.5]);
  assertClose(cumulative.runningVar!.toArray(), [2.5, 15.833333969116211]);
  assert.equal(cumulative.numBatchesTracked!.item(), 2);

  // Without running statistics, eval mode normalises with the batch too.
  const untracked = new nn.BatchNorm1d(2, { trackRunningStats: false }).eval();
  assert.deepEqual([...untracked.stateDict().keys()], ['weight', 'bias']);
  untracked.forward(x).mean(0).toArray().forEach((m) => assert.ok(Math.abs(m) < 1e-6));
});

test('default initialisation matches PyTorch for the same seed', () => {
  // torch.manual_seed(0); l = nn.Linear(3, 2); print(l.weight.flatten().tolist(), l.bias.tolist())
  manualSeed(0);
  const l = new nn.Linear(3, 2);
  assert.deepEqual(l.weight.toArray(), [-0.004322517663240433, 0.3097158372402191, -0.4751853346824646, -0.4248946011066437, -0.2223689705133438, 0.15482072532176971]);
  assert.deepEqual(l.bias!.toArray(), [-0.011439144611358643, 0.45777493715286255]);
  // torch.manual_seed(0); c = nn.Conv2d(2, 4, 3, groups=2); print(c.weight.flatten()[:5].tolist(), c.bias.tolist())
  manualSeed(0);
  const c = new nn.Conv2d(2, 4, 3, { groups: 2 });
  assert.deepEqual(c.weight.shape, [4, 1, 3, 3]);
  assert.deepEqual(c.weight.toArray().slice(0, 5), [-0.0024956068955361843, 0.17881453037261963, -0.2743483781814575, -0.24531301856040955, -0.1283847987651825]);
  assert.deepEqual(c.bias!.toArray(), [-0.19458016753196716, 0.2865327000617981, 0.14873945713043213, 0.16155752539634705]);
  // torch.manual_seed(0); t = torch.zeros(5); nn.init.trunc_normal_(t, 0, 0.02); print(t.tolist())
  manualSeed(0);
  const t = nn.init.truncNormal_(zeros([5]), 0, 0.02);
  assert.deepEqual(t.toArray(), [-0.00018766950233839452, 0.014660065993666649, -0.027003811672329903, -0.02233688160777092, -0.010063374415040016]);
});

test('init functions follow their formulas', () => {
  manualSeed(0);
  const w = zeros([64, 32, 3, 3]);
  const fanIn = 32 * 9;
  const fanOut = 64 * 9;
  assert.deepEqual(nn.init.calculateFanInAndFanOut(w), { fanIn, fanOut });
  const maxAbs = (t: Tensor): number => t.abs().max().item();
  const std = (t: Tensor): number => t.std().item();
  assert.ok(maxAbs(nn.init.kaimingUniform_(w, { nonlinearity: 'relu' })) <= Math.sqrt(6 / fanIn) + 1e-7);
  assertClose([std(nn.init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' }))], [Math.sqrt(2 / fanOut)], 0.02 * Math.sqrt(2 / fanOut));
  assert.ok(maxAbs(nn.init.xavierUniform_(w, 2)) <= 2 * Math.sqrt(6 / (fanIn + fanOut)) + 1e-7);
  assertClose([std(nn.init.xavierNormal_(w))], [Math.sqrt(2 / (fanIn + fanOut))], 0.002);
  assert.ok(maxAbs(nn.init.truncNormal_(w, 0, 1, -0.5, 0.5)) <= 0.5);
  assert.throws(() => nn.init.truncNormal_(w, 0, 1, 1, 1), /Expected a number greater than a \(1\) for b but received 1/);
  assert.deepEqual(nn.init.constant_(zeros([2]), 3).toArray(), [3, 3]);
  assert.deepEqual(nn.init.ones_(zeros([2])).toArray(), [1, 1]);
  assert.deepEqual(nn.init.zeros_(ones([2])).toArray(), [0, 0]);
  assert.equal(nn.init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.throws(() => nn.init.calculateFanInAndFanOut(zeros([3])), /fewer than 2 dimensions/);
});

test('requiresGrad_, zeroGrad, apply, to and dispose act on the whole tree', () => {
  const net = new Net();
  tidy(() => net.forward(randn([1, 3, 7, 7])).sum().backward());
  assert.ok(net.parameters().every((p) => p.grad !== undefined));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === undefined));
  net.requiresGrad_(false);
  assert.ok(net.parameters().every((p) => !p.requiresGrad));
  net.blocks.get(-1).requiresGrad_(true);
  assert.deepEqual(net.namedParameters().filter(([, p]) => p.requiresGrad).map(([k]) => k), ['blocks.1.conv.weight', 'blocks.1.bn.weight', 'blocks.1.bn.bias']);

  const visited: string[] = [];
  net.blocks.get(0).apply((m) => visited.push(m.constructor.name));
  assert.deepEqual(visited, ['Conv2d', 'BatchNorm2d', 'ReLU', 'Block']);

  const weight = net.convStem.weight;
  tidy(() => net.forward(randn([1, 3, 7, 7])).sum().backward());
  net.to('float64');
  assert.equal(net.convStem.weight, weight);
  assert.equal(weight.dtype, 'float64');
  assert.equal(net.blocks.get(1).conv.weight.grad!.dtype, 'float64', 'gradients are converted too');
  assert.equal(net.stateDict().get('blocks.0.bn.num_batches_tracked')!.dtype, 'int64', 'integer buffers keep their dtype');
  assert.equal(net.forward(randn([1, 3, 7, 7], { dtype: 'float64' })).dtype, 'float64');

  net.dispose();
  assert.ok(weight.isDisposed && net.buffers().every((b) => b.isDisposed));
});

test('parameters survive tidy scopes they were created in', () => {
  const lin = tidy(() => new nn.Linear(2, 2));
  assert.ok(!lin.weight.isDisposed && !lin.bias!.isDisposed);
  const bn = tidy(() => new nn.BatchNorm2d(2));
  assert.ok(bn.buffers().every((b) => !b.isDisposed));
});

test('containers: Sequential, ModuleList and ModuleDict', () => {
  const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU());
  seq.append(new nn.Linear(4, 1));
  assert.equal(seq.length, 3);
  assert.deepEqual([...seq.stateDict().keys()], ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.deepEqual(seq.forward(zeros([5, 3])).shape, [5, 1]);
  assert.throws(() => seq.get(3), /out of range/);

  const list = new nn.ModuleList([new nn.Identity(), new nn.Tanh()]);
  assert.deepEqual([...list].map((m) => m.constructor.name), ['Identity', 'Tanh']);
  assert.throws(() => list.forward(), /no forward/);

  const dict = new nn.ModuleDict({ species: new nn.Linear(4, 30), individual: new nn.Linear(4, 100) });
  assert.deepEqual(dict.keys(), ['species', 'individual']);
  assert.equal(dict.get('individual').outFeatures, 100);
  assert.ok(dict.has('species') && !dict.has('x'));
  assert.deepEqual([...dict.stateDict().keys()], ['species.weight', 'species.bias', 'individual.weight', 'individual.bias']);
});

test('runSequential and Sequential.forward free the intermediates but not the input or the result', () => {
  const created: Tensor[] = [];
  class Record extends nn.Module {
    override forward(x: Tensor): Tensor {
      const y = x.mul(2);
      created.push(y);
      return y;
    }
  }
  const x = ones([2]);
  const out = nn.runSequential(x, [new Record(), new nn.Identity(), new Record(), new Record()]);
  assert.deepEqual(out.toArray(), [8, 8]);
  assert.deepEqual(
    created.map((t) => t.isDisposed),
    [true, true, false],
  );
  assert.ok(!x.isDisposed);

  created.length = 0;
  const seqOut = new nn.Sequential(new Record(), new nn.Identity(), new Record()).forward(x);
  assert.deepEqual(seqOut.toArray(), [4, 4]);
  assert.deepEqual(
    created.map((t) => t.isDisposed),
    [true, false],
  );
  assert.ok(!x.isDisposed);
});

test('layer shapes and padding options', () => {
  const x = randn([2, 3, 8, 8]);
  const shape = (m: nn.Module): number[] => m.forward(x).shape;
  assert.deepEqual(shape(new nn.Conv2d(3, 5, 3, { padding: 'same' })), [2, 5, 8, 8]);
  const even = new nn.Conv2d(3, 5, 4, { padding: 'same' });
  assert.deepEqual(even.padding, [1, 2, 1, 2], "an even kernel pads one more after, as PyTorch's 'same'");
  assert.deepEqual(shape(even), [2, 5, 8, 8]);
  assert.deepEqual(shape(new nn.Conv2d(3, 5, 3, { stride: 2, padding: [0, 1, 0, 1] })), [2, 5, 4, 4]);
  assert.deepEqual(shape(new nn.Conv2d(3, 6, [3, 1], { padding: 'valid', groups: 3 })), [2, 6, 6, 8]);
  assert.throws(() => new nn.Conv2d(3, 5, 3, { stride: 2, padding: 'same' }), /Expected 1 with padding 'same' \(it needs stride 1; .*\) for stride but received \[2, 2\]/);
  assert.throws(() => new nn.Conv2d(3, 5, 3, { groups: 2 }), /Expected a divisor of inChannels \(3\) and outChannels \(5\) for groups but received 2/);
  assert.throws(() => new nn.GroupNorm(4, 6), /Expected a divisor of numChannels \(6\) for numGroups but received 4/);
  assert.deepEqual(shape(new nn.MaxPool2d(3, { stride: 2, padding: 1 })), [2, 3, 4, 4]);
  assert.deepEqual(shape(new nn.AvgPool2d(3, { stride: 2, ceilMode: true })), [2, 3, 4, 4]);
  assert.deepEqual(shape(new nn.AdaptiveAvgPool2d([1, 2])), [2, 3, 1, 2]);
  assert.deepEqual(shape(new nn.Flatten()), [2, 192]);
  assert.deepEqual(shape(new nn.GroupNorm(3, 3)), [2, 3, 8, 8]);
  assert.deepEqual(shape(new nn.LayerNorm(8)), [2, 3, 8, 8]);
  assert.throws(() => new nn.BatchNorm2d(3).forward(zeros([2, 3])), /expected 4D input/);
  assert.throws(() => new nn.Linear(0.5, 2), /inFeatures/);
});

test('activation modules compute their functions', () => {
  const x = tensor([-4, -1, 0, 1, 4]);
  const run = (m: nn.Module): number[] => m.forward(x).toArray();
  assertClose(run(new nn.ReLU()), [0, 0, 0, 1, 4]);
  assertClose(run(new nn.ReLU6()), [0, 0, 0, 1, 4]);
  assertClose(run(new nn.Sigmoid()), [-4, -1, 0, 1, 4].map((v) => 1 / (1 + Math.exp(-v))));
  assertClose(run(new nn.Tanh()), [-4, -1, 0, 1, 4].map(Math.tanh));
  assertClose(run(new nn.SiLU()), [-4, -1, 0, 1, 4].map((v) => v / (1 + Math.exp(-v))));
  assertClose(run(new nn.Hardsigmoid()), [0, 1 / 3, 0.5, 2 / 3, 1]);
  assertClose(run(new nn.Hardswish()), [0, -1 / 3, 0, 2 / 3, 4]);
  assertClose(run(new nn.GELU()), [-0.0001266, -0.1586553, 0, 0.8413447, 3.9998734]);
  assertClose(run(new nn.GELU({ approximate: 'tanh' })), [-0.0000702, -0.1588080, 0, 0.8411920, 3.9999298]);
});

function assertClose(actual: number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `element ${i}: ${v} vs ${expected[i]}`));
}
