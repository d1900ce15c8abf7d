// The gallery: embeddings of a run's training photos, each labelled with its individual, what new
// photos are searched against. Embedding tens of thousands of photos takes a while, so it is done
// once and cached in the run folder (gallery.safetensors), keyed by a fingerprint of the weights
// file and the photo list: new weights or a changed train.csv rebuild it, nothing else does.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.js';
import * as torch from '../torch/index.js';
import type { OpenRun } from '../train/load_run.js';
import { embedPhotos, type EmbedOptions, type Embedded } from './embed.js';
import { samplesOf, type RunData } from './run_data.js';

export const GALLERY_FILE = 'gallery.safetensors';
const META_KEY = 'finprint_gallery';

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
  fingerprint: string;
  /** Read from the run folder rather than computed now. */
  cached: boolean;
}

export interface GalleryOptions extends Pick<EmbedOptions, 'batchSize' | 'concurrency' | 'quiet'> {
  /** Plain and mirrored view of each photo as two rows, instead of their average as one. */
  mirrors?: boolean;
  /** Recompute even when the cache matches. */
  rebuild?: boolean;
}

interface GalleryMeta {
  fingerprint: string;
  mirrors: boolean;
  images: string[];
  ids: string[];
  /** Why each photo left out of the gallery could not be read. */
  leftOut?: string[];
}

const reportLeftOut = (reasons: readonly string[]): void => {
  for (const r of reasons) process.stderr.write(`gallery: ${r} (left out of the gallery)\n`);
};

/** What the cached embeddings depend on: the weights, the photos and their ids, and how they were embedded. */
export function galleryFingerprint(run: OpenRun, data: RunData, mirrors: boolean): string {
  const weights = join(run.dir, 'best.safetensors');
  const { size, mtimeMs } = statSync(weights);
  const h = createHash('sha256');
  h.update(JSON.stringify({ weights: { size, mtimeMs }, mirrors, imageSize: run.info.imageSize, mode: run.info.mode, crops: run.info.crops }));
  for (const r of data.gallery) h.update(`\n${r.image},${r.individualId}`);
  return h.digest('hex');
}

/**
 * The run's gallery: from the cache when it matches, else embedded now and cached. A photo that
 * cannot be read is reported and left out (its rows are not in the gallery).
 */
export async function openGallery(run: OpenRun, data: RunData, options: GalleryOptions = {}): Promise<Gallery> {
  if (data.gallery.length === 0) throw new Error(`no gallery: every usable row of ${data.dir}/train.csv is a validation photo of this run`);
  const mirrors = options.mirrors ?? false;
  const fingerprint = galleryFingerprint(run, data, mirrors);
  const file = join(run.dir, GALLERY_FILE);
  const pathOf = new Map(data.gallery.map((r) => [r.image, r.path]));
  const rowsOf = <T>(list: T[]): T[] => (mirrors ? [...list, ...list] : list);
  if (!options.rebuild && existsSync(file)) {
    const meta = JSON.parse((await readSafetensorsHeader(file)).metadata[META_KEY] ?? '{}') as Partial<GalleryMeta>;
    if (meta.fingerprint === fingerprint) {
      const t = (await loadSafetensors(file, { names: ['embedding'] })).get('embedding')!;
      const embedding = t.toFloat32Array();
      const dim = t.size(1);
      t.dispose();
      reportLeftOut(meta.leftOut ?? []);
      return { ids: meta.ids!, paths: meta.images!.map((image) => pathOf.get(image)!), mirrors, dim, embedding, fingerprint, cached: true };
    }
  }
  const e = await embedPhotos(run, samplesOf(data, data.gallery), { ...options, views: mirrors, label: 'gallery', skipUnreadable: true });
  const leftOut = e.unreadable.map((u) => u.reason);
  reportLeftOut(leftOut);
  const [kept, readable] = readableOnly(data.gallery, e);
  if (kept.length === 0) throw new Error(`no gallery: none of the run's ${data.gallery.length} training photos in ${data.dir}/train_images can be read`);
  const embedding = mirrors ? concat(readable.views!.plain, readable.views!.mirrored) : readable.embedding;
  const ids = rowsOf(kept.map((r) => r.individualId));
  const meta: GalleryMeta = { fingerprint, mirrors, images: rowsOf(kept.map((r) => r.image)), ids, ...(leftOut.length ? { leftOut } : {}) };
  const t = torch.tensor(embedding, [ids.length, e.dim]);
  try {
    await saveSafetensors(file, { embedding: t }, { [META_KEY]: JSON.stringify(meta) });
  } finally {
    t.dispose();
  }
  return { ids, paths: rowsOf(kept.map((r) => r.path)), mirrors, dim: e.dim, embedding, fingerprint, cached: false };
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
