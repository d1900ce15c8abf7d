import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEW_INDIVIDUAL } from '../../src/data/happywhale.js';
import { calibrateThreshold, predictWithThreshold, type Candidate } from '../../src/eval/threshold.js';

const N = NEW_INDIVIDUAL;

/** Candidates from [id, score] pairs, best first. */
const cands = (...pairs: [string, number][]): Candidate[] => pairs.map(([id, score], galleryIndex) => ({ id, score, galleryIndex }));

describe('predictWithThreshold', () => {
  const c = cands(['a', 0.9], ['b', 0.7], ['c', 0.5], ['d', 0.4], ['e', 0.3]);

  it('puts new_individual where the score first drops below the threshold', () => {
    assert.deepEqual(predictWithThreshold(c, 0.95), [N, 'a', 'b', 'c', 'd']);
    assert.deepEqual(predictWithThreshold(c, 0.8), ['a', N, 'b', 'c', 'd']);
    assert.deepEqual(predictWithThreshold(c, 0.45), ['a', 'b', 'c', N, 'd']);
  });

  it('leaves it out when all five are above, and adds it after fewer candidates', () => {
    assert.deepEqual(predictWithThreshold(c, 0.1), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(predictWithThreshold(cands(['a', 0.9]), 0.5), ['a', N]);
    assert.deepEqual(predictWithThreshold([], 0.5), [N]);
  });

  it('rejects a threshold that is not a number', () => {
    assert.throws(() => predictWithThreshold(c, Number.NaN), /Expected number for threshold but received NaN of type number/);
  });
});

describe('calibrateThreshold on a constructed similarity matrix', () => {
  // Known photos match their own individual at 0.80-0.95; new ones reach at most 0.60. Any
  // threshold in (0.60, 0.80] is perfect, so the best is there and MAP@5 is 1.
  const known = [0.95, 0.9, 0.85, 0.8].map((s, i) => ({ c: cands([`id${i}`, s], ['other', 0.3]), truth: `id${i}` }));
  const fresh = [0.6, 0.5, 0.4].map((s, i) => ({ c: cands([`id${i}`, s], ['other', s - 0.1]), truth: N }));
  const all = [...known, ...fresh];

  it('finds a threshold between the new and the known similarities, with MAP@5 1', () => {
    const r = calibrateThreshold(all.map((q) => q.c), all.map((q) => q.truth), { steps: 200 });
    assert.ok(r.threshold > 0.6 && r.threshold <= 0.8, `threshold ${r.threshold} should lie in (0.6, 0.8]`);
    assert.equal(r.map5, 1);
    // The middle of the perfect plateau, not its edge: robust to the next photo's noise.
    assert.ok(Math.abs(r.threshold - 0.7) < 0.01, `threshold ${r.threshold} should be near the plateau's middle 0.7`);
    assert.equal(r.curve.length, 201);
    assert.ok(r.curve.every((p) => p.map5 <= 1 && p.newShare >= 0 && p.newShare <= 1));
  });

  it('with a target share of new answers, picks the threshold giving that share', () => {
    // Share 0: nothing new at rank 1, so the lowest threshold; 1: everything new first.
    const zero = calibrateThreshold(all.map((q) => q.c), all.map((q) => q.truth), { targetNewShare: 0 });
    assert.ok(zero.threshold < 0.4);
    const third = calibrateThreshold(all.map((q) => q.c), all.map((q) => q.truth), { targetNewShare: 3 / 7, steps: 200 });
    assert.equal(third.curve.find((p) => p.threshold === third.threshold)!.newShare, 3 / 7);
    assert.ok(third.threshold > 0.6 && third.threshold <= 0.8);
  });

  it('MAP@5 on the curve falls when the threshold flags known photos as new', () => {
    const r = calibrateThreshold(all.map((q) => q.c), all.map((q) => q.truth), { steps: 100 });
    const high = r.curve[r.curve.length - 1]!;
    assert.equal(high.newShare, 1);
    // All new first: new photos score 1, known ones 1/2.
    assert.equal(high.map5, (3 + 4 * 0.5) / 7);
  });

  it('rejects unpaired input, no queries and a share outside 0..1', () => {
    assert.throws(() => calibrateThreshold([cands(['a', 1])], []), /1 queries but 0 truths/);
    assert.throws(() => calibrateThreshold([], []), /no labelled queries/);
    assert.throws(() => calibrateThreshold([cands(['a', 1])], ['a'], { targetNewShare: 2 }), /Expected number between 0 and 1 for targetNewShare but received 2 of type number/);
  });
});
