// Exact top-k of long rows (a block of queries against tens of thousands of gallery photos),
// cheaper than topk over whole rows. Each row is cut into chunks of `chunk` columns. Every one of
// the row's k largest elements lies in one of the k chunks with the largest maxima: a chunk outside
// them has k chunk maxima, in other chunks, at least as large as anything in it. So topk runs over
// the chunk maxima, then over those k chunks only; one vectorised max pass replaces topk's per-row
// selection over all columns, which cost about a fifth of the whole search at the competition's size.
import * as torch from '../torch/index.js';

/**
 * Chunk length: about sqrt(columns / k) balances the two small topk calls (over columns / chunk
 * maxima, then over k x chunk elements).
 */
export function chunkLength(columns: number, k: number): number {
  return Math.max(1, Math.round(Math.sqrt(columns / k)));
}

/** Columns a score buffer needs so that every row splits into whole chunks. */
export function paddedColumns(columns: number, chunk: number): number {
  return Math.ceil(columns / chunk) * chunk;
}

/**
 * The k largest values of every row of `scores` ([rows, padded]) and their column indices, largest
 * first, as `Tensor.topk(k, 1)` would give them (which of equal values comes first may differ).
 * Columns from `columns` on are padding: they are set to -Infinity here so they are never chosen.
 * `padded` must be a multiple of `chunk`.
 */
export function rowTopk(scores: torch.Tensor, columns: number, k: number, chunk: number): { values: torch.Tensor; indices: torch.Tensor } {
  const [rows, padded] = scores.shape as [number, number];
  if (padded % chunk !== 0 || padded < columns || k > columns) {
    throw new RangeError(`rowTopk: ${padded} columns (${columns} real) do not split into chunks of ${chunk}, or k = ${k} is more than the real columns`);
  }
  const chunks = padded / chunk;
  return torch.tidy(() => {
    if (padded > columns) scores.narrow(1, columns, padded - columns).fill_(-Infinity);
    // Too few chunks to skip any: plain topk is as cheap.
    if (chunks <= 2 * k) return scores.narrow(1, 0, columns).topk(k, 1);
    const best = scores.view(rows, chunks, chunk).amax(2).topk(k, 1).indices;
    // Columns of the k best chunks: chunk index x chunk + offset, as [rows, k x chunk].
    const cols = best.unsqueeze(2).mul(chunk).add(torch.arange(chunk, undefined, 1, { dtype: 'int64' })).view(rows, k * chunk);
    const { values, indices } = scores.gather(1, cols).topk(k, 1);
    return { values, indices: cols.gather(1, indices) };
  });
}
