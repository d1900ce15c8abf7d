import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Embedded } from '../../src/identify/embed.js';
import { extendGallery, type Gallery } from '../../src/identify/gallery.js';

const base = (mirrors: boolean): Gallery => ({
  // Two photos (a1, b1), 2 dims; with mirrors the mirrored rows follow the plain ones.
  ids: mirrors ? ['a', 'b', 'a', 'b'] : ['a', 'b'],
  paths: mirrors ? ['a1', 'b1', 'a1', 'b1'] : ['a1', 'b1'],
  mirrors,
  dim: 2,
  embedding: Float32Array.from(mirrors ? [1, 0, 0, 1, 0.8, 0.6, 0.6, 0.8] : [1, 0, 0, 1]),
  fingerprint: 'f',
  cached: true,
});
const photos = [{ path: 'c1', individualId: 'c' }];
const embedded = (views: boolean): Embedded => ({
  count: 1,
  dim: 2,
  embedding: Float32Array.from([0.6, -0.8]),
  species: Float32Array.from([1]),
  unreadable: [],
  ...(views ? { views: { plain: Float32Array.from([0, -1]), mirrored: Float32Array.from([-1, 0]) } } : {}),
});

describe('extendGallery', () => {
  it('appends the photos as rows, with a new fingerprint', () => {
    const g = extendGallery(base(false), photos, embedded(false));
    assert.deepEqual(g.ids, ['a', 'b', 'c']);
    assert.deepEqual(g.paths, ['a1', 'b1', 'c1']);
    assert.deepEqual([...g.embedding], [1, 0, 0, 1, 0.6000000238418579, -0.800000011920929]);
    assert.notEqual(g.fingerprint, 'f');
  });

  it('keeps the plain rows first in a gallery with mirrors', () => {
    const g = extendGallery(base(true), photos, embedded(true));
    assert.deepEqual(g.ids, ['a', 'b', 'c', 'a', 'b', 'c']);
    assert.deepEqual(g.paths, ['a1', 'b1', 'c1', 'a1', 'b1', 'c1']);
    assert.deepEqual([...g.embedding].map((x) => +x.toFixed(6)), [1, 0, 0, 1, 0, -1, 0.8, 0.6, 0.6, 0.8, -1, 0]);
  });

  it('refuses embeddings that do not fit', () => {
    assert.throws(() => extendGallery(base(true), photos, embedded(false)), /mirrored views/);
    assert.throws(() => extendGallery(base(false), [...photos, ...photos], embedded(false)), /1 embeddings of 2 dims for 2 photos/);
  });
});
