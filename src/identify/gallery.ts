// The gallery: embeddings of labelled photos, each row tagged with its individual, what new photos
// are searched against. Built from photos' embeddings; where it is cached is the caller's business
// (a run folder caches its training photos' gallery, see runs/gallery_cache.ts).
import { createHash } from 'node:crypto';
import type { Embedded } from './embed.js';

export interface Gallery {
  /** Individual of each row. */
  ids: string[];
  /** Photo of each row; with mirrors, the second half repeats the first (mirrored views). */
  paths: string[];
  /** Rows [0, rows/2) are plain views and the rest mirrored ones. */
  mirrors: boolean;
  dim: number;
  /** [rows, dim] unit rows. */
  embedding: Float32Array;
  /** What the rows depend on (model, photos, views): equal fingerprints, equal galleries. */
  fingerprint: string;
  /** Read from a cache rather than computed now. */
  cached: boolean;
}

/**
 * A gallery of the photos that could be read (their rows: plain views, then mirrored ones with
 * `mirrors`), and the photos left out.
 */
export function galleryOf<P extends { path: string; individualId: string }>(photos: readonly P[], embedded: Embedded, options: { mirrors: boolean; fingerprint: string }): { gallery: Gallery; kept: P[] } {
  const [kept, readable] = readableOnly(photos, embedded);
  const rowsOf = <T>(list: T[]): T[] => (options.mirrors ? [...list, ...list] : list);
  const embedding = options.mirrors ? concat(readable.views!.plain, readable.views!.mirrored) : readable.embedding;
  const gallery: Gallery = { ids: rowsOf(kept.map((r) => r.individualId)), paths: rowsOf(kept.map((r) => r.path)), mirrors: options.mirrors, dim: embedded.dim, embedding, fingerprint: options.fingerprint, cached: false };
  return { gallery, kept };
}

/** The photos that could be read, with their embeddings. */
function readableOnly<P>(photos: readonly P[], e: Embedded): [P[], Embedded] {
  const bad = new Set(e.unreadable.map((u) => u.index));
  const keep = (i: number): boolean => !bad.has(i);
  const rows = (x: Float32Array): Float32Array => rowsWhere(x, e.dim, keep);
  const readable: Embedded = {
    ...e,
    count: e.count - bad.size,
    embedding: rows(e.embedding),
    species: rowsWhere(e.species, e.species.length / e.count, keep),
    ...(e.views ? { views: { plain: rows(e.views.plain), mirrored: rows(e.views.mirrored) } } : {}),
    unreadable: [],
  };
  return [photos.filter((_, i) => keep(i)), readable];
}

/** The rows of a [n, dim] matrix whose index passes `keep`. */
function rowsWhere(x: Float32Array, dim: number, keep: (row: number) => boolean): Float32Array {
  // No columns (the species of a model without a species head): rows cannot be counted, nor are there any numbers.
  if (x.length === 0) return x;
  const rows = [...Array(x.length / dim).keys()].filter(keep);
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/**
 * The gallery with more labelled photos appended (each photo's plain and mirrored views when the
 * gallery has mirrors, keeping its plain rows first), e.g. the validation photos once the threshold
 * has been calibrated without them. Nothing is re-embedded or cached: `embedded` are the photos'
 * own embeddings. Its fingerprint covers the added photos (by path) on top of the gallery's.
 */
export function extendGallery(gallery: Gallery, photos: readonly { path: string; individualId: string }[], embedded: Embedded): Gallery {
  if (embedded.count !== photos.length || embedded.dim !== gallery.dim) {
    throw new RangeError(`extendGallery: ${embedded.count} embeddings of ${embedded.dim} dims for ${photos.length} photos and a gallery of ${gallery.dim} dims`);
  }
  if (gallery.mirrors && !embedded.views) throw new Error('extendGallery: a gallery with mirrors needs the photos\' plain and mirrored views');
  if (embedded.unreadable.length) return extendGallery(gallery, ...readableOnly(photos, embedded));
  const ids = photos.map((p) => p.individualId);
  const paths = photos.map((p) => p.path);
  const h = createHash('sha256').update(gallery.fingerprint);
  for (const p of photos) h.update(`\n${p.path},${p.individualId}`);
  const fingerprint = h.digest('hex');
  if (!gallery.mirrors) {
    return { ...gallery, ids: [...gallery.ids, ...ids], paths: [...gallery.paths, ...paths], embedding: concat(gallery.embedding, embedded.embedding), fingerprint };
  }
  const half = (gallery.ids.length / 2) * gallery.dim;
  const plain = gallery.embedding.subarray(0, half);
  const mirrored = gallery.embedding.subarray(half);
  const halfOf = <T>(list: T[]): T[] => list.slice(0, list.length / 2);
  const rows = <T>(list: T[], extra: T[]): T[] => [...halfOf(list), ...extra, ...halfOf(list), ...extra];
  return {
    ...gallery,
    ids: rows(gallery.ids, ids),
    paths: rows(gallery.paths, paths),
    embedding: concat(plain, embedded.views!.plain, mirrored, embedded.views!.mirrored),
    fingerprint,
  };
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
