// Open-set metrics on cases small enough to work out by hand; each expected value is derived in
// the comment beside it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEW_INDIVIDUAL as NEW } from '../../src/data/happywhale.js';
import { averagePrecision, baks, baus, knownNewAuc, knownTopK, meanAveragePrecision, openSetMetrics } from '../../src/eval/open_set.js';

const close = (actual: number | null, expected: number, what = ''): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what} ${actual} vs ${expected}`);
};

describe('knownTopK', () => {
  it('scores known queries only, on the gallery ranking (new_individual skipped)', () => {
    const individuals = ['a', 'b', 'c', 'x'];
    const known = [true, true, true, false];
    // a: first. b: behind new_individual and a, so second of the gallery's ranking. c: sixth. x: unknown, ignored.
    const rankings = [['a', 'b'], [NEW, 'a', 'b'], ['x', 'y', 'z', 'w', 'v', 'c'], ['x']];
    close(knownTopK(individuals, known, rankings, 1), 1 / 3, 'top-1');
    close(knownTopK(individuals, known, rankings, 5), 2 / 3, 'top-5');
    close(knownTopK(individuals, known, rankings, 6), 1, 'top-6');
  });

  it('is null without known queries, and refuses bad input', () => {
    assert.equal(knownTopK(['x'], [false], [['x']], 1), null);
    assert.equal(knownTopK([], [], [], 5), null);
    assert.throws(() => knownTopK(['a'], [true], [['a']], 0), /Expected positive integer for k but received 0/);
    assert.throws(() => knownTopK(['a', 'b'], [true], [['a'], ['b']], 1), /2 queries but 1 known flags/);
  });
});

describe('averagePrecision and meanAveragePrecision', () => {
  it('averages precision at each relevant photo of the ranked gallery', () => {
    // Ranked a(0.9) b a(0.7) b: relevant at ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6.
    close(averagePrecision([0.9, 0.8, 0.7, 0.6], ['a', 'b', 'a', 'b'], 'a'), 5 / 6);
    // Order of the gallery does not matter, only the scores.
    close(averagePrecision([0.6, 0.7, 0.8, 0.9], ['b', 'a', 'b', 'a'], 'a'), 5 / 6);
    close(averagePrecision(new Float32Array([0.1, 0.2]), ['a', 'b'], 'b'), 1);
    // b's only photo is second: 1/2.
    close(averagePrecision([0.9, 0.2, 0.95], ['a', 'b', 'c'], 'a'), 1 / 2);
  });

  it('lets tied photos enter the ranking together, whatever their order (scikit-learn\'s rule)', () => {
    // a ties b at 0.5 below c: one step to recall 1 at precision 1/3.
    close(averagePrecision([0.5, 0.5, 0.9], ['a', 'b', 'c'], 'a'), 1 / 3);
    close(averagePrecision([0.9, 0.5, 0.5], ['c', 'b', 'a'], 'a'), 1 / 3);
    // Two of three tied photos are relevant: precision 2/3 at recall 1.
    close(averagePrecision([0.5, 0.5, 0.5], ['a', 'a', 'b'], 'a'), 2 / 3);
    // Ties above and below: a(0.9) then {a, b} at 0.4: 1/2 x 1 + 1/2 x 2/3 = 5/6.
    close(averagePrecision([0.4, 0.9, 0.4], ['b', 'a', 'a'], 'a'), 5 / 6);
  });

  it('is null when the gallery has no photo of the individual; the mean leaves those out', () => {
    assert.equal(averagePrecision([0.9, 0.1], ['a', 'b'], 'z'), null);
    assert.equal(averagePrecision([], [], 'a'), null);
    close(meanAveragePrecision([1, null, 0.5]), 0.75);
    assert.equal(meanAveragePrecision([null, null]), null);
    assert.equal(meanAveragePrecision([]), null);
    assert.throws(() => averagePrecision([0.1], ['a', 'b'], 'a'), /1 scores for 2 gallery photos/);
  });
});

describe('BAKS and BAUS', () => {
  const individuals = ['a', 'a', 'a', 'b', 'n1', 'n1', 'n2'];
  const known = [true, true, true, true, false, false, false];
  const answers = ['a', NEW, 'a', 'b', NEW, 'b', 'a'];

  it('BAKS: per known individual accuracy of the first answer (new_individual is wrong), averaged over individuals', () => {
    // a: 2 of 3, b: 1 of 1: (2/3 + 1) / 2 = 5/6 (plain accuracy would be 3/4).
    close(baks(individuals, known, answers), 5 / 6);
  });

  it('BAUS: per unknown individual share answered new_individual, averaged over individuals', () => {
    // n1: 1 of 2, n2: 0 of 1: (1/2 + 0) / 2 = 1/4 (plain accuracy would be 1/3).
    close(baus(individuals, known, answers), 1 / 4);
    // Kaggle's truth names no new animal: they form one group, and BAUS is their plain accuracy.
    close(baus([NEW, NEW, NEW], [false, false, false], [NEW, 'a', NEW]), 2 / 3);
  });

  it('is null when there is nothing to measure', () => {
    assert.equal(baus(['a', 'b'], [true, true], ['a', NEW]), null, 'no unknown queries');
    assert.equal(baks(['n'], [false], [NEW]), null, 'no known queries');
    close(baks(['a', 'b'], [true, true], ['a', NEW]), 1 / 2);
    assert.throws(() => baks(['a'], [true], []), /1 queries but 0 answers/);
  });
});

describe('knownNewAuc', () => {
  it('is the share of (known, unknown) pairs where the known query scores higher, ties half', () => {
    // Known 0.9, 0.5; unknown 0.7, 0.5, 0.1. 0.9 beats all three (3); 0.5 loses to 0.7, ties 0.5 (1/2), beats 0.1 (1): 4.5 / 6.
    close(knownNewAuc([0.9, 0.5, 0.7, 0.5, 0.1], [true, true, false, false, false]), 0.75);
    close(knownNewAuc([0.3, 0.3, 0.3], [true, false, true]), 0.5, 'all tied');
    close(knownNewAuc([0.9, 0.1], [true, false]), 1);
    close(knownNewAuc([0.1, 0.9], [true, false]), 0);
  });

  it('takes -Infinity (no candidates at all) as the lowest score', () => {
    close(knownNewAuc([-Infinity, 0.2], [true, false]), 0);
    close(knownNewAuc([-Infinity, -Infinity, 0.4], [true, false, false]), 0.25, 'tie with one unknown, below the other');
  });

  it('is null without queries of both kinds, and refuses NaN', () => {
    assert.equal(knownNewAuc([0.9, 0.8], [true, true]), null);
    assert.equal(knownNewAuc([0.9], [false]), null);
    assert.equal(knownNewAuc([], []), null);
    assert.throws(() => knownNewAuc([NaN, 0.1], [true, false]), /query 0 is NaN/);
  });
});

describe('openSetMetrics', () => {
  const c = (...pairs: [string, number][]): { id: string; score: number }[] => pairs.map(([id, score]) => ({ id, score }));
  // Threshold 0.6: q1 answers a (right), q2 answers b (wrong; a is second), q3's best 0.4 < 0.6 so it
  // answers new_individual (wrong for a known b; b is second), q4 and q5 answer new_individual (right).
  const queries = [
    { individual: 'a', known: true, candidates: c(['a', 0.9], ['b', 0.5]), averagePrecision: 1 },
    { individual: 'a', known: true, candidates: c(['b', 0.7], ['a', 0.65]), averagePrecision: 0.5 },
    { individual: 'b', known: true, candidates: c(['a', 0.4], ['b', 0.3]), averagePrecision: 1 / 3 },
    { individual: 'n', known: false, candidates: c(['a', 0.5]), averagePrecision: null },
    { individual: 'm', known: false, candidates: [], averagePrecision: null },
  ];

  it('computes every metric of one set of queries', () => {
    const m = openSetMetrics(queries, 0.6);
    assert.deepEqual([m.queries, m.known_queries, m.unknown_queries, m.threshold], [5, 3, 2, 0.6]);
    close(m.top1_known, 1 / 3, 'top-1 known');
    close(m.top5_known, 1, 'top-5 known');
    close(m.map, (1 + 0.5 + 1 / 3) / 3, 'mAP');
    // a: 1 of 2 right, b: 0 of 1: 1/4. Both unknown individuals answered new: 1.
    close(m.baks, 0.25, 'BAKS');
    close(m.baus, 1, 'BAUS');
    // Known best 0.9, 0.7, 0.4 against unknown 0.5 and -Infinity: 2 + 2 + 1 of 6 pairs.
    close(m.auc, 5 / 6, 'AUC');
    // Kaggle's MAP@5 with new_individual placed at 0.6: q1 [a, new, b] 1; q2 [b, a, new] 1/2;
    // q3 [new, a, b] for b 1/3; q4 [new, a] 1; q5 [new] 1.
    close(m.map5, (1 + 0.5 + 1 / 3 + 1 + 1) / 5, 'MAP@5');
  });

  it('leaves mAP null when the scores rank individuals only, and the threshold moves BAKS and BAUS', () => {
    const m = openSetMetrics(queries.map(({ averagePrecision: _, ...q }) => q), 0.3);
    assert.equal(m.map, null);
    // At 0.3 every known query answers its best candidate: a right, a wrong, b wrong: a 1/2, b 0. q4 now answers a.
    close(m.baks, 0.25);
    close(m.baus, 0.5);
    close(m.top1_known, 1 / 3, 'the ranking does not depend on the threshold');
  });

  it('gives null, not a made-up score, where a metric has nothing to measure', () => {
    const m = openSetMetrics(queries.slice(0, 3), 0.6);
    assert.equal(m.baus, null);
    assert.equal(m.auc, null);
    assert.throws(() => openSetMetrics(queries, NaN), /Expected number for threshold but received NaN/);
  });
});
