import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import * as torch from '../../src/torch/index.js';

/** Full (mark-compact) garbage collections V8 runs while `fn` runs, counted once the event loop turns. */
async function majorCollections(fn: () => void): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return count;
}

test('views of a large tensor are not reported to V8 again: no full collection per view', async () => {
  const big = torch.zeros([64, 1024, 1024]); // 256 MiB
  const collections = await majorCollections(() => {
    for (let i = 0; i < 200; i++) {
      const views = [big.narrow(0, 0, 64), big.view(-1), big.transpose(1, 2)];
      for (const v of views) v.dispose();
    }
  });
  big.dispose();
  // Counted at full size, these 600 views were 150 GiB of "new" native memory to V8, and it ran a
  // full collection every few of them.
  assert.ok(collections <= 2, `${collections} full collections for views of one tensor`);
});
