// Finite-difference checks (float64) of the gradients of the ops and layers models are built from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, manualSeed, randint, randn, type Tensor } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';
import { gradcheck } from './gradcheck.js';

const r = (...shape: number[]): Tensor => randn(shape, { dtype: 'float64' });

test('gradcheck itself rejects a wrong gradient', () => {
  manualSeed(0);
  const x = r(3);
  // d(x²)/dx is 2x, but detaching one factor makes autograd report x.
  assert.throws(() => gradcheck(() => x.mul(x.detach()), [x]), /finite difference/);
  gradcheck(() => x.mul(x), [x]);
});

test('gradcheck: Linear (input, weight, bias)', () => {
  manualSeed(0);
  const lin = new nn.Linear(4, 3).to('float64');
  const x = r(2, 4);
  gradcheck(() => lin.forward(x), [x, lin.weight, lin.bias!]);
});

test('gradcheck: Conv2d with groups, stride and asymmetric padding', () => {
  manualSeed(0);
  const conv = new nn.Conv2d(4, 6, 3, { stride: 2, groups: 2, padding: [0, 1, 1, 0] }).to('float64');
  const x = r(2, 4, 5, 5);
  gradcheck(() => conv.forward(x), [x, conv.weight, conv.bias!]);
});

test('gradcheck: Conv2d depthwise with dilation and same padding', () => {
  manualSeed(0);
  const conv = new nn.Conv2d(3, 3, 3, { groups: 3, dilation: 2, padding: 'same', bias: false }).to('float64');
  const x = r(1, 3, 6, 6);
  gradcheck(() => conv.forward(x), [x, conv.weight]);
});

test('gradcheck: BatchNorm2d in train and eval mode', () => {
  manualSeed(0);
  const bn = new nn.BatchNorm2d(3).to('float64');
  const x = r(4, 3, 2, 2);
  gradcheck(() => bn.forward(x), [x, bn.weight!, bn.bias!]);
  bn.eval();
  gradcheck(() => bn.forward(x), [x, bn.weight!, bn.bias!]);
});

test('gradcheck: BatchNorm1d and LayerNorm', () => {
  manualSeed(0);
  const bn = new nn.BatchNorm1d(3).to('float64');
  const x = r(5, 3);
  gradcheck(() => bn.forward(x), [x, bn.weight!, bn.bias!]);
  const ln = new nn.LayerNorm([3, 4]).to('float64');
  const y = r(2, 3, 4);
  gradcheck(() => ln.forward(y), [y, ln.weight!, ln.bias!]);
});

test('gradcheck: GroupNorm', () => {
  manualSeed(0);
  const gn = new nn.GroupNorm(2, 4).to('float64');
  const x = r(2, 4, 3, 3);
  gradcheck(() => gn.forward(x), [x, gn.weight!, gn.bias!]);
});

test('gradcheck: softmax and logSoftmax', () => {
  manualSeed(0);
  const x = r(3, 5);
  gradcheck(() => F.softmax(x, 1), [x]);
  gradcheck(() => F.logSoftmax(x, -1), [x]);
});

test('gradcheck: GELU (exact and tanh), SiLU, Hardswish', () => {
  manualSeed(0);
  const x = r(2, 6);
  gradcheck(() => new nn.GELU().forward(x), [x]);
  gradcheck(() => new nn.GELU({ approximate: 'tanh' }).forward(x), [x]);
  gradcheck(() => new nn.SiLU().forward(x), [x]);
  gradcheck(() => new nn.Hardswish().forward(x), [x]);
});

test('gradcheck: AvgPool2d, MaxPool2d, AdaptiveAvgPool2d', () => {
  manualSeed(0);
  const x = r(2, 2, 5, 5);
  gradcheck(() => new nn.AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }).forward(x), [x]);
  gradcheck(() => new nn.MaxPool2d(3, { stride: 2, padding: 1 }).forward(x), [x]);
  gradcheck(() => new nn.AdaptiveAvgPool2d(2).forward(x), [x]);
});

test('gradcheck: bilinear interpolation up and down', () => {
  manualSeed(0);
  const x = r(1, 2, 3, 4);
  gradcheck(() => F.interpolate(x, { size: [5, 7], mode: 'bilinear' }), [x]);
  gradcheck(() => F.interpolate(x, { scaleFactor: 0.5, mode: 'bilinear', alignCorners: true }), [x]);
});

test('gradcheck: cross entropy with label smoothing and class weights', () => {
  manualSeed(0);
  const logits = r(4, 5);
  const target = randint(0, 5, [4]);
  const weight = randn([5], { dtype: 'float64' }).abs();
  gradcheck(() => F.crossEntropy(logits, target, { labelSmoothing: 0.1 }), [logits]);
  gradcheck(() => F.crossEntropy(logits, target, { labelSmoothing: 0.2, weight, reduction: 'sum' }), [logits]);
});
