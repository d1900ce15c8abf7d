import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blendCandidates, fitLine, imprintCentres, type CentreCosine } from '../../src/identify/match.js';
import type { Candidate } from '../../src/eval/threshold.js';

const unit = (v: number[]): number[] => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

describe('imprintCentres', () => {
  it("gives every gallery individual the unit mean of its rows, in order of first appearance", () => {
    const rows = [unit([1, 0, 0]), unit([0, 0, 1]), unit([0, 1, 0]), unit([1, 1, 1])];
    const { ids, centres } = imprintCentres({ ids: ['a', 'b', 'c', 'a'], dim: 3, embedding: Float32Array.from(rows.flat()) });
    assert.deepEqual(ids, ['a', 'b', 'c']);
    assert.deepEqual(centres.shape, [3, 3]);
    const expected = [unit(rows[0]!.map((x, j) => x + rows[3]![j]!)), rows[1]!, rows[2]!].flat();
    centres.toFloat32Array().forEach((x, i) => near(x, expected[i]!, `element ${i}`));
    centres.dispose();
  });
});

describe('fitLine', () => {
  it('recovers an exact line, and is flat at the mean when x does not vary (even by rounding)', () => {
    const line = fitLine([0.1, 0.4, 0.9].map((x) => ({ x, y: 0.5 * x + 0.2 })));
    near(line.a, 0.5, 'slope');
    near(line.b, 0.2, 'intercept');
    assert.deepEqual(fitLine([{ x: 0.1, y: 2 }, { x: 0.1, y: 4 }, { x: 0.1, y: 3 }]), { a: 0, b: 3 });
    assert.throws(() => fitLine([]), /no points/);
  });
});

describe('blendCandidates', () => {
  const cand = (id: string, score: number, galleryIndex: number): Candidate => ({ id, score, galleryIndex });

  it("scores (1 - w) x kNN + w x the head's cosine and re-sorts, the best gallery photo travelling with its individual", () => {
    const found = [[cand('y', 0.8, 3), cand('x', 0.7, 1)], [cand('x', 0.9, 0), cand('y', 0.5, 4)]];
    const cosines: CentreCosine[][] = [
      [{ head: 0.1 }, { head: 0.9 }],
      [{ head: 0.2 }, { head: 0.8 }],
    ];
    const out = blendCandidates(found, cosines, 0.5, undefined);
    assert.deepEqual(out.map((r) => r.map((c) => [c.id, +c.score.toFixed(6), c.galleryIndex])), [
      [['x', 0.8, 1], ['y', 0.45, 3]],
      [['y', 0.65, 4], ['x', 0.55, 0]],
    ]);
  });

  it("maps an imprinted cosine onto the head's scale by the line, clamped to [-1, 1]; without a line it keeps its kNN score", () => {
    const found = [[cand('x', 0.6, 0), cand('z', 0.6, 7), cand('u', 0.1, 8)]];
    const cosines: CentreCosine[][] = [[{ head: 0.5 }, { imprinted: 0.9 }, { imprinted: 0.95 }]];
    const [row] = blendCandidates(found, cosines, 0.5, { a: 0.5, b: 0.1 });
    near(row!.find((c) => c.id === 'z')!.score, 0.5 * 0.6 + 0.5 * (0.5 * 0.9 + 0.1), 'z');
    assert.deepEqual(row!.map((c) => c.id), ['z', 'x', 'u']);
    const [steep] = blendCandidates(found, cosines, 0.5, { a: 4, b: 0 });
    near(steep!.find((c) => c.id === 'u')!.score, 0.5 * 0.1 + 0.5 * 1, 'u, clamped');
    const [none] = blendCandidates(found, cosines, 0.5, undefined);
    near(none!.find((c) => c.id === 'z')!.score, 0.6, 'z without a line');
  });
});
