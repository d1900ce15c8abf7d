import sharp from 'sharp';
import { checkNumber, checkRange, checkTriple } from '../util/check.js';
import type { Rng } from '../util/random.js';
import type { RawImage } from './image.js';

/**
 * Training-time augmentations for fine-grained photo-id, all drawn from the caller's seeded Rng so
 * an epoch can be replayed exactly. Each field switches one augmentation on.
 */
export interface AugmentSpec {
  /** Probability of a horizontal flip. */
  hflip?: number;
  /** timm RandomResizedCrop: share of the area and aspect ratio range of the crop. */
  randomResizedCrop?: { scale?: readonly [number, number]; ratio?: readonly [number, number] };
  /** Random affine about the centre: rotation up to +-degrees, shift up to +-translate of the size, zoom range. */
  affine?: { degrees?: number; translate?: number; scale?: readonly [number, number] };
  /** torchvision ColorJitter magnitudes (hue as a share of the colour wheel, at most 0.5). */
  colorJitter?: { brightness?: number; contrast?: number; saturation?: number; hue?: number };
  /** Probability of converting to grey (kept as 3 channels). */
  grayscale?: number;
  /** Gaussian blur with probability p and sigma drawn from the range (sharp needs sigma >= 0.3). */
  blur?: { p: number; sigma?: readonly [number, number] };
  /** Fill for areas an affine move uncovers, 0..255. */
  background?: readonly [number, number, number];
}

export interface ResolvedAugment {
  hflip: number;
  randomResizedCrop?: { scale: [number, number]; ratio: [number, number] };
  affine?: { degrees: number; translate: number; scale: [number, number] };
  colorJitter?: { brightness: number; contrast: number; saturation: number; hue: number };
  grayscale: number;
  blur?: { p: number; sigma: [number, number] };
  background: [number, number, number];
}

export function resolveAugment(spec: AugmentSpec): ResolvedAugment {
  const out: ResolvedAugment = {
    hflip: checkNumber('hflip', spec.hflip ?? 0, 0, 1),
    grayscale: checkNumber('grayscale', spec.grayscale ?? 0, 0, 1),
    background: checkTriple('background', spec.background ?? [128, 128, 128], 0),
  };
  if (spec.randomResizedCrop) {
    out.randomResizedCrop = {
      scale: checkRange('randomResizedCrop.scale', spec.randomResizedCrop.scale ?? [0.08, 1], 0.01, 1),
      ratio: checkRange('randomResizedCrop.ratio', spec.randomResizedCrop.ratio ?? [3 / 4, 4 / 3], 0.1, 10),
    };
  }
  if (spec.affine) {
    out.affine = {
      degrees: checkNumber('affine.degrees', spec.affine.degrees ?? 0, 0, 180),
      translate: checkNumber('affine.translate', spec.affine.translate ?? 0, 0, 0.5),
      scale: checkRange('affine.scale', spec.affine.scale ?? [1, 1], 0.5, 2),
    };
  }
  if (spec.colorJitter) {
    const j = spec.colorJitter;
    out.colorJitter = {
      brightness: checkNumber('colorJitter.brightness', j.brightness ?? 0, 0, 1),
      contrast: checkNumber('colorJitter.contrast', j.contrast ?? 0, 0, 1),
      saturation: checkNumber('colorJitter.saturation', j.saturation ?? 0, 0, 1),
      hue: checkNumber('colorJitter.hue', j.hue ?? 0, 0, 0.5),
    };
  }
  if (spec.blur) {
    out.blur = { p: checkNumber('blur.p', spec.blur.p, 0, 1), sigma: checkRange('blur.sigma', spec.blur.sigma ?? [0.3, 1.5], 0.3, 100) };
  }
  return out;
}

interface Drawn {
  crop?: { left: number; top: number; width: number; height: number };
  flip: boolean;
  /** Rotation/zoom matrix and shift in pixels, about the centre. */
  affine?: { m: [number, number, number, number]; tx: number; ty: number };
  jitter?: { brightness: number; contrast: number; saturation: number; hue: number };
  grayscale: boolean;
  blurSigma?: number;
}

/** All random draws, in a fixed order, before any pixel work. */
function draw(spec: ResolvedAugment, W: number, H: number, rng: Rng): Drawn {
  const d: Drawn = { flip: rng.bool(spec.hflip), grayscale: false };
  if (spec.randomResizedCrop) d.crop = randomCrop(spec.randomResizedCrop, W, H, rng);
  if (spec.affine) {
    const a = spec.affine;
    const theta = (rng.uniform(-a.degrees, a.degrees) * Math.PI) / 180;
    const s = rng.uniform(a.scale[0], a.scale[1]);
    const c = Math.cos(theta) * s;
    const n = Math.sin(theta) * s;
    d.affine = { m: [c, -n, n, c], tx: rng.uniform(-a.translate, a.translate) * W, ty: rng.uniform(-a.translate, a.translate) * H };
  }
  if (spec.colorJitter) {
    const j = spec.colorJitter;
    const factor = (m: number): number => rng.uniform(Math.max(0, 1 - m), 1 + m);
    d.jitter = { brightness: factor(j.brightness), contrast: factor(j.contrast), saturation: factor(j.saturation), hue: rng.uniform(-j.hue, j.hue) * 360 };
  }
  d.grayscale = rng.bool(spec.grayscale);
  if (spec.blur && rng.bool(spec.blur.p)) d.blurSigma = rng.uniform(spec.blur.sigma[0], spec.blur.sigma[1]);
  return d;
}

/** timm's RandomResizedCrop sampling: 10 tries at a random area and log-uniform ratio, else the centre. */
function randomCrop(rrc: { scale: [number, number]; ratio: [number, number] }, W: number, H: number, rng: Rng): Drawn['crop'] {
  const area = W * H;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(rrc.scale[0], rrc.scale[1]);
    const ratio = Math.exp(rng.uniform(Math.log(rrc.ratio[0]), Math.log(rrc.ratio[1])));
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w >= 1 && h >= 1 && w <= W && h <= H) return { left: rng.int(0, W - w + 1), top: rng.int(0, H - h + 1), width: w, height: h };
  }
  const ratio = W / H;
  const w = ratio < rrc.ratio[0] ? W : ratio > rrc.ratio[1] ? Math.round(H * rrc.ratio[1]) : W;
  const h = ratio < rrc.ratio[0] ? Math.round(W / rrc.ratio[0]) : H;
  return { left: Math.floor((W - w) / 2), top: Math.floor((H - h) / 2), width: w, height: h };
}

/** Apply random augmentations to an RGB image; the output has the input's size. */
export async function augment(img: RawImage, spec: ResolvedAugment, rng: Rng): Promise<RawImage> {
  const { width: W, height: H } = img;
  const d = draw(spec, W, H, rng);
  const raw = (data: Buffer, width: number, height: number): sharp.Sharp => sharp(data, { raw: { width, height, channels: 3 } });
  const fill = { r: spec.background[0], g: spec.background[1], b: spec.background[2] };
  let s = raw(img.data, W, H);
  if (d.crop) s = s.extract(d.crop).resize(W, H, { fit: 'fill' });
  if (d.flip) s = s.flop();
  if (d.affine) {
    // sharp's affine output is the bounding box of the turned image; cut the W x H window that
    // the centre-based transform plus shift selects, padding whatever falls outside.
    const [a, b, c, e] = d.affine.m;
    const xs = [0, a * W, b * H, a * W + b * H];
    const ys = [0, c * W, e * H, c * W + e * H];
    const minX = Math.min(...xs);
    const minY = Math.min(...ys);
    const offX = W / 2 - (a * W / 2 + b * H / 2) + d.affine.tx;
    const offY = H / 2 - (c * W / 2 + e * H / 2) + d.affine.ty;
    const turned = await s.affine(d.affine.m, { background: fill, interpolator: 'bilinear' }).raw().toBuffer({ resolveWithObject: true });
    const cw = turned.info.width;
    const ch = turned.info.height;
    const left = Math.round(-(offX + minX));
    const top = Math.round(-(offY + minY));
    const x0 = Math.max(0, left);
    const y0 = Math.max(0, top);
    const x1 = Math.min(cw, left + W);
    const y1 = Math.min(ch, top + H);
    s = raw(turned.data, cw, ch)
      .extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 })
      .extend({ left: x0 - left, top: y0 - top, right: left + W - x1, bottom: top + H - y1, background: fill });
  }
  if (d.blurSigma !== undefined) s = s.blur(d.blurSigma);
  if (d.grayscale) s = s.recomb([[0.299, 0.587, 0.114], [0.299, 0.587, 0.114], [0.299, 0.587, 0.114]]);
  if (d.jitter) {
    const { brightness, saturation, hue, contrast } = d.jitter;
    // Contrast about mid grey rather than the image mean: close to torchvision, no extra pass.
    s = s.modulate({ brightness, saturation, hue: Math.round(hue) }).linear(contrast, 128 * (1 - contrast));
  }
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
