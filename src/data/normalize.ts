import { checkTriple, invalidParameterError } from '../util/check.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import type { RawImage } from './image.js';

/** Per-channel mean and std in 0..1 space, as timm pretrained configs give them. */
export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export const IMAGENET: Normalization = { mean: IMAGENET_MEAN, std: IMAGENET_STD };

/**
 * Returns a function that writes an RGB image into `out` at `offset` as normalised CHW floats.
 * Every 8-bit value maps to one of 256 floats per channel, so the pass is three table lookups per
 * pixel: the single unavoidable per-element loop of the pipeline.
 */
export function makeNormalizer(norm: Normalization): (img: RawImage, out: Float32Array, offset: number) => void {
  const mean = checkTriple('mean', norm.mean);
  const std = checkTriple('std', norm.std);
  if (std.some((s) => s <= 0)) throw invalidParameterError('std', 'three positive numbers', std);
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  const r = lut.subarray(0, 256);
  const g = lut.subarray(256, 512);
  const b = lut.subarray(512, 768);
  return (img, out, offset) => {
    const px = img.data;
    const hw = img.width * img.height;
    if (px.length !== hw * 3) throw new Error(`expected ${hw * 3} bytes of RGB for ${img.width}x${img.height} but got ${px.length}`);
    if (offset + 3 * hw > out.length) throw new Error(`batch buffer too small: need ${offset + 3 * hw} floats, have ${out.length}`);
    const og = offset + hw;
    const ob = offset + 2 * hw;
    for (let i = 0, j = 0; i < hw; i++, j += 3) {
      out[offset + i] = r[px[j]!]!;
      out[og + i] = g[px[j + 1]!]!;
      out[ob + i] = b[px[j + 2]!]!;
    }
  };
}
