// Proves training does not leak native memory: 10,000 AdamW steps of a tiny MLP, each inside
// tidy, must leave resident memory where it was after the first 1,000 steps.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { F, manualSeed, randint, randn, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';
import * as nn from '../../src/nn/index.js';
import { AdamW } from '../../src/optim/index.js';

test('10,000 training steps do not grow resident memory', async () => {
  // Tensors this small gain nothing from intra-op threads, which only add wake-up cost (this
  // file runs in its own process, so the setting stays here).
  setNumThreads(1);
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(16, 32), new nn.ReLU(), new nn.Linear(32, 4));
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  let rssAt1000 = 0;
  for (let step = 1; step <= 10_000; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(randn([8, 16])) as Tensor, randint(0, 4, [8]));
      loss.backward();
      opt.step();
      return loss.item();
    });
    assert.ok(Number.isFinite(loss));
    // A trainer awaits its next batch here. Node runs the finalizers of JS tensor wrappers (whose
    // native tensors tidy already freed) only when the event loop turns, so a loop that never
    // yields grows by ~80 bytes per wrapper until it does.
    await nextTurn();
    if (step === 1000) rssAt1000 = process.memoryUsage().rss;
  }
  const growthMB = (process.memoryUsage().rss - rssAt1000) / 2 ** 20;
  assert.ok(growthMB < 10, `resident memory grew by ${growthMB.toFixed(1)} MB between step 1,000 and 10,000`);
  opt.dispose();
  model.dispose();
});
