// A photo -> the model's input -> a unit embedding, as finprint prepares photos: RGB in [0, 1],
// channels first, the photo (or the detector's box, made square as src/data/crop.ts does) resized
// to the model's input size; the mean/std normalisation is inside the graph. Runs that trained
// with mirrored photos (the model's metadata finprint.flips = true) embed a photo and its mirror
// and average them, then normalise (src/identify/embed.ts), which is how the pack's embeddings
// were made too.
import { createSession, tensor, type OrtSession } from './ort.js';
import type { PackManifest } from './pack.js';

/** A box in shares of the photo (0..1), with the detector's peak probability. */
export interface Detection {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  score: number;
}

/** Context around a detected box, as finprint's crops (src/data/image.ts, margin 0.1). */
export const CROP_MARGIN = 0.1;

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/** The strongest heatmap peak of heads [5, grid, grid] and the box read there (src/detect/decode.ts decodePeak). */
export function decodePeak(out: ArrayLike<number>, grid: number): Detection {
  const cells = grid * grid;
  if (out.length !== 5 * cells) throw new RangeError(`decodePeak: expected 5 x ${grid} x ${grid} = ${5 * cells} values, got ${out.length}`);
  let best = 0;
  for (let i = 1; i < cells; i++) if (out[i]! > out[best]!) best = i;
  const at = (channel: number): number => out[channel * cells + best]!;
  const cx = ((best % grid) + 0.5) / grid;
  const cy = (Math.floor(best / grid) + 0.5) / grid;
  const x0 = clamp01(cx - at(1));
  const y0 = clamp01(cy - at(2));
  return { x0, y0, x1: Math.max(x0, clamp01(cx + at(3))), y1: Math.max(y0, clamp01(cy + at(4))), score: 1 / (1 + Math.exp(-at(0))) };
}

export interface CropWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Start of a span of `length` centred on `centre`, clamped to lie inside [0, size] or to cover it. */
function place(centre: number, length: number, size: number): number {
  const ideal = Math.round(centre - length / 2);
  return Math.min(Math.max(ideal, Math.min(0, size - length)), Math.max(0, size - length));
}

/** The window for a box in pixels (src/data/crop.ts cropWindow): box + margin, grown to `aspect` around its centre, moved inside the photo where it fits. */
export function cropWindow(box: { x0: number; y0: number; x1: number; y1: number }, W: number, H: number, margin: number, aspect: number): CropWindow | null {
  const x0 = Math.max(0, box.x0);
  const y0 = Math.max(0, box.y0);
  const x1 = Math.min(W, box.x1);
  const y1 = Math.min(H, box.y1);
  if (!(x1 > x0 && y1 > y0)) return null;
  const grow = 1 + 2 * margin;
  let w = (x1 - x0) * grow;
  let h = (y1 - y0) * grow;
  if (w < h * aspect) w = h * aspect;
  else h = w / aspect;
  const width = Math.max(1, Math.round(w));
  const height = Math.max(1, Math.round(width / aspect));
  return { left: place((x0 + x1) / 2, width, W), top: place((y0 + y1) / 2, height, H), width, height };
}

function canvas2d(size: number): CanvasRenderingContext2D {
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const ctx = c.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx) throw new Error('no 2D canvas');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  return ctx;
}

/** The whole photo stretched to size x size ('squash'), as RGBA. */
export function squash(image: ImageBitmap, size: number): ImageData {
  const ctx = canvas2d(size);
  ctx.drawImage(image, 0, 0, image.width, image.height, 0, 0, size, size);
  return ctx.getImageData(0, 0, size, size);
}

/**
 * The crop window resized to size x size; where the window leaves the photo the edge pixels are
 * repeated (src/data/image.ts: the part inside is resized, then extended by copying edges).
 */
export function cropResized(image: ImageBitmap, win: CropWindow, size: number): ImageData {
  const W = image.width;
  const H = image.height;
  const pad = { left: Math.max(0, -win.left), top: Math.max(0, -win.top), right: Math.max(0, win.left + win.width - W), bottom: Math.max(0, win.top + win.height - H) };
  const inside = { left: win.left + pad.left, top: win.top + pad.top, width: win.width - pad.left - pad.right, height: win.height - pad.top - pad.bottom };
  const span = (inner: number, before: number, scale: number): [number, number] => {
    const n = Math.min(size, Math.max(1, Math.round(inner * scale)));
    return [Math.min(Math.round(before * scale), size - n), n];
  };
  const [left, innerW] = span(inside.width, pad.left, size / win.width);
  const [top, innerH] = span(inside.height, pad.top, size / win.height);
  const ctx = canvas2d(size);
  ctx.drawImage(image, inside.left, inside.top, inside.width, inside.height, left, top, innerW, innerH);
  const img = ctx.getImageData(0, 0, size, size);
  if (innerW < size || innerH < size) {
    const d = img.data;
    for (let y = 0; y < size; y++) {
      const sy = Math.min(top + innerH - 1, Math.max(top, y));
      for (let x = 0; x < size; x++) {
        const sx = Math.min(left + innerW - 1, Math.max(left, x));
        if (sx === x && sy === y) continue;
        const s = (sy * size + sx) * 4;
        const o = (y * size + x) * 4;
        d[o] = d[s]!;
        d[o + 1] = d[s + 1]!;
        d[o + 2] = d[s + 2]!;
        d[o + 3] = 255;
      }
    }
  }
  return img;
}

/** RGBA pixels -> float32 [n, 3, size, size] in [0, 1]; with `mirror`, a second image flipped left-right. */
export function toPixels(img: ImageData, mirror: boolean): Float32Array {
  const s = img.width;
  const plane = s * s;
  const out = new Float32Array((mirror ? 2 : 1) * 3 * plane);
  const d = img.data;
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const i = (y * s + x) * 4;
      const o = y * s + x;
      for (let c = 0; c < 3; c++) {
        const v = d[i + c]! / 255;
        out[c * plane + o] = v;
        if (mirror) out[3 * plane + c * plane + y * s + (s - 1 - x)] = v;
      }
    }
  }
  return out;
}

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  // As torch's F.normalize: divided by max(norm, 1e-12).
  const d = Math.max(n, 1e-12);
  return v.map((x) => x / d);
}

export interface Identified {
  embedding: Float32Array;
  /** The detector's box in shares of the photo (null: no detector, or no box above its minimum score). */
  box: Detection | null;
  /** The model's input as shown (RGBA). */
  input: ImageData;
  ms: { detect: number; embed: number };
}

export class Embedder {
  private constructor(
    private readonly manifest: PackManifest,
    private readonly model: OrtSession,
    private readonly detector: OrtSession | null,
    /** Average with the mirror image (the run trained with hflip). */
    readonly flips: boolean,
  ) {}

  static async open(manifest: PackManifest, modelBytes: Uint8Array, detectorBytes: Uint8Array | null, flips: boolean): Promise<Embedder> {
    const [model, detector] = await Promise.all([createSession(modelBytes), detectorBytes ? createSession(detectorBytes) : Promise.resolve(null)]);
    return new Embedder(manifest, model, detector, flips);
  }

  /** Whether photos are cut to the detector's box: the run trained on crops (resize 'box') and the pack has a detector. */
  get crops(): boolean {
    return this.detector !== null && this.manifest.input.resize === 'box';
  }

  /**
   * The detector's box, when photos are cut to it and its peak reaches minScore. A run that
   * trained on whole photos (resize 'squash') is fed the whole photo even where the catalogue has
   * a detector, as finprint's pipeline does (it uses a box in 'box' mode only), so the detector
   * is not run for it.
   */
  async detect(image: ImageBitmap): Promise<Detection | null> {
    const d = this.manifest.detector;
    if (!this.detector || !d || !this.crops) return null;
    const input = toPixels(squash(image, d.imageSize), false);
    const out = await this.detector.run({ [this.detector.inputNames[0] ?? 'pixels']: await tensor(input, [1, 3, d.imageSize, d.imageSize]) });
    const heads = out.heads ?? out[this.detector.outputNames[0]!]!;
    const box = decodePeak(heads.data, d.gridSize);
    return box.score >= d.minScore && box.x1 > box.x0 && box.y1 > box.y0 ? box : null;
  }

  /** The model's input for a photo: its detected box made square (src/data/image.ts 'box'), or the whole photo squashed. */
  prepare(image: ImageBitmap, box: Detection | null): ImageData {
    const size = this.manifest.input.size;
    if (box) {
      const win = cropWindow({ x0: box.x0 * image.width, y0: box.y0 * image.height, x1: box.x1 * image.width, y1: box.y1 * image.height }, image.width, image.height, CROP_MARGIN, 1);
      if (win) return cropResized(image, win, size);
    }
    return squash(image, size);
  }

  async embedInput(input: ImageData): Promise<Float32Array> {
    const size = this.manifest.input.size;
    const n = this.flips ? 2 : 1;
    const out = await this.model.run({ [this.manifest.input.name]: await tensor(toPixels(input, this.flips), [n, 3, size, size]) });
    const e = out.embedding!.data;
    const dim = e.length / n;
    if (!this.flips) return normalize(e.slice(0, dim));
    const sum = new Float32Array(dim);
    for (let k = 0; k < dim; k++) sum[k] = e[k]! + e[dim + k]!;
    return normalize(sum);
  }

  async identify(image: ImageBitmap): Promise<Identified> {
    const t0 = performance.now();
    const box = await this.detect(image);
    const t1 = performance.now();
    const input = this.prepare(image, box);
    const embedding = await this.embedInput(input);
    return { embedding, box, input, ms: { detect: t1 - t0, embed: performance.now() - t1 } };
  }
}
