// The evaluation protocols' choice of photos (data/split.ts protocolSplit): which rows each scores,
// the disjoint reference gallery, seeded and with no individual on the wrong side.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEW_INDIVIDUAL as NEW } from '../../src/data/happywhale.js';
import { protocolSplit, type Protocol } from '../../src/data/split.js';

interface Row {
  image: string;
  id: string;
  /** Kaggle's answer: the id, or new_individual for an animal not in train. */
  kaggle: string;
}

const known = new Set(['k1', 'k2']);
const counts: [string, number][] = [['k1', 2], ['k2', 1], ['u1', 3], ['u2', 1], ['u3', 2], ['u4', 4]];
const rows: Row[] = counts.flatMap(([id, n]) => Array.from({ length: n }, (_, j) => ({ image: `${id}_${j}.jpg`, id, kaggle: known.has(id) ? id : NEW })));
// Two photos whose labels hide who they show (as test_solution.csv does for new animals).
rows.push({ image: 'hidden_0.jpg', id: NEW, kaggle: NEW }, { image: 'hidden_1.jpg', id: NEW, kaggle: NEW });
const split = (protocol: Protocol, seed = 0, from: readonly Row[] = rows): ReturnType<typeof protocolSplit<Row>> =>
  protocolSplit(from, { protocol, seed, known, identity: (r) => r.id, truth: (r) => r.kaggle });

describe('protocolSplit', () => {
  it('open scores every row with its Kaggle answer', () => {
    const s = split('open');
    assert.deepEqual(s.queries, rows);
    assert.deepEqual(s.truths, rows.map((r) => r.kaggle));
    assert.deepEqual(s.reference, []);
  });

  it('closed scores only the individuals the gallery has, answered with their id', () => {
    const s = split('closed');
    assert.deepEqual(s.queries.map((r) => r.image), ['k1_0.jpg', 'k1_1.jpg', 'k2_0.jpg']);
    assert.deepEqual(s.truths, ['k1', 'k1', 'k2']);
    assert.deepEqual(s.reference, []);
  });

  it('disjoint: one reference photo per named unknown individual with two or more, the rest queries; singletons answer new_individual', () => {
    const s = split('disjoint', 3);
    // u1 (3), u3 (2), u4 (4) give one reference photo each; u2 (1) has none.
    assert.deepEqual(s.reference.map((r) => r.id).sort(), ['u1', 'u3', 'u4']);
    assert.equal(s.queries.length, 2 + 1 + 1 + 3);
    s.queries.forEach((q, i) => assert.equal(s.truths[i], q.id === 'u2' ? NEW : q.id, q.image));
    // No leaks: no known or unnamed individual anywhere, no photo on both sides, nothing lost.
    const used = [...s.reference, ...s.queries];
    assert.ok(used.every((r) => !known.has(r.id) && r.id !== NEW));
    assert.equal(new Set(used.map((r) => r.image)).size, used.length);
    assert.equal(used.length, rows.filter((r) => r.id.startsWith('u')).length);
    // Queries keep the rows' order.
    assert.deepEqual(s.queries, rows.filter((r) => s.queries.includes(r)));
  });

  it('disjoint is deterministic for a seed, and the seed moves the choice', () => {
    assert.deepEqual(split('disjoint', 5), split('disjoint', 5));
    const choices = new Set(Array.from({ length: 8 }, (_, seed) => split('disjoint', seed).reference.map((r) => r.image).join(',')));
    assert.ok(choices.size > 1, 'different seeds choose different reference photos');
  });

  it('disjoint with no named unknown individual selects nothing', () => {
    const s = split('disjoint', 0, rows.filter((r) => known.has(r.id) || r.id === NEW));
    assert.deepEqual([s.reference.length, s.queries.length], [0, 0]);
  });

  it('refuses a bad protocol or seed, naming it', () => {
    assert.throws(() => split('half-open' as Protocol), /Expected one of open, closed, disjoint for protocol but received "half-open"/);
    assert.throws(() => split('disjoint', 1.5), /Expected integer for seed but received 1.5/);
  });
});
