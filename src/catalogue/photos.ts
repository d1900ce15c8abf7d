// Photos entering the catalogue: the type is decided by decoding the header (never by the name),
// size limits are checked before any pixel is decoded (a decompression bomb is refused from its
// header), the date and position come from EXIF where present, and the file is stored once under
// its content hash; the name it came with is kept as metadata only, never used as a path.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { writeFileAtomic } from '../util/fs.js';
import type { IncomingPhoto } from './types.js';

/** Formats a photo may have (what sharp decodes and a browser shows). */
const FORMATS: Readonly<Record<string, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', tiff: 'tif', heif: 'heic' };

export interface PhotoLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Largest width x height accepted (checked from the header, before decoding). */
  maxPixels: number;
}

export const DEFAULT_PHOTO_LIMITS: PhotoLimits = { maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000 };

/** A photo that cannot enter the catalogue, and why (the server answers 413 or 415 by `kind`). */
export class PhotoRejected extends Error {
  override readonly name = 'PhotoRejected';
  constructor(message: string, readonly kind: 'too-large' | 'not-a-photo') {
    super(message);
  }
}

/** Where a photo's file lives in the catalogue folder. */
export function photoPath(dir: string, photo: { sha256: string; format: string }): string {
  return join(dir, 'photos', photo.sha256.slice(0, 2), `${photo.sha256}.${photo.format}`);
}

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** EXIF date and GPS position; absent or unreadable EXIF gives nulls, never an error. */
async function readExif(bytes: Buffer): Promise<Pick<IncomingPhoto, 'exifDate' | 'exifLatitude' | 'exifLongitude'>> {
  try {
    const tags = (await exifr.parse(bytes, { pick: ['DateTimeOriginal', 'CreateDate', 'GPSLatitude', 'GPSLongitude', 'GPSLatitudeRef', 'GPSLongitudeRef'] })) as Record<string, unknown> | undefined;
    const date = tags?.DateTimeOriginal ?? tags?.CreateDate;
    return {
      exifDate: date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null,
      exifLatitude: finite(tags?.latitude),
      exifLongitude: finite(tags?.longitude),
    };
  } catch {
    return { exifDate: null, exifLatitude: null, exifLongitude: null };
  }
}

/**
 * Reads a photo's bytes: its format and oriented size from the header, its EXIF, its hash. `name`
 * names it in messages (the file or upload name, shown, never opened).
 */
export async function inspectPhoto(bytes: Buffer, name: string, limits: PhotoLimits = DEFAULT_PHOTO_LIMITS): Promise<Omit<IncomingPhoto, 'box' | 'boxSource'>> {
  if (bytes.length > limits.maxBytes) throw new PhotoRejected(`${name}: ${bytes.length} bytes, more than the ${limits.maxBytes} allowed`, 'too-large');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new PhotoRejected(`${name}: not a photo finprint can read (JPEG, PNG, WebP, TIFF or HEIF)`, 'not-a-photo');
  }
  const format = meta.format ? FORMATS[meta.format] : undefined;
  if (!format || !meta.width || !meta.height) throw new PhotoRejected(`${name}: not a photo finprint can read (JPEG, PNG, WebP, TIFF or HEIF; this is ${meta.format ?? 'unknown'})`, 'not-a-photo');
  if (meta.width * meta.height > limits.maxPixels) throw new PhotoRejected(`${name}: ${meta.width} x ${meta.height} pixels, more than the ${limits.maxPixels} allowed`, 'too-large');
  const rotated = (meta.orientation ?? 1) >= 5;
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    originalName: name,
    format,
    width: rotated ? meta.height : meta.width,
    height: rotated ? meta.width : meta.height,
    ...(await readExif(bytes)),
  };
}

/** Stores the photo's bytes in the catalogue folder (once: an identical file is already there); `created` says whether this call wrote it. */
export async function storePhoto(dir: string, photo: { sha256: string; format: string }, bytes: Buffer): Promise<{ path: string; created: boolean }> {
  const path = photoPath(dir, photo);
  if (existsSync(path)) return { path, created: false };
  await writeFileAtomic(path, bytes);
  return { path, created: true };
}
