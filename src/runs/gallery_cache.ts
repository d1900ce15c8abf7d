// A run's gallery (its training photos' embeddings) is expensive to compute, so it is cached in the
// run folder (gallery.safetensors), keyed by a fingerprint of the weights file and the photo list:
// new weights or a changed train.csv rebuild it, nothing else does.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { embedPhotos, type EmbedOptions } from '../identify/embed.js';
import { galleryOf, type Gallery } from '../identify/gallery.js';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.js';
import * as torch from '../torch/index.js';
import type { OpenRun } from './open_run.js';
import { RUN_FILES } from './run_folder.js';
import { samplesOf, type RunData } from './run_data.js';

const META_KEY = 'finprint_gallery';

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
  const { size, mtimeMs } = statSync(join(run.dir, RUN_FILES.best));
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
  const file = join(run.dir, RUN_FILES.gallery);
  if (!options.rebuild && existsSync(file)) {
    const meta = JSON.parse((await readSafetensorsHeader(file)).metadata[META_KEY] ?? '{}') as Partial<GalleryMeta>;
    if (meta.fingerprint === fingerprint) {
      const pathOf = new Map(data.gallery.map((r) => [r.image, r.path]));
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
  const { gallery, kept } = galleryOf(data.gallery, e, { mirrors, fingerprint });
  if (kept.length === 0) throw new Error(`no gallery: none of the run's ${data.gallery.length} training photos in ${data.dir}/train_images can be read`);
  const images = kept.map((r) => r.image);
  const meta: GalleryMeta = { fingerprint, mirrors, images: mirrors ? [...images, ...images] : images, ids: gallery.ids, ...(leftOut.length ? { leftOut } : {}) };
  const t = torch.tensor(gallery.embedding, [gallery.ids.length, gallery.dim]);
  try {
    await saveSafetensors(file, { embedding: t }, { [META_KEY]: JSON.stringify(meta) });
  } finally {
    t.dispose();
  }
  return gallery;
}
