// End to end: a small CNN (Conv2d + BatchNorm + ReLU + pooling + Linear) trained with Adam learns
// to tell a horizontal bar from a vertical one in noisy 8x8 images.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, manualSeed, noGrad, randn, tensor, tidy, type Tensor } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';

const SIZE = 8;

/** n images [n, 1, 8, 8] with one bar each (class 0 horizontal, 1 vertical) plus noise, and labels. */
function bars(n: number, seed: number): { x: Tensor; y: Tensor } {
  let state = seed;
  const rand = (k: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % k;
  };
  const pixels = new Float32Array(n * SIZE * SIZE);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const vertical = rand(2);
    const line = rand(SIZE);
    for (let k = 0; k < SIZE; k++) pixels[i * SIZE * SIZE + (vertical ? k * SIZE + line : line * SIZE + k)] = 1;
    labels.push(vertical);
  }
  return tidy(() => {
    const clean = tensor(pixels, [n, 1, SIZE, SIZE]);
    return { x: clean.add(randn(clean.shape).mul(0.3)), y: tensor(labels, [n], { dtype: 'int64' }) };
  });
}

test('a small CNN learns horizontal vs vertical bars to > 95% accuracy', () => {
  manualSeed(0);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }),
    new nn.BatchNorm2d(8),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(8 * 4 * 4, 2),
  );
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const train = bars(512, 1);
  const test_ = bars(256, 2);
  const accuracy = (): number =>
    noGrad(() => tidy(() => model.forward(test_.x).argmax(1).eq(test_.y).float().mean().item()));

  const before = accuracy();
  model.train();
  for (let epoch = 0; epoch < 3; epoch++) {
    for (let i = 0; i < 512; i += 32) {
      tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(model.forward(train.x.narrow(0, i, 32)), train.y.narrow(0, i, 32)).backward();
        opt.step();
      });
    }
  }
  model.eval();
  const after = accuracy();
  assert.ok(after > 0.95, `accuracy ${after} (before training ${before})`);
  assert.ok(before < 0.8, `an untrained model should not already solve it (${before})`);
});
