import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GalleryIndex, haversineKm } from '../../src/catalogue/search.js';
import type { GalleryRow } from '../../src/catalogue/store.js';

const unit = (deg: number): Float32Array => new Float32Array([Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]);

// photos 1-4 at angles 0, 10, 20, 90 degrees; 5 is the query (5 degrees)
const vectors = new Map([[1, unit(0)], [2, unit(10)], [3, unit(20)], [4, unit(90)], [5, unit(5)]]);
const row = (photoId: number, individualId: string, extra: Partial<GalleryRow> = {}): GalleryRow => ({ photoId, individualId, species: 'humpback_whale', date: null, latitude: null, longitude: null, ...extra });

test('haversine: Sydney to Melbourne is about 714 km', () => {
  assert.ok(Math.abs(haversineKm({ latitude: -33.8688, longitude: 151.2093 }, { latitude: -37.8136, longitude: 144.9631 }) - 713.4) < 2);
});

test('search ranks individuals by their best photo, or photos one by one, and leaves the query out', () => {
  const index = new GalleryIndex(vectors, 2);
  index.setGallery([row(1, 'A'), row(2, 'B'), row(3, 'A'), row(4, 'C'), row(5, 'D')]);
  const q = index.vector(5)!;
  const byIndividual = index.search(q, {}, { top: 10, per: 'individual', exclude: new Set([5]) });
  assert.deepEqual(byIndividual.matches.map((m) => [m.individualId, m.photoId]), [['A', 1], ['B', 2], ['C', 4]]);
  assert.ok(Math.abs(byIndividual.matches[0]!.score - Math.cos((5 * Math.PI) / 180)) < 1e-6);
  assert.equal(byIndividual.description, '4 of 5 photos');
  const byPhoto = index.search(q, {}, { top: 3, per: 'photo', exclude: new Set([5]) });
  assert.deepEqual(byPhoto.matches.map((m) => m.photoId), [1, 2, 3]);
  const best = index.bestScores([5, 4]);
  assert.ok(Math.abs(best.get(5)! - Math.cos((5 * Math.PI) / 180)) < 1e-6, 'the best match of photo 5 is not itself');
  index.dispose();
});

test('filters restrict the search and are described', () => {
  const index = new GalleryIndex(vectors, 2);
  index.setGallery([
    row(1, 'A', { species: 'fin_whale', date: '2019-05-01', latitude: -33.9, longitude: 151.2 }),
    row(2, 'B', { date: '2021-06-30T23:00:00Z', latitude: -34.0, longitude: 151.3 }),
    row(3, 'C', { date: '2024-01-01', latitude: -37.8, longitude: 144.9 }),
    row(4, 'D'),
  ]);
  const q = index.vector(5)!;
  const near = { latitude: -33.9, longitude: 151.2 };
  const r = index.search(q, { species: 'humpback_whale', from: '2020-01-01', to: '2021-06-30', withinKm: 50, near }, { top: 10, per: 'individual' });
  assert.deepEqual(r.matches.map((m) => m.individualId), ['B'], 'species, dates (the last day included) and distance all apply');
  assert.equal(r.description, '1 of 4 photos: species humpback_whale, within 50 km, 2020-01-01 to 2021-06-30');
  assert.deepEqual(index.search(q, { withinKm: 1000, near }, { top: 10, per: 'individual' }).matches.map((m) => m.individualId).sort(), ['A', 'B', 'C'], 'photos without a position are out of a distance search');
  assert.throws(() => index.search(q, { withinKm: 5 }, { top: 10, per: 'individual' }), /needs a position/);
  index.dispose();
});
