// A run's gallery (its training photos' embeddings) is expensive to compute, so it is cached in the
// run folder (gallery.safetensors), or in the run's fallback folder under FINPRINT_CACHE when the
// run folder cannot be written (run_cache.ts). The cache is keyed by everything the embeddings
// depend on: the content of the weights (a SHA-256 of best.safetensors, hashed again only when its
// size or mtime changed), the data folder (its absolute path), each gallery photo's name, id, size
// and mtime, and how the photos were embedded (the inference engine too: ONNX Runtime's embeddings
// agree with libtorch's to about 1e-6, not bit for bit). Any change rebuilds it, saying why on stderr.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { embedPhotos, type EmbedOptions } from '../identify/embed.js';
import { galleryOf, type Gallery } from '../identify/gallery.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.js';
import * as torch from '../torch/index.js';
import type { OpenRun } from './open_run.js';
import { runCacheCandidates, writeRunCache } from './run_cache.js';
import { RUN_FILES } from './run_folder.js';
import { photoStat, samplesOf, type RunData } from './run_data.js';

const META_KEY = 'finprint_gallery';

export interface GalleryOptions extends Pick<EmbedOptions, 'batchSize' | 'concurrency' | 'quiet'> {
  /** Plain and mirrored view of each photo as two rows, instead of their average as one. */
  mirrors?: boolean;
  /** Recompute even when the cache matches. */
  rebuild?: boolean;
}

/** What the gallery's embeddings were made from, kept in the cache to say why it no longer matches. */
export interface GallerySource {
  /** best.safetensors: its SHA-256, with the size and mtime it had when hashed. */
  weights: { sha256: string; size: number; mtimeMs: number };
  /** The data folder, absolute. */
  data: string;
  /** How the photos were embedded. */
  settings: { mirrors: boolean; imageSize: number; mode: string; crops: string | null; engine?: string };
  /** Every gallery row (train.csv order): image, individual id, size and mtime of the photo ([-1, -1] if missing), box. */
  photos: [string, string, number, number, number[] | null][];
}

interface GalleryMeta {
  fingerprint: string;
  source?: GallerySource;
  mirrors: boolean;
  images: string[];
  ids: string[];
  /** Why each photo left out of the gallery could not be read. */
  leftOut?: string[];
}

const reportLeftOut = (reasons: readonly string[]): void => {
  for (const r of reasons) process.stderr.write(`gallery: ${r} (left out of the gallery)\n`);
};

// Digests computed by this process, by path, with the size and mtime they were computed at.
const digests = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/**
 * SHA-256 of the weights file, streamed. A digest recorded earlier (`known`, e.g. in the cache)
 * for the same size and mtime is trusted instead of hashing the file again.
 */
export async function weightsDigest(file: string, known?: GallerySource['weights']): Promise<GallerySource['weights']> {
  const { size, mtimeMs } = statSync(file);
  const same = (d: { size: number; mtimeMs: number } | undefined): boolean => d !== undefined && d.size === size && d.mtimeMs === mtimeMs;
  if (known && same(known) && typeof known.sha256 === 'string') return { sha256: known.sha256, size, mtimeMs };
  const memo = digests.get(file);
  if (memo && same(memo)) return { ...memo };
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  const d = { sha256: h.digest('hex'), size, mtimeMs };
  digests.set(file, d);
  return { ...d };
}

/** What the cached embeddings depend on, now. */
async function gallerySource(run: OpenRun, data: RunData, mirrors: boolean, known?: GallerySource['weights']): Promise<GallerySource> {
  const weights = await weightsDigest(join(run.dir, RUN_FILES.best), known);
  const photos = data.gallery.map((r): GallerySource['photos'][number] => {
    const [size, mtimeMs] = photoStat(r.path);
    const box = data.boxes?.get(r.image);
    return [r.image, r.individualId, size, mtimeMs, box ? [box.x0, box.y0, box.x1, box.y1] : null];
  });
  return { weights, data: data.dir, settings: { mirrors, imageSize: run.info.imageSize, mode: run.info.mode, crops: run.info.crops, ...(run.engine ? { engine: run.engine.name } : {}) }, photos };
}

function fingerprintOf(s: GallerySource): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ weights: s.weights.sha256, data: s.data, settings: s.settings }));
  for (const p of s.photos) h.update(`\n${JSON.stringify(p)}`);
  return h.digest('hex');
}

/** What the cache was made from: the weights, the photos and their ids, and how they were embedded. */
export async function galleryFingerprint(run: OpenRun, data: RunData, mirrors: boolean): Promise<string> {
  return fingerprintOf(await gallerySource(run, data, mirrors));
}

/** Why a cache made from `old` does not fit `now`, in words. */
function staleReasons(old: GallerySource | undefined, now: GallerySource): string[] {
  if (!old?.weights || !old.settings || !Array.isArray(old.photos)) return ['the cache was made by an older finprint'];
  const reasons: string[] = [];
  if (old.weights.sha256 !== now.weights.sha256) reasons.push("the run's weights changed since the cache was made");
  if (old.data !== now.data) reasons.push(`the data folder is ${now.data}, the cache was made from ${old.data}`);
  if (old.settings.mirrors !== now.settings.mirrors) reasons.push(`the cache was made ${old.settings.mirrors ? 'with' : 'without'} mirrors`);
  if ((old.settings.engine ?? 'torch') !== (now.settings.engine ?? 'torch')) reasons.push(`the cache was made with --engine ${old.settings.engine ?? 'torch'}`);
  const { mirrors: _a, engine: _c, ...oldRest } = old.settings;
  const { mirrors: _b, engine: _d, ...nowRest } = now.settings;
  if (JSON.stringify(oldRest) !== JSON.stringify(nowRest)) reasons.push('the cache was made with other embedding settings (image size, mode or crops)');
  const before = new Map(old.photos.map((p) => [p[0], p]));
  const rowsChanged = old.photos.length !== now.photos.length || now.photos.some((p) => before.get(p[0])?.[1] !== p[1]);
  const changed = now.photos.filter((p) => {
    const o = before.get(p[0]);
    return o !== undefined && (o[2] !== p[2] || o[3] !== p[3] || JSON.stringify(o[4]) !== JSON.stringify(p[4]));
  }).length;
  if (changed) reasons.push(`photos changed since the cache was made (${changed} photo${changed > 1 ? 's' : ''})`);
  if (rowsChanged) reasons.push("the gallery's photos or their ids in train.csv changed since the cache was made");
  return reasons.length ? reasons : ['the cache does not match'];
}

async function readMeta(file: string): Promise<GalleryMeta> {
  return JSON.parse((await readSafetensorsHeader(file)).metadata[META_KEY] ?? '{}') as GalleryMeta;
}

/**
 * The run's gallery: from the cache when it matches (the run folder's or the fallback's), else
 * embedded now and cached, with a line on stderr saying why a cache that was there no longer
 * applies. A photo that cannot be read is reported and left out (its rows are not in the gallery).
 */
export async function openGallery(run: OpenRun, data: RunData, options: GalleryOptions = {}): Promise<Gallery> {
  if (data.gallery.length === 0) throw new Error(`no gallery: every usable row of ${data.dir}/train.csv is a validation photo of this run`);
  const mirrors = options.mirrors ?? false;
  let source: GallerySource | undefined;
  let stale: string[] | undefined;
  if (!options.rebuild) {
    for (const file of runCacheCandidates(run.dir, RUN_FILES.gallery)) {
      if (!existsSync(file)) continue;
      let meta: GalleryMeta;
      try {
        meta = await readMeta(file);
      } catch (err) {
        stale ??= [`cannot read the cache ${file} (${(err as Error).message})`];
        continue;
      }
      source ??= await gallerySource(run, data, mirrors, meta.source?.weights);
      if (meta.fingerprint === fingerprintOf(source) && Array.isArray(meta.images) && Array.isArray(meta.ids)) {
        const pathOf = new Map(data.gallery.map((r) => [r.image, r.path]));
        const t = (await loadSafetensors(file, { names: ['embedding'] })).get('embedding')!;
        const embedding = t.toFloat32Array();
        const dim = t.size(1);
        t.dispose();
        reportLeftOut(meta.leftOut ?? []);
        return { ids: meta.ids, paths: meta.images.map((image) => pathOf.get(image)!), mirrors, dim, embedding, fingerprint: meta.fingerprint, cached: true };
      }
      stale ??= staleReasons(meta.source, source);
    }
  }
  source ??= await gallerySource(run, data, mirrors);
  const fingerprint = fingerprintOf(source);
  if (stale) process.stderr.write(`gallery: ${stale.join('; ')}, embedding again\n`);
  const e = await embedPhotos(run, samplesOf(data, data.gallery), { ...options, views: mirrors, label: 'gallery', skipUnreadable: true });
  const leftOut = e.unreadable.map((u) => u.reason);
  reportLeftOut(leftOut);
  const { gallery, kept } = galleryOf(data.gallery, e, { mirrors, fingerprint });
  if (kept.length === 0) throw new Error(`no gallery: none of the run's ${data.gallery.length} training photos in ${data.dir}/train_images can be read`);
  const images = kept.map((r) => r.image);
  const meta: GalleryMeta = { fingerprint, source, mirrors, images: mirrors ? [...images, ...images] : images, ids: gallery.ids, ...(leftOut.length ? { leftOut } : {}) };
  const t = torch.tensor(gallery.embedding, [gallery.ids.length, gallery.dim]);
  try {
    await writeRunCache(run.dir, RUN_FILES.gallery, 'gallery', (file) => saveSafetensors(file, { embedding: t }, { [META_KEY]: JSON.stringify(meta) }));
  } finally {
    t.dispose();
  }
  return gallery;
}
