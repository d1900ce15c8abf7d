import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheRoot, writeFileAtomic } from '../util/fs.js';
import type { RawImage, ResolvedResize } from './image.js';
import type { Box } from './crop.js';

/** The resized-photo cache shared by every run. */
export function imageCacheDir(): string {
  return join(cacheRoot(), 'images');
}

/**
 * Disk cache of decoded, resized photos, so a dataset is decoded once rather than every epoch.
 * Entries are raw RGB (no decode cost on a hit) keyed by source path, mtime, byte size, resize
 * settings and box: editing a photo or changing the size simply misses.
 */
export class ResizeCache {
  readonly dir: string;
  readonly stats = { hits: 0, misses: 0 };

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The cached image, or decode() it and store the result. */
  async load(path: string, spec: ResolvedResize, box: Box | undefined, decode: () => Promise<RawImage>): Promise<RawImage> {
    const source = resolve(path);
    const s = await stat(source);
    const key = createHash('sha1')
      .update(JSON.stringify([source, s.mtimeMs, s.size, spec, box ? [box.x0, box.y0, box.x1, box.y1] : null]))
      .digest('hex');
    const file = join(this.dir, key.slice(0, 2), `${key}.rgb`);
    const bytes = spec.width * spec.height * 3;
    const cached = await readFile(file).catch(() => undefined);
    if (cached && cached.length === bytes) {
      this.stats.hits++;
      return { data: cached, width: spec.width, height: spec.height };
    }
    this.stats.misses++;
    const img = await decode();
    await writeFileAtomic(file, img.data);
    return img;
  }
}
