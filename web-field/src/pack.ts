// The field pack as the page uses it (format 1, docs/field-pack.md): manifest, index, embeddings;
// the search (dot product against every row, an individual scored by its best row) and the
// calibrated probability (as src/eval/calibration.ts calibrated()).

export interface PackManifest {
  format: number;
  kind: string;
  created: string;
  model: string;
  counts: { individuals: number; photos: number; thumbnails: number };
  imageSize: number;
  embeddingDim: number;
  threshold: number | null;
  calibration: { scores: number[]; probabilities: number[] } | null;
  detector: { file: string; imageSize: number; gridSize: number; minScore: number } | null;
  input: { name: string; layout: 'NCHW'; range: [number, number]; size: number; resize: string | null; normalization: { inGraph: boolean } };
  outputs: string[];
  species: string[];
}

export interface PackIndividual {
  id: string;
  name: string | null;
  species: string | null;
  rows: number[];
  lastSeen: string | null;
  thumbs: number[];
}

export interface PackIndex {
  format: number;
  individuals: PackIndividual[];
  rows: number[];
}

export interface Pack {
  manifest: PackManifest;
  index: PackIndex;
  /** [rows, dim] unit rows. */
  embeddings: Float32Array;
  /** For each row, its individual's position in index.individuals. */
  rowIndividual: Int32Array;
}

export interface Candidate {
  /** Position in index.individuals. */
  individual: number;
  score: number;
  /** The row that scored best. */
  row: number;
}

/** Fetches a URL relative to the page (/ or /field/). */
async function get(url: string): Promise<Response> {
  const res = await fetch(new URL(url, document.baseURI));
  if (!res.ok) throw new Error(`${url}: ${res.status} ${res.statusText}`);
  return res;
}

export async function loadPack(): Promise<Pack> {
  const manifest = (await (await get('pack/manifest.json')).json()) as PackManifest;
  if (manifest.format !== 1 || manifest.kind !== 'finprint-field-pack') throw new Error(`not a field pack of format 1 (format ${String(manifest.format)}, kind ${String(manifest.kind)})`);
  const [index, bytes] = await Promise.all([get('pack/index.json').then((r) => r.json() as Promise<PackIndex>), get('pack/embeddings.bin').then((r) => r.arrayBuffer())]);
  const dim = manifest.embeddingDim;
  // float32 little-endian, as every browser's Float32Array is on the machines that run one.
  const embeddings = new Float32Array(bytes);
  if (embeddings.length !== index.rows.length * dim) throw new Error(`embeddings.bin holds ${embeddings.length / dim} rows of ${dim}, index.json lists ${index.rows.length}`);
  return { manifest, index, embeddings, rowIndividual: Int32Array.from(index.rows) };
}

/**
 * Every individual's best score for the query (dot product of unit vectors: the cosine), best
 * first, `top` of them. One pass over the rows, 4 accumulators per dot product.
 */
export function search(embeddings: Float32Array, rowIndividual: Int32Array, individuals: number, dim: number, query: Float32Array, top: number): Candidate[] {
  const rows = rowIndividual.length;
  const best = new Float32Array(individuals).fill(-Infinity);
  const bestRow = new Int32Array(individuals).fill(-1);
  for (let r = 0, o = 0; r < rows; r++, o += dim) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let k = 0;
    for (; k + 3 < dim; k += 4) {
      a0 += embeddings[o + k]! * query[k]!;
      a1 += embeddings[o + k + 1]! * query[k + 1]!;
      a2 += embeddings[o + k + 2]! * query[k + 2]!;
      a3 += embeddings[o + k + 3]! * query[k + 3]!;
    }
    for (; k < dim; k++) a0 += embeddings[o + k]! * query[k]!;
    const s = a0 + a1 + (a2 + a3);
    const i = rowIndividual[r]!;
    if (s > best[i]!) {
      best[i] = s;
      bestRow[i] = r;
    }
  }
  const out: Candidate[] = [];
  for (let i = 0; i < individuals; i++) if (bestRow[i]! >= 0) out.push({ individual: i, score: best[i]!, row: bestRow[i]! });
  out.sort((a, b) => b.score - a.score || a.individual - b.individual);
  return out.slice(0, top);
}

/** P(same individual | score): piecewise linear between the isotonic points, flat outside them. */
export function calibrated(c: { scores: number[]; probabilities: number[] } | null, score: number): number | null {
  if (!c || c.scores.length === 0) return null;
  const { scores: x, probabilities: y } = c;
  if (score <= x[0]!) return y[0]!;
  if (score >= x[x.length - 1]!) return y[y.length - 1]!;
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= score) lo = mid;
    else hi = mid;
  }
  const span = x[hi]! - x[lo]!;
  const t = span > 0 ? (score - x[lo]!) / span : 1;
  return y[lo]! + t * (y[hi]! - y[lo]!);
}
