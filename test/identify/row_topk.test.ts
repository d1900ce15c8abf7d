import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkLength, paddedColumns, rowTopk } from '../../src/identify/row_topk.js';
import * as torch from '../../src/torch/index.js';

/** A [rows, padded] buffer whose first `columns` columns are `values` and the rest garbage (the padding rowTopk overwrites). */
function buffer(values: torch.Tensor, padded: number): torch.Tensor {
  const [rows, columns] = values.shape as [number, number];
  const b = torch.full([rows, padded], 1e9, { dtype: 'float32' });
  b.narrow(1, 0, columns).copy_(values);
  return b;
}

describe('rowTopk', () => {
  it('gives topk values, largest first, on rows that do not split evenly into chunks', () => {
    torch.manualSeed(11);
    for (const [columns, k] of [[1001, 5], [4096, 50], [777, 1], [300, 40]] as const) {
      const x = torch.randn([6, columns]);
      const chunk = chunkLength(columns, k);
      const padded = paddedColumns(columns, chunk);
      const b = buffer(x, padded);
      const got = rowTopk(b, columns, k, chunk);
      const want = x.topk(k, 1);
      assert.deepEqual(Array.from(got.values.toFloat32Array()), Array.from(want.values.toFloat32Array()), `${columns} columns, k ${k}`);
      // Indices point at those values, inside the real columns.
      const idx = got.indices.toArray() as number[];
      assert.ok(idx.every((i) => i >= 0 && i < columns));
      assert.deepEqual(Array.from(x.gather(1, got.indices).toFloat32Array()), Array.from(got.values.toFloat32Array()));
      for (const t of [x, b, got.values, got.indices, want.values, want.indices]) t.dispose();
    }
  });

  it('keeps ties: many equal values, all found, each column once', () => {
    const columns = 2000;
    // Values 0..9 repeated: the top 30 are the 200 nines' first 30, all equal.
    const x = torch.tensor(Float32Array.from({ length: columns }, (_, i) => i % 10), [1, columns]);
    const chunk = chunkLength(columns, 30);
    const b = buffer(x, paddedColumns(columns, chunk));
    const got = rowTopk(b, columns, 30, chunk);
    assert.deepEqual(Array.from(got.values.toFloat32Array()), Array(30).fill(9));
    const idx = got.indices.toArray() as number[];
    assert.equal(new Set(idx).size, 30);
    assert.ok(idx.every((i) => i % 10 === 9));
    for (const t of [x, b, got.values, got.indices]) t.dispose();
  });

  it('rejects a buffer that does not split into chunks and k above the real columns', () => {
    const b = torch.zeros([2, 10]);
    assert.throws(() => rowTopk(b, 10, 2, 3), /do not split into chunks of 3/);
    assert.throws(() => rowTopk(b, 8, 9, 2), /k = 9 is more than the real columns/);
    b.dispose();
  });
});
