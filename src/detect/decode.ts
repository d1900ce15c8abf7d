// From the head's output to a box: the strongest heatmap peak is the animal's centre (one animal
// per photo is the common case), refined by the offset, with the size read at that cell. The
// peak's probability is kept as the box's score.
import type { Box } from '../data/image.js';

export interface Detection extends Box {
  /** The heatmap peak's probability, 0..1. */
  score: number;
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/**
 * One photo's head output ([5, grid, grid] as the model gives it: heatmap logits, width, height,
 * offset x, offset y) -> the box at the strongest peak, as shares of the photo (0..1).
 */
export function decodePeak(out: ArrayLike<number>, grid: number): Detection {
  const cells = grid * grid;
  if (out.length !== 5 * cells) throw new RangeError(`decodePeak: expected 5 x ${grid} x ${grid} = ${5 * cells} values, got ${out.length}`);
  let best = 0;
  for (let i = 1; i < cells; i++) if (out[i]! > out[best]!) best = i;
  const at = (channel: number): number => out[channel * cells + best]!;
  const cx = ((best % grid) + at(3)) / grid;
  const cy = (Math.floor(best / grid) + at(4)) / grid;
  const w = Math.max(0, at(1));
  const h = Math.max(0, at(2));
  return { x0: clamp01(cx - w / 2), y0: clamp01(cy - h / 2), x1: clamp01(cx + w / 2), y1: clamp01(cy + h / 2), score: 1 / (1 + Math.exp(-at(0))) };
}

/** A box in shares of the photo -> pixels of a photo of this size. */
export function toPixels<T extends Box>(box: T, size: { width: number; height: number }): T {
  return { ...box, x0: box.x0 * size.width, x1: box.x1 * size.width, y0: box.y0 * size.height, y1: box.y1 * size.height };
}

/** A box in pixels -> shares of the photo's width and height. */
export function toShares<T extends Box>(box: T, size: { width: number; height: number }): T {
  return { ...box, x0: box.x0 / size.width, x1: box.x1 / size.width, y0: box.y0 / size.height, y1: box.y1 / size.height };
}
