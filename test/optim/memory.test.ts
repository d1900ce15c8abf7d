// Proves training does not leak native memory: 10,000 AdamW steps of a tiny MLP, each inside
// tidy, must leave resident memory where it was after the first 1,000 steps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F, manualSeed, randint, randn, tidy } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';
import { AdamW } from '../../src/optim/index.js';

test('10,000 training steps do not grow resident memory', () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(16, 32), new nn.ReLU(), new nn.Linear(32, 4));
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const step = (): number =>
    tidy(() => {
      const x = randn([8, 16]);
      const y = randint(0, 4, [8]);
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x) as ReturnType<typeof randn>, y);
      loss.backward();
      opt.step();
      return loss.item();
    });
  let rssAt1000 = 0;
  for (let i = 1; i <= 10_000; i++) {
    const loss = step();
    assert.ok(Number.isFinite(loss));
    if (i === 1000) rssAt1000 = process.memoryUsage().rss;
  }
  const growthMB = (process.memoryUsage().rss - rssAt1000) / 2 ** 20;
  assert.ok(growthMB < 30, `resident memory grew by ${growthMB.toFixed(1)} MB between step 1,000 and 10,000`);
  opt.dispose();
  model.dispose();
});
