import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const made: string[] = [];
// Each test file runs in its own process: clean up when it exits (node:test's after() would fire
// early when called from inside a before() hook).
process.on('exit', () => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A fresh temp folder, removed when the test file's process exits. */
export async function tempDir(prefix = 'finprint-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A small synthetic set's options: a few species, ~20 individuals, 96 px, quick to render. */
export const TINY = { species: 3, individuals: 20, meanImages: 4, size: 96, seed: 7, quiet: true } as const;

/** A solid-colour image encoded as PNG or JPEG. */
export async function solidImage(width: number, height: number, rgb: [number, number, number], format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** An image made of vertical colour bands, left to right, each `band` px wide. */
export async function bandsImage(band: number, height: number, colours: [number, number, number][], format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const width = band * colours.length;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(colours[Math.floor(x / band)]!, (y * width + x) * 3);
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}
