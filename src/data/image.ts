import sharp from 'sharp';
import { checkInteger, checkNumber, checkOneOf, checkTriple, invalidParameterError } from '../util/check.js';
import { boxMissesPhoto, cropWindow, overhang, type Box } from './crop.js';

/**
 * squash: stretch to the target size. letterbox: fit inside, pad with the background.
 * center_crop: timm eval transform (shorter side to size / crop_pct, then a centre crop).
 * box: crop to the animal's box plus a margin, grown to the output's shape (crop.ts), edge pixels
 *   repeated where the window leaves the photo; no box: the whole photo, squashed.
 */
export type ResizeMode = 'squash' | 'letterbox' | 'center_crop' | 'box';
export const RESIZE_MODES: readonly ResizeMode[] = ['squash', 'letterbox', 'center_crop', 'box'];

/** Names as in timm pretrained configs. */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';
// sharp 0.33 has a 'linear' kernel at run time (sharp.kernel.linear) that its typings omit.
const KERNELS: Record<Interpolation, keyof sharp.KernelEnum> = { nearest: 'nearest', bilinear: 'linear' as keyof sharp.KernelEnum, bicubic: 'cubic', lanczos: 'lanczos3' };

/** A box in pixels of the (EXIF-oriented) photo. */
export interface ResizeSpec {
  /** Output side, or [height, width]. */
  size: number | readonly [number, number];
  mode?: ResizeMode;
  /** center_crop only (default 0.875, timm's). */
  cropPct?: number;
  /** box only: extra context on each side, as a share of the box's width/height (default 0.1). */
  margin?: number;
  interpolation?: Interpolation;
  /** Padding colour for letterbox, 0..255 (default mid grey). */
  background?: readonly [number, number, number];
}

export type ResolvedResize = Required<Omit<ResizeSpec, 'size'>> & { height: number; width: number };

/** An 8-bit RGB image, pixels interleaved (HWC), as sharp's raw output gives it. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

export function resolveResize(spec: ResizeSpec): ResolvedResize {
  const [height, width] = typeof spec.size === 'number' ? [spec.size, spec.size] : Array.isArray(spec.size) && spec.size.length === 2 ? spec.size : [NaN, NaN];
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || height > 8192 || width > 8192) {
    throw invalidParameterError('size', 'an integer 1..8192 or [height, width]', spec.size);
  }
  return {
    height,
    width,
    mode: checkOneOf('mode', spec.mode ?? 'squash', RESIZE_MODES),
    cropPct: checkNumber('cropPct', spec.cropPct ?? 0.875, 0.05, 1),
    margin: checkNumber('margin', spec.margin ?? 0.1, 0, 4),
    interpolation: checkOneOf('interpolation', spec.interpolation ?? 'bilinear', Object.keys(KERNELS) as Interpolation[]),
    background: checkTriple('background', spec.background ?? [128, 128, 128], 0),
  };
}

export function checkBox(box: Box): Box {
  for (const k of ['x0', 'y0', 'x1', 'y1'] as const) checkNumber(`box.${k}`, box[k], 0);
  if (box.x1 <= box.x0 || box.y1 <= box.y0) throw invalidParameterError('box', 'x0 < x1 and y0 < y1', [box.x0, box.y0, box.x1, box.y1]);
  return box;
}

/**
 * Decode a photo (JPEG, PNG, WebP; EXIF orientation applied) straight to the target size as raw
 * RGB. sharp does all the pixel work, with shrink-on-load for JPEG where the mode allows.
 */
export async function decodeResized(input: string | Buffer, spec: ResolvedResize, box?: Box): Promise<RawImage> {
  const { width, height, mode, background } = spec;
  const kernel = KERNELS[spec.interpolation];
  let img = sharp(input).rotate();
  if (mode === 'squash' || (mode === 'box' && !box)) {
    img = img.resize(width, height, { fit: 'fill', kernel });
  } else if (mode === 'letterbox') {
    img = img.resize(width, height, { fit: 'contain', kernel, background: { r: background[0], g: background[1], b: background[2] } });
  } else {
    const { width: W, height: H } = await orientedSize(input);
    if (mode === 'center_crop') {
      // timm: Resize(floor(size / crop_pct)) on the shorter side, then CenterCrop(size).
      const scale = Math.max(Math.floor(height / spec.cropPct) / H, Math.floor(width / spec.cropPct) / W);
      const rw = Math.max(width, Math.floor(W * scale + 1e-6));
      const rh = Math.max(height, Math.floor(H * scale + 1e-6));
      img = img.resize(rw, rh, { fit: 'fill', kernel })
        .extract({ left: Math.round((rw - width) / 2), top: Math.round((rh - height) / 2), width, height });
    } else if (boxMissesPhoto(checkBox(box!), { width: W, height: H })) {
      // A box that lies entirely outside the photo is no usable box: the photo is used whole, as
      // one without a box is (readBoxFile reports such a row when it is given the photo sizes).
      img = img.resize(width, height, { fit: 'fill', kernel });
    } else {
      const win = cropWindow(box!, { width: W, height: H }, { margin: spec.margin, aspect: width / height });
      const pad = overhang(win, { width: W, height: H });
      const inside = { left: win.left + pad.left, top: win.top + pad.top, width: win.width - pad.left - pad.right, height: win.height - pad.top - pad.bottom };
      // sharp extends after resizing, so the overhang is converted to output pixels.
      const span = (inner: number, before: number, scale: number, size: number): [number, number, number] => {
        const n = Math.min(size, Math.max(1, Math.round(inner * scale)));
        const lead = Math.min(Math.round(before * scale), size - n);
        return [lead, n, size - n - lead];
      };
      const [left, innerW, right] = span(inside.width, pad.left, width / win.width, width);
      const [top, innerH, bottom] = span(inside.height, pad.top, height / win.height, height);
      img = img.extract(inside).resize(innerW, innerH, { fit: 'fill', kernel });
      if (innerW < width || innerH < height) img = img.extend({ left, top, right, bottom, extendWith: 'copy' });
    }
  }
  // Flatten alpha and expand greyscale so every photo comes out as 3-channel RGB.
  const { data, info } = await img
    .flatten({ background: { r: background[0], g: background[1], b: background[2] } })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after decoding but got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

/** Width and height as the photo is shown (EXIF orientation applied), from its header only. */
export async function orientedSize(input: string | Buffer): Promise<{ width: number; height: number }> {
  const m = await sharp(input).metadata();
  const w = checkInteger('image width', m.width, 1);
  const h = checkInteger('image height', m.height, 1);
  return (m.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}
