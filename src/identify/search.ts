// Exact cosine k-nearest-neighbour search of L2-normalised embeddings against a gallery, in
// query blocks (one matmul + an exact chunked top-k each on the engine), collapsed to the best
// similarity per individual.
import * as torch from '../torch/index.js';
import type { Candidate } from '../eval/threshold.js';
import { checkInteger } from '../util/check.js';
import { chunkLength, paddedColumns, rowTopk } from './row_topk.js';

export interface SearchOptions {
  /** Gallery neighbours looked at per query; more finds more distinct individuals. */
  neighbours?: number;
  /** Distinct individuals returned per query. */
  topIndividuals?: number;
  /**
   * Queries per matmul block (bounds memory: block x gallery floats). Default 1024: at 51k gallery
   * photos it ran a few per cent faster than 2048 on 2 cores (the block stays closer to cache), in
   * half the memory.
   */
  blockSize?: number;
}

/**
 * For every query row, the best-matching individuals, most similar first.
 * `galleryIds[j]` is the individual of gallery row j.
 */
export function searchGallery(queries: torch.Tensor, gallery: torch.Tensor, galleryIds: readonly string[], options: SearchOptions = {}): Candidate[][] {
  const [nq, d] = queries.shape as [number, number];
  const [ng, dg] = gallery.shape as [number, number];
  if (queries.ndim !== 2 || gallery.ndim !== 2 || d !== dg) {
    throw new RangeError(`searchGallery: expected queries [n, d] and gallery [m, d], got [${queries.shape.join(', ')}] and [${gallery.shape.join(', ')}]`);
  }
  if (galleryIds.length !== ng) throw new RangeError(`searchGallery: ${galleryIds.length} gallery ids for ${ng} gallery rows`);
  const top = checkInteger('topIndividuals', options.topIndividuals ?? 5, 1);
  const k = Math.min(ng, checkInteger('neighbours', options.neighbours ?? Math.max(50, top * 10), 1));
  const block = checkInteger('blockSize', options.blockSize ?? 1024, 1);
  const out: Candidate[][] = [];
  if (ng === 0) return queries.shape[0] ? Array.from({ length: nq }, () => []) : [];
  torch.noGrad(() => {
    // A transposed view, not a copy: BLAS reads it as is, as fast as a contiguous copy.
    const gt = gallery.transpose(0, 1);
    // One similarity buffer reused by every block: a fresh block x gallery matrix per block costs
    // its page faults again each time (about 15% of the matmul at the competition's size). Its rows
    // are padded to whole chunks for rowTopk; the matmul writes the real columns in place (BLAS
    // takes the row stride as its leading dimension).
    const chunk = chunkLength(ng, k);
    const scores = torch.zeros([Math.min(block, nq), paddedColumns(ng, chunk)], { dtype: queries.dtype, device: queries.device });
    try {
      for (let start = 0; start < nq; start += block) {
        const rows = Math.min(block, nq - start);
        const { values, indices } = torch.tidy(() => {
          const q = queries.narrow(0, start, rows);
          const s = rows === scores.size(0) ? scores : scores.narrow(0, 0, rows);
          torch.op('aten::mm.out', q, gt, s.narrow(1, 0, ng)).dispose();
          return rowTopk(s, ng, k, chunk);
        });
        const v = values.toFloat32Array();
        const idx = indices.data() as BigInt64Array;
        values.dispose();
        indices.dispose();
        for (let r = 0; r < rows; r++) {
          const seen = new Set<string>();
          const cands: Candidate[] = [];
          for (let j = r * k; j < (r + 1) * k && cands.length < top; j++) {
            const g = Number(idx[j]);
            const id = galleryIds[g]!;
            if (seen.has(id)) continue;
            seen.add(id);
            cands.push({ id, score: v[j]!, galleryIndex: g });
          }
          out.push(cands);
        }
      }
    } finally {
      scores.dispose();
      gt.dispose();
    }
  });
  return out;
}

/**
 * Every query's cosine similarity to every gallery photo, for measures that need the whole
 * ranking (mean average precision) rather than the top few. Computed block by block, each block's
 * [rows, photos] scores handed to `visit(firstQuery, rows, scores)` and not kept, so the full
 * matrix never has to fit (256 queries against the competition's 51k photos: 52 MB a block).
 * `queries` and `gallery` are unit rows of `dim`; with `mirrors` the gallery's second half
 * repeats its photos mirrored and a photo scores its better view.
 */
export function photoSimilarities(queries: Float32Array, gallery: Float32Array, dim: number, mirrors: boolean, visit: (first: number, rows: number, scores: Float32Array) => void, blockSize = 256): void {
  checkInteger('dim', dim, 1);
  checkInteger('blockSize', blockSize, 1);
  const ng = gallery.length / dim;
  const nq = queries.length / dim;
  if (!Number.isInteger(ng) || !Number.isInteger(nq) || (mirrors && ng % 2 !== 0)) {
    throw new RangeError(`photoSimilarities: ${queries.length} query and ${gallery.length} gallery numbers are not whole rows of ${dim}${mirrors ? ' (an even number of gallery rows, with mirrors)' : ''}`);
  }
  if (nq === 0 || ng === 0) return;
  const photos = mirrors ? ng / 2 : ng;
  torch.noGrad(() => {
    const g = torch.tensor(gallery, [ng, dim]);
    try {
      for (let start = 0; start < nq; start += blockSize) {
        const rows = Math.min(blockSize, nq - start);
        const scores = torch.tidy(() => {
          const s = torch.tensor(queries.subarray(start * dim, (start + rows) * dim), [rows, dim]).matmul(g.transpose(0, 1));
          return (mirrors ? s.narrow(1, 0, photos).maximum(s.narrow(1, photos, photos)) : s).toFloat32Array();
        });
        visit(start, rows, scores);
      }
    } finally {
      g.dispose();
    }
  });
}
