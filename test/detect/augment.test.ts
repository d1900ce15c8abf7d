import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augmentDetection } from '../../src/detect/augment.js';
import * as torch from '../../src/torch/index.js';
import { Rng } from '../../src/util/random.js';

test('zoom and flip move the box with the pixels: it still frames the bright patch, which stays whole', () => {
  const size = 40;
  // One channel-replicated photo: a bright patch at x 8..20, y 12..28 on black; its box in shares.
  const pixels = new Float32Array(3 * size * size);
  for (let c = 0; c < 3; c++) for (let y = 12; y < 28; y++) for (let x = 8; x < 20; x++) pixels[(c * size + y) * size + x] = 1;
  const box = { x0: 8 / size, y0: 12 / size, x1: 20 / size, y1: 28 / size };
  let zoomed = 0;
  let flipped = 0;
  for (let seed = 0; seed < 12; seed++) {
    torch.tidy(() => {
      const { x, boxes } = augmentDetection(torch.tensor(pixels, [1, 3, size, size]), [box], [Rng.from(seed)], { zoom: 0.5, minWindow: 0.6, hflip: 0.5 });
      const b = boxes[0]!;
      const img = x.select(1, 0).select(0, 0).toArray();
      const at = (sx: number, sy: number): number => img[Math.min(size - 1, Math.floor(sy * size)) * size + Math.min(size - 1, Math.floor(sx * size))]!;
      // Inside the moved box (away from its blurred rim): the patch; just outside it: black.
      const inset = 0.25;
      const [w, h] = [b.x1 - b.x0, b.y1 - b.y0];
      assert.ok(at(b.x0 + w * inset, b.y0 + h * inset) > 0.9 && at(b.x1 - w * inset, b.y1 - h * inset) > 0.9, `seed ${seed}: box ${JSON.stringify(b)} misses the patch`);
      if (b.x0 > 0.1) assert.ok(at(b.x0 - 0.08, (b.y0 + b.y1) / 2) < 0.1, `seed ${seed}: left of the box should be black`);
      if (b.x1 < 0.9) assert.ok(at(b.x1 + 0.08, (b.y0 + b.y1) / 2) < 0.1, `seed ${seed}: right of the box should be black`);
      // A zoom enlarges the patch; a flip mirrors it to the right half.
      if (w > 12 / size + 1e-6) zoomed++;
      if (b.x0 > 0.5) flipped++;
      assert.ok(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= 1 && b.y1 <= 1);
    });
  }
  assert.ok(zoomed > 0 && zoomed < 12, `${zoomed} of 12 zoomed`);
  assert.ok(flipped > 0 && flipped < 12, `${flipped} of 12 flipped`);
});
