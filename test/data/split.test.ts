import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { individualSplit, stratifiedSplit } from '../../src/data/split.js';
import { Rng } from '../../src/util/random.js';

/** 60 individuals over 3 species with 1..8 photos each. */
function rows(): { image: string; species: string; individualId: string }[] {
  const rng = new Rng(5);
  const out: { image: string; species: string; individualId: string }[] = [];
  for (let i = 0; i < 60; i++) {
    const species = ['beluga', 'humpback_whale', 'blue_whale'][i % 3]!;
    for (let k = 0, n = 1 + rng.int(0, 8); k < n; k++) out.push({ image: `${i}_${k}.jpg`, species, individualId: `id${i}` });
  }
  return out;
}

const count = <T>(xs: T[], key: (x: T) => string): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
};

describe('stratifiedSplit', () => {
  it('partitions the rows with each class split in the asked proportion', () => {
    const all = rows();
    const { train, val } = stratifiedSplit(all, (r) => r.species, { valFraction: 0.25, seed: 1 });
    const trainImages = new Set(train.map((r) => r.image));
    assert.ok(val.every((r) => !trainImages.has(r.image)));
    assert.equal(train.length + val.length, all.length);
    const totals = count(all, (r) => r.species);
    const inVal = count(val, (r) => r.species);
    for (const [species, n] of totals) assert.equal(inVal.get(species), Math.round(n * 0.25), species);
  });

  it('is deterministic by seed and keeps a singleton class in train', () => {
    const all = [...rows(), { image: 'lone.jpg', species: 'frasiers_dolphin', individualId: 'x' }];
    const a = stratifiedSplit(all, (r) => r.species, { valFraction: 0.3, seed: 2 });
    const b = stratifiedSplit(all, (r) => r.species, { valFraction: 0.3, seed: 2 });
    const c = stratifiedSplit(all, (r) => r.species, { valFraction: 0.3, seed: 3 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.val, c.val);
    assert.ok(a.train.some((r) => r.image === 'lone.jpg'));
    assert.throws(() => stratifiedSplit(all, (r) => r.species, { valFraction: 1, seed: 1 }), /valFraction/);
  });
});

describe('individualSplit', () => {
  const all = rows();
  const s = individualSplit(all, { valFraction: 0.2, newFraction: 0.2, seed: 4 });
  const trainIds = new Set(s.train.map((r) => r.individualId));

  it('puts no image on both sides and loses none', () => {
    const trainImages = new Set(s.train.map((r) => r.image));
    assert.ok(s.val.every((r) => !trainImages.has(r.image)));
    assert.equal(s.train.length + s.val.length, all.length);
  });

  it('holds out whole individuals, with truth new_individual, for the asked share of validation photos', () => {
    assert.ok(s.heldOut.length > 0);
    const newShare = s.val.filter((r) => r.truth === 'new_individual').length / s.val.length;
    // Whole individuals of at most 8 photos: the share lands within one individual of 0.2.
    assert.ok(Math.abs(newShare - 0.2) <= 8 / s.val.length, `new share ${newShare}`);
    const none = individualSplit(all, { valFraction: 0.2, newFraction: 0, seed: 4 });
    assert.equal(none.heldOut.length, 0);
    assert.ok(none.val.every((r) => r.truth === r.individualId));
    for (const id of s.heldOut) assert.ok(!trainIds.has(id), id);
    for (const r of s.val) assert.equal(r.truth, s.heldOut.includes(r.individualId) ? 'new_individual' : r.individualId);
    assert.equal(s.val.filter((r) => r.truth === 'new_individual').length, all.filter((r) => s.heldOut.includes(r.individualId)).length);
  });

  it('keeps every other individual with 2+ photos on both sides, and singletons in train', () => {
    const photos = count(all, (r) => r.individualId);
    const valIds = new Set(s.val.map((r) => r.individualId));
    for (const [id, n] of photos) {
      if (s.heldOut.includes(id)) continue;
      assert.ok(trainIds.has(id), id);
      assert.equal(valIds.has(id), n >= 2, `${id} with ${n} photos`);
    }
  });

  it('is deterministic by seed', () => {
    assert.deepEqual(individualSplit(all, { valFraction: 0.2, newFraction: 0.2, seed: 4 }), s);
    assert.notDeepEqual(individualSplit(all, { valFraction: 0.2, newFraction: 0.2, seed: 5 }).heldOut, s.heldOut);
  });
});
