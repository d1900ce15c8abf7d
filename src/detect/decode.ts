// From the head's output to a box: the strongest heatmap peak is the animal's centre (one animal
// per photo is the common case), and the distances to the box's sides are read at that cell. The
// peak's probability is kept as the box's score.
import type { Box } from '../data/crop.js';

export interface Detection extends Box {
  /** The heatmap peak's probability, 0..1. */
  score: number;
}

const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));

/**
 * One photo's head output ([5, grid, grid] as the model gives it: heatmap logits, then the
 * distances from each cell's centre to the left, top, right and bottom sides) -> the box at the
 * strongest peak, as shares of the photo (0..1).
 */
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
  // Sides predicted on the wrong side of the centre give an empty box, not an inverted one.
  return { x0, y0, x1: Math.max(x0, clamp01(cx + at(3))), y1: Math.max(y0, clamp01(cy + at(4))), score: 1 / (1 + Math.exp(-at(0))) };
}

/** A box in shares of the photo -> pixels of a photo of this size. */
export function toPixels<T extends Box>(box: T, size: { width: number; height: number }): T {
  return { ...box, x0: box.x0 * size.width, x1: box.x1 * size.width, y0: box.y0 * size.height, y1: box.y1 * size.height };
}

/** A box in pixels -> shares of the photo's width and height. */
export function toShares<T extends Box>(box: T, size: { width: number; height: number }): T {
  return { ...box, x0: box.x0 / size.width, x1: box.x1 / size.width, y0: box.y0 / size.height, y1: box.y1 / size.height };
}
