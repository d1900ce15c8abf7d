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
  private readonly matrix: torch.Tensor | null;
  /** Matrix row of each photo id. */
  private readonly position = new Map<number, number>();
  private rows: GalleryRow[] = [];

  /** `vectors`: unit embeddings of every photo that may be searched or be a query. */
  constructor(vectors: ReadonlyMap<number, Float32Array>, readonly dim: number) {
    const flat = new Float32Array(vectors.size * dim);
    let i = 0;
    for (const [photoId, v] of vectors) {
      this.position.set(photoId, i);
      flat.set(v, i++ * dim);
    }
    this.matrix = vectors.size ? torch.tensor(flat, [vectors.size, dim]).keep() : null;
  }

  dispose(): void {
    this.matrix?.dispose();
  }

  /** The gallery photos (confirmed encounters'), as the store lists them now. */
  setGallery(rows: readonly GalleryRow[]): void {
    this.rows = rows.filter((r) => this.position.has(r.photoId));
  }

  get gallerySize(): number {
    return this.rows.length;
  }

  /** Similarities of each query (unit rows, [count, dim]) to every embedded photo, [count, photos]. */
  private scores(queries: Float32Array, count: number): Float32Array {
    if (!this.matrix || count === 0) return new Float32Array(0);
    return torch.tidy(() => torch.tensor(queries, [count, this.dim]).matmul(this.matrix!.transpose(0, 1)).toFloat32Array());
  }

  /**
   * The best `top` individuals (or photos) for the query photos (unit rows; an individual scores by
   * its best photo against any of them), among the gallery photos the filter allows; `exclude`
   * leaves photos out (the query's own).
   */
  search(queries: Float32Array, filter: SearchFilter, options: { top: number; per: 'individual' | 'photo'; exclude?: ReadonlySet<number> }): SearchResult {
    const { keep, words } = filterOf(filter);
    const count = queries.length / this.dim;
    const scores = this.scores(queries, count);
    const n = this.position.size;
    const best = new Map<string, Match>();
    const all: Match[] = [];
    let searched = 0;
    for (const r of this.rows) {
      if (options.exclude?.has(r.photoId) || !keep(r)) continue;
      searched++;
      const at = this.position.get(r.photoId)!;
      let score = -Infinity;
      for (let q = 0; q < count; q++) score = Math.max(score, scores[q * n + at]!);
      const m = { individualId: r.individualId, photoId: r.photoId, score };
      if (options.per === 'photo') all.push(m);
      else if ((best.get(r.individualId)?.score ?? -Infinity) < score) best.set(r.individualId, m);
    }
    const matches = (options.per === 'photo' ? all : [...best.values()]).sort((a, b) => b.score - a.score).slice(0, options.top);
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
    const at = this.rows.map((r) => this.position.get(r.photoId)!);
    return new Map(
      known.map((id, q) => {
        const self = this.position.get(id)!;
        let best = -Infinity;
        for (const i of at) if (i !== self) best = Math.max(best, scores[q * n + i]!);
        return [id, best];
      }),
    );
  }

  /** A photo's embedding, if it is in the index. */
  vector(photoId: number): Float32Array | undefined {
    const at = this.position.get(photoId);
    if (at === undefined || !this.matrix) return undefined;
    return torch.tidy(() => this.matrix!.narrow(0, at, 1).toFloat32Array());
  }
}
