import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePeak, toPixels, toShares } from '../../src/detect/decode.js';
import { boxMetrics, iou } from '../../src/detect/metrics.js';
import { encodeTargets } from '../../src/detect/targets.js';

const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol;

/** A head output [5, grid, grid] filled by channel. */
function headOutput(grid: number, fill: (channel: number, x: number, y: number) => number): Float32Array {
  const out = new Float32Array(5 * grid * grid);
  for (let c = 0; c < 5; c++) for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) out[(c * grid + y) * grid + x] = fill(c, x, y);
  return out;
}

describe('detector head decoding', () => {
  it('takes the strongest peak and reads the distances to the sides there', () => {
    // 4x4 grid: a weak peak at cell (0, 0), the strongest at cell (2, 1), whose centre is (0.625, 0.375).
    const out = headOutput(4, (c, x, y) => {
      const peak = x === 2 && y === 1;
      if (c === 0) return peak ? 2 : x === 0 && y === 0 ? 1 : -5;
      if (!peak) return 9; // distances elsewhere must not be read
      return [0, 0.25, 0.125, 0.25, 0.0625][c]!;
    });
    const d = decodePeak(out, 4);
    assert.ok(close(d.x0, 0.375) && close(d.x1, 0.875) && close(d.y0, 0.25) && close(d.y1, 0.4375), JSON.stringify(d));
    assert.ok(close(d.score, 1 / (1 + Math.exp(-2))));
    const px = toPixels(d, { width: 200, height: 80 });
    assert.ok(close(px.x0, 75) && close(px.x1, 175) && close(px.y0, 20) && close(px.y1, 35) && px.score === d.score);
    const back = toShares(px, { width: 200, height: 80 });
    assert.ok(close(back.x0, d.x0) && close(back.y1, d.y1));
  });

  it('clips boxes to the photo and turns sides on the wrong side of the centre into an empty box', () => {
    // Peak at cell (1, 1) of 2x2, centre (0.75, 0.75): left 1 reaches past the photo; top and bottom cross.
    const out = headOutput(2, (c, x, y) => (c === 0 ? (x === 1 && y === 1 ? 3 : 0) : [0, 1, 0.1, 0.5, -0.3][c]!));
    const d = decodePeak(out, 2);
    assert.deepEqual([d.x0, d.x1, d.y0, d.y1].map((v) => Math.round(v * 1000) / 1000), [0, 1, 0.65, 0.65]);
    assert.throws(() => decodePeak(new Float32Array(7), 2), /expected 5 x 2 x 2 = 20 values, got 7/);
  });

  it('encodes what it decodes: the target peaks at the centre cell, whose side distances give the box', () => {
    const box = { x0: 0.1, y0: 0.3, x1: 0.5, y1: 0.6 };
    const t = encodeTargets([box], 8);
    // Centre (0.3, 0.45) x 8 = (2.4, 3.6): cell (2, 3).
    const centre = 3 * 8 + 2;
    assert.equal(t.heatmap[centre], 1);
    assert.equal(t.heatmap.filter((v) => v === 1).length, 1);
    assert.ok(t.heatmap[3 * 8 + 3]! > t.heatmap[3 * 8 + 5]! && t.heatmap[3 * 8 + 5]! > 0);
    // Side distances count only at cells inside the box (cell 6 of row 3 lies right of it).
    assert.equal(t.weight[centre], 1);
    assert.ok(t.weight[3 * 8 + 1]! > 0);
    assert.equal(t.weight[3 * 8 + 6], 0);
    // Decoding the targets written as a head output (heatmap as logits) gives the box back.
    const out = headOutput(8, (c, x, y) => (c === 0 ? t.heatmap[y * 8 + x]! : t.sides[(c - 1) * 64 + y * 8 + x]!));
    const d = decodePeak(out, 8);
    assert.ok(close(d.x0, box.x0) && close(d.y0, box.y0) && close(d.x1, box.x1) && close(d.y1, box.y1), JSON.stringify(d));
  });
});

describe('box metrics', () => {
  it('scores IoU, and recall at 0.5 and 0.75', () => {
    const truth = { x0: 0, y0: 0, x1: 10, y1: 10 };
    assert.equal(iou(truth, truth), 1);
    assert.equal(iou(truth, { x0: 10, y0: 0, x1: 20, y1: 10 }), 0);
    assert.ok(close(iou(truth, { x0: 5, y0: 0, x1: 15, y1: 10 }), 50 / 150));
    const m = boxMetrics([
      { predicted: truth, truth },
      { predicted: { x0: 0, y0: 0, x1: 10, y1: 6 }, truth },
      { predicted: { x0: 5, y0: 0, x1: 15, y1: 10 }, truth },
    ]);
    assert.equal(m.photos, 3);
    assert.ok(close(m.meanIou, (1 + 0.6 + 1 / 3) / 3));
    assert.ok(close(m.recall50, 2 / 3) && close(m.recall75, 1 / 3));
  });
});
