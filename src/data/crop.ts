// One crop policy for training and prediction: the animal's box plus a margin, grown to the
// output's shape around the box centre and moved inside the photo where it fits, so the crop is
// never stretched; only where the window must still leave the photo is it padded, by repeating
// the edge pixels (a flat colour band would be a pattern no real photo has). Photos without a
// usable box are used whole, and counted so a run can say how many fell back; a box lying
// entirely outside its photo is no usable box (readBoxFile reports it when it knows the sizes,
// and decodeResized uses such a photo whole rather than failing).
import { invalidParameterError } from '../util/check.js';

/** The animal's box in photo pixels (x0, y0 top left; x1, y1 bottom right). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A window in photo pixels; it may extend past the photo's edges (those parts are padded). */
export interface CropWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** How far a window leaves the photo on each side, in photo pixels. */
export interface Overhang {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Whether a box and the photo share no pixel (a box for another photo, or in other units). */
export function boxMissesPhoto(box: Box, image: { width: number; height: number }): boolean {
  return !(Math.min(image.width, box.x1) > Math.max(0, box.x0) && Math.min(image.height, box.y1) > Math.max(0, box.y0));
}

/**
 * The window to cut for a box: the box (clipped to the photo) widened by `margin` of its width
 * and height on each side, then its shorter side grown to `aspect` (output width / height, 1 for
 * a square) around the box centre. Along each axis the window is shifted to lie inside the photo
 * when it fits; when it is longer than the photo it covers the photo fully and overhangs on both
 * sides, as evenly as the box's position allows.
 */
export function cropWindow(box: Box, image: { width: number; height: number }, options: { margin: number; aspect: number }): CropWindow {
  const { width: W, height: H } = image;
  const x0 = Math.max(0, box.x0);
  const y0 = Math.max(0, box.y0);
  const x1 = Math.min(W, box.x1);
  const y1 = Math.min(H, box.y1);
  if (boxMissesPhoto(box, image)) throw invalidParameterError('box', `a box overlapping the ${W}x${H} photo`, [box.x0, box.y0, box.x1, box.y1]);
  const grow = 1 + 2 * options.margin;
  let w = (x1 - x0) * grow;
  let h = (y1 - y0) * grow;
  if (w < h * options.aspect) w = h * options.aspect;
  else h = w / options.aspect;
  const width = Math.max(1, Math.round(w));
  const height = Math.max(1, Math.round(width / options.aspect));
  return { left: place((x0 + x1) / 2, width, W), top: place((y0 + y1) / 2, height, H), width, height };
}

/** Start of a span of `length` centred on `centre`, clamped to lie inside [0, size] or to cover it. */
function place(centre: number, length: number, size: number): number {
  const ideal = Math.round(centre - length / 2);
  return Math.min(Math.max(ideal, Math.min(0, size - length)), Math.max(0, size - length));
}

/** How far a window overhangs each edge of the photo (all zero when it lies inside). */
export function overhang(win: CropWindow, image: { width: number; height: number }): Overhang {
  return {
    left: Math.max(0, -win.left),
    top: Math.max(0, -win.top),
    right: Math.max(0, win.left + win.width - image.width),
    bottom: Math.max(0, win.top + win.height - image.height),
  };
}

/** Photos that will be cut to their box, and those used whole for lack of a usable box. */
export interface CropCounts {
  cropped: number;
  whole: number;
}

export function countCrops(samples: readonly { box?: Box }[]): CropCounts {
  const cropped = samples.filter((s) => s.box !== undefined).length;
  return { cropped, whole: samples.length - cropped };
}
