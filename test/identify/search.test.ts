import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { searchGallery } from '../../src/identify/search.js';
import * as torch from '../../src/torch/index.js';

describe('searchGallery', () => {
  it('matches brute force: best similarity per individual, most similar first, in uneven blocks', () => {
    torch.manualSeed(3);
    const q = torch.F.normalize(torch.randn([10, 8]));
    const g = torch.F.normalize(torch.randn([40, 8]));
    const ids = Array.from({ length: 40 }, (_, i) => `ind${i % 7}`);
    const found = searchGallery(q, g, ids, { neighbours: 40, topIndividuals: 5, blockSize: 3 });
    const qs = q.toFloat32Array();
    const gs = g.toFloat32Array();
    assert.equal(found.length, 10);
    for (let r = 0; r < 10; r++) {
      const best = new Map<string, { score: number; galleryIndex: number }>();
      for (let j = 0; j < 40; j++) {
        let dot = 0;
        for (let d = 0; d < 8; d++) dot += qs[r * 8 + d]! * gs[j * 8 + d]!;
        const b = best.get(ids[j]!);
        if (!b || dot > b.score) best.set(ids[j]!, { score: dot, galleryIndex: j });
      }
      const expected = [...best].sort((a, b) => b[1].score - a[1].score).slice(0, 5);
      assert.deepEqual(found[r]!.map((c) => c.id), expected.map(([id]) => id), `query ${r}`);
      found[r]!.forEach((c, k) => {
        assert.equal(c.galleryIndex, expected[k]![1].galleryIndex);
        assert.ok(Math.abs(c.score - expected[k]![1].score) < 1e-5);
      });
    }
    for (const t of [q, g]) t.dispose();
  });

  it('on a gallery large enough for the chunked top-k, finds the same neighbours as a full topk', () => {
    torch.manualSeed(5);
    const q = torch.F.normalize(torch.randn([37, 16]));
    const g = torch.F.normalize(torch.randn([3001, 16]));
    // One individual per photo, so the best individuals are the nearest photos.
    const found = searchGallery(q, g, Array.from({ length: 3001 }, (_, i) => `id${i}`), { neighbours: 12, topIndividuals: 12, blockSize: 10 });
    const { values, indices } = q.matmul(g.transpose(0, 1)).topk(12, 1);
    const v = values.toFloat32Array();
    const idx = indices.toArray() as number[];
    for (let r = 0; r < 37; r++) {
      assert.deepEqual(found[r]!.map((c) => c.galleryIndex), idx.slice(r * 12, (r + 1) * 12), `query ${r}`);
      found[r]!.forEach((c, j) => assert.ok(Math.abs(c.score - v[r * 12 + j]!) < 1e-6));
    }
    for (const t of [q, g, values, indices]) t.dispose();
  });

  it('a photo in the gallery finds itself with similarity 1', () => {
    torch.manualSeed(4);
    const g = torch.F.normalize(torch.randn([20, 16]));
    const found = searchGallery(g.narrow(0, 5, 1), g, Array.from({ length: 20 }, (_, i) => `id${i}`));
    assert.equal(found[0]![0]!.id, 'id5');
    assert.ok(Math.abs(found[0]![0]!.score - 1) < 1e-5);
    g.dispose();
  });

  it('rejects mismatched shapes and ids, and bad options', () => {
    const q = torch.zeros([2, 4]);
    const g = torch.zeros([3, 5]);
    assert.throws(() => searchGallery(q, g, ['a', 'b', 'c']), /expected queries \[n, d\] and gallery \[m, d\]/);
    const g4 = torch.zeros([3, 4]);
    assert.throws(() => searchGallery(q, g4, ['a']), /1 gallery ids for 3 gallery rows/);
    assert.throws(() => searchGallery(q, g4, ['a', 'b', 'c'], { blockSize: 0 }), /blockSize/);
    for (const t of [q, g, g4]) t.dispose();
  });
});
