// The photos a detector trains and is scored on: every photo of a folder that has a box in the
// box file, with its size (boxes become shares of the photo's width and height). Bad box rows are
// reported by file and line, as readBoxFile finds them, and photos without a box are counted.
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readBoxFile, type BoxProblem } from '../data/boxes.js';
import { orientedSize } from '../data/image.js';
import type { Box } from '../data/crop.js';
import { IMAGE_NAME } from '../data/validate.js';
import { mapPool } from '../util/pool.js';
import { Rng } from '../util/random.js';
import { toShares } from './decode.js';

export interface Photo {
  image: string;
  path: string;
}

export interface BoxedPhoto extends Photo {
  /** Width and height as shown (EXIF orientation applied). */
  size: { width: number; height: number };
  /** The true box, as shares of the photo. */
  box: Box;
}

/** Image files (.jpg, .jpeg, .png, .webp) of a folder, sorted by name. */
export async function listPhotos(folder: string): Promise<Photo[]> {
  const dir = resolve(folder);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${folder}: ${err.code === 'ENOENT' ? 'folder not found' : err.message}`);
  });
  return names.filter((n) => IMAGE_NAME.pattern.test(n)).sort().map((image) => ({ image, path: join(dir, image) }));
}

/**
 * Sizes of photos from their headers (no decoding). A photo whose header cannot be read is an
 * error, or, given `skip`, is passed to it and left out of the map.
 */
export async function photoSizes(photos: readonly Photo[], skip?: (message: string) => void): Promise<Map<string, { width: number; height: number }>> {
  // Header reads are light: eight at once.
  const sizes = await mapPool(photos, 8, async (p) => {
    try {
      return await orientedSize(p.path);
    } catch (err) {
      const message = `cannot read ${p.path}: ${(err as Error).message}`;
      if (!skip) throw new Error(message);
      skip(message);
      return undefined;
    }
  });
  return new Map(photos.flatMap((p, i) => (sizes[i] ? [[p.image, sizes[i]]] : [])));
}

export interface BoxedFolder {
  photos: BoxedPhoto[];
  /** Photos of the folder without a (usable) box in the file. */
  unboxed: number;
  problems: BoxProblem[];
}

/**
 * The folder's photos that have a box in boxFile (optionally only boxes with this label). A photo
 * whose header cannot be read is passed to `skip` and left out.
 */
export async function boxedPhotos(folder: string, boxFile: string, options: { label?: string; skip?: (message: string) => void } = {}): Promise<BoxedFolder> {
  const listed = await listPhotos(folder);
  const sizes = await photoSizes(listed, options.skip ?? ((m) => process.stderr.write(`${m} (left out)\n`)));
  const all = listed.filter((p) => sizes.has(p.image));
  const { boxes, problems } = await readBoxFile(boxFile, { sizes, ...(options.label !== undefined ? { label: options.label } : {}) });
  const photos: BoxedPhoto[] = [];
  for (const p of all) {
    const box = boxes.get(p.image);
    const size = sizes.get(p.image)!;
    if (box) photos.push({ ...p, size, box: toShares({ x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1 }, size) });
  }
  return { photos, unboxed: all.length - photos.length, problems };
}

/** A seeded share of the photos held out for validation (by name, so the split survives a moved folder). */
export function holdOut<T extends Photo>(photos: readonly T[], share: number, seed: number): { train: T[]; val: T[] } {
  const order = photos.map((_, i) => i);
  Rng.from(seed, 'detector-holdout').shuffle(order);
  const nVal = Math.max(1, Math.round(photos.length * share));
  const val = new Set(order.slice(0, nVal));
  return { train: photos.filter((_, i) => !val.has(i)), val: photos.filter((_, i) => val.has(i)) };
}
