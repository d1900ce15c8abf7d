// Candidates for a photo: its cosine similarity to every embedded photo in one matrix product, then
// only the gallery photos (those of confirmed encounters) that the reviewer's filters allow, best
// per individual (or per photo). The filters really restrict the search, and the answer says how
// many photos were searched and why. The matrix is built when photos are added; a decision only
// changes which rows are gallery rows, so the very next search sees it.
import * as torch from '../torch/index.js';
import type { GalleryRow } from './store.js';
import type { SearchFilter } from './types.js';

export interface Match {
  individualId: string;
  photoId: number;
  score: number;
}

export interface SearchOptions {
  top: number;
  per: 'individual' | 'photo';
  exclude?: ReadonlySet<number>;
}

export interface SearchRequest {
  /** Unit rows, [count, dim]. */
  queries: Float32Array;
  filter: SearchFilter;
  options: SearchOptions;
}

export interface SearchResult {
  /** Gallery photos that passed the filters, of all gallery photos. */
  searched: number;
  total: number;
  /** What was searched, in words: "2,482 of 28,599 photos: species humpback_whale, within 50 km, 2019-01-01 to 2024-12-31". */
  description: string;
  matches: Match[];
}

const EARTH_KM = 6371.0088;

/** Great-circle distance in km. */
export function haversineKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The filter as a predicate on gallery rows, and in words. */
export function filterOf(f: SearchFilter): { keep: (r: GalleryRow) => boolean; words: string[] } {
  const tests: ((r: GalleryRow) => boolean)[] = [];
  const words: string[] = [];
  if (f.species !== undefined) {
    tests.push((r) => r.species === f.species);
    words.push(`species ${f.species}`);
  }
  if (f.withinKm !== undefined) {
    if (!f.near) throw new RangeError('a distance filter needs a position to measure from, and this encounter has none: give one (near)');
    const near = f.near;
    const km = f.withinKm;
    tests.push((r) => r.latitude !== null && r.longitude !== null && haversineKm(near, { latitude: r.latitude, longitude: r.longitude }) <= km);
    words.push(`within ${km} km`);
  }
  if (f.from !== undefined || f.to !== undefined) {
    // ISO dates compare as strings; `to` includes its whole day.
    const to = f.to === undefined ? undefined : `${f.to}\uffff`;
    tests.push((r) => r.date !== null && (f.from === undefined || r.date >= f.from) && (to === undefined || r.date <= to));
    words.push(f.from && f.to ? `${f.from} to ${f.to}` : f.from ? `from ${f.from}` : `until ${f.to}`);
  }
  return { keep: (r) => tests.every((t) => t(r)), words };
}

export class GalleryIndex {
  /** The embeddings as columns, [dim, photos]: a product with queries reads it contiguously. */
  private readonly matrix: torch.Tensor | null;
  /** Matrix row of each photo id. */
  private readonly position = new Map<number, number>();
  private rows: GalleryRow[] = [];
  /** For each gallery row: its matrix row, and its individual as an index into `individuals`. */
  private at = new Int32Array(0);
  private galleryAt = new Set<number>();
  private individualOf = new Int32Array(0);
  private individuals: string[] = [];

  /** `vectors`: unit embeddings of every photo that may be searched or be a query. */
  constructor(vectors: ReadonlyMap<number, Float32Array>, readonly dim: number) {
    const flat = new Float32Array(vectors.size * dim);
    let i = 0;
    for (const [photoId, v] of vectors) {
      this.position.set(photoId, i);
      flat.set(v, i++ * dim);
    }
    this.matrix = vectors.size ? torch.tidy(() => torch.tensor(flat, [vectors.size, dim]).transpose(0, 1).contiguous()).keep() : null;
  }

  dispose(): void {
    this.matrix?.dispose();
  }

  /** The gallery photos (confirmed encounters'), as the store lists them now. */
  setGallery(rows: readonly GalleryRow[]): void {
    this.rows = rows.filter((r) => this.position.has(r.photoId));
    const index = new Map<string, number>();
    this.individuals = [];
    this.at = Int32Array.from(this.rows, (r) => this.position.get(r.photoId)!);
    this.galleryAt = new Set(this.at);
    this.individualOf = Int32Array.from(this.rows, (r) => {
      let k = index.get(r.individualId);
      if (k === undefined) {
        k = this.individuals.push(r.individualId) - 1;
        index.set(r.individualId, k);
      }
      return k;
    });
  }

  /** Photos in the matrix. */
  get size(): number {
    return this.position.size;
  }

  get gallerySize(): number {
    return this.rows.length;
  }

  /** Similarities of each query (unit rows, [count, dim]) to every embedded photo, [count, photos]. */
  private scores(queries: Float32Array, count: number): Float32Array {
    if (!this.matrix || count === 0) return new Float32Array(0);
    return torch.tidy(() => torch.tensor(queries, [count, this.dim]).matmul(this.matrix!).toFloat32Array());
  }

  /**
   * The best `top` individuals (or photos) for the query photos (unit rows; an individual scores by
   * its best photo against any of them), among the gallery photos the filter allows; `exclude`
   * leaves photos out (the query's own).
   */
  search(queries: Float32Array, filter: SearchFilter, options: SearchOptions): SearchResult {
    return this.searchMany([{ queries, filter, options }])[0]!;
  }

  /**
   * Several searches at once: every query against the matrix in one product, which reads the
   * matrix from memory once (the cost of a search at this size), then each search's own filter.
   */
  searchMany(requests: readonly SearchRequest[]): SearchResult[] {
    const counts = requests.map((r) => r.queries.length / this.dim);
    const all = new Float32Array(requests.reduce((n, r) => n + r.queries.length, 0));
    let offset = 0;
    for (const r of requests) {
      all.set(r.queries, offset);
      offset += r.queries.length;
    }
    const scores = this.scores(all, all.length / this.dim);
    const n = this.position.size;
    let first = 0;
    return requests.map((r, k) => {
      const result = this.collect(scores.slice(first * n, (first + counts[k]!) * n), counts[k]!, r.filter, r.options);
      first += counts[k]!;
      return result;
    });
  }

  /** One search's answer from its queries' scores ([count, photos]; its own copy, changed here). */
  private collect(scores: Float32Array, count: number, filter: SearchFilter, options: SearchOptions): SearchResult {
    const { keep, words } = filterOf(filter);
    const n = this.position.size;
    // The best of the queries for each photo, in the first row; excluded photos can never win.
    for (let q = 1; q < count; q++) for (let j = 0; j < n; j++) scores[j] = Math.max(scores[j]!, scores[q * n + j]!);
    const excluded = new Set<number>();
    for (const id of options.exclude ?? []) {
      const at = this.position.get(id);
      if (at !== undefined) excluded.add(at);
    }
    // Rows the filter leaves out are marked too (-Infinity), so the hot loop below only compares numbers.
    const own = scores.subarray(0, n);
    for (const at of excluded) own[at] = -Infinity;
    let searched = this.rows.length - [...excluded].filter((at) => this.galleryAt.has(at)).length;
    if (words.length) {
      searched = 0;
      for (let i = 0; i < this.rows.length; i++) {
        const at = this.at[i]!;
        if (own[at] === -Infinity || !keep(this.rows[i]!)) own[at] = -Infinity;
        else searched++;
      }
    }
    const perPhoto = options.per === 'photo';
    const bestScore = new Float32Array(perPhoto ? this.rows.length : this.individuals.length).fill(-Infinity);
    const bestRow = new Int32Array(bestScore.length).fill(-1);
    for (let i = 0; i < this.rows.length; i++) {
      const score = own[this.at[i]!]!;
      const slot = perPhoto ? i : this.individualOf[i]!;
      if (score > bestScore[slot]!) {
        bestScore[slot] = score;
        bestRow[slot] = i;
      }
    }
    // The top slots, kept sorted in a short list rather than sorting every individual.
    const top: number[] = [];
    for (let slot = 0; slot < bestRow.length; slot++) {
      if (bestRow[slot]! < 0) continue;
      const score = bestScore[slot]!;
      if (top.length === options.top && score <= bestScore[top[top.length - 1]!]!) continue;
      let k = top.length;
      while (k > 0 && bestScore[top[k - 1]!]! < score) k--;
      top.splice(k, 0, slot);
      if (top.length > options.top) top.pop();
    }
    const matches = top.map((slot) => ({ individualId: this.rows[bestRow[slot]!]!.individualId, photoId: this.rows[bestRow[slot]!]!.photoId, score: bestScore[slot]! }));
    const description = `${searched.toLocaleString('en')} of ${this.rows.length.toLocaleString('en')} photos${words.length ? `: ${words.join(', ')}` : ''}`;
    return { searched, total: this.rows.length, description, matches };
  }

  /** For each query photo (by id), its best score over the gallery (itself left out): for sorting a queue. */
  bestScores(photoIds: readonly number[]): Map<number, number> {
    const known = photoIds.filter((id) => this.position.has(id));
    if (known.length === 0) return new Map();
    const queries = new Float32Array(known.length * this.dim);
    known.forEach((id, i) => queries.set(this.vector(id)!, i * this.dim));
    const scores = this.scores(queries, known.length);
    const n = this.position.size;
    return new Map(
      known.map((id, q) => {
        const self = this.position.get(id)!;
        let best = -Infinity;
        for (const i of this.at) if (i !== self) best = Math.max(best, scores[q * n + i]!);
        return [id, best];
      }),
    );
  }

  /** A photo's embedding, if it is in the index. */
  vector(photoId: number): Float32Array | undefined {
    const at = this.position.get(photoId);
    if (at === undefined || !this.matrix) return undefined;
    return torch.tidy(() => this.matrix!.narrow(1, at, 1).contiguous().toFloat32Array());
  }
}
