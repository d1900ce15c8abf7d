// Geometric augmentation for detector training, done on the batch tensor so the box can move with
// the pixels (the image pipeline's augmentations know nothing of boxes): a random zoom onto a
// window that still holds the whole box, and a horizontal flip. Each photo draws from its own Rng.
import type { Box } from '../data/crop.js';
import * as torch from '../torch/index.js';
import type { Rng } from '../util/random.js';

export interface DetectionAugment {
  /** Probability of zooming in. */
  zoom: number;
  /** Smallest window side, as a share of the photo's side (1 / the strongest zoom). */
  minWindow: number;
  /** Probability of a horizontal flip. */
  hflip: number;
}

export const DETECTION_AUGMENT: DetectionAugment = { zoom: 0.5, minWindow: 0.6, hflip: 0.5 };

/** A window (in shares) of side `side` along one axis, placed at random but covering [lo, hi]. */
function span(lo: number, hi: number, side: number, rng: Rng): [number, number] {
  const len = Math.max(side, hi - lo);
  const start = rng.uniform(Math.max(0, hi - len), Math.min(lo, 1 - len));
  return [start, start + len];
}

/**
 * x: [B, 3, S, S] photos, boxes in shares. Returns the augmented batch and the boxes moved with it.
 * Call inside a tidy scope.
 */
export function augmentDetection(x: torch.Tensor, boxes: readonly Box[], rngs: readonly Rng[], spec: DetectionAugment = DETECTION_AUGMENT): { x: torch.Tensor; boxes: Box[] } {
  const [, , h, w] = x.shape as [number, number, number, number];
  const images: torch.Tensor[] = [];
  const moved: Box[] = [];
  boxes.forEach((box, i) => {
    const rng = rngs[i]!;
    let img = x.narrow(0, i, 1);
    let b = box;
    if (rng.bool(spec.zoom)) {
      const side = rng.uniform(spec.minWindow, 1);
      // Whole pixels, so the box follows exactly the window that is cut.
      const [x0, x1] = span(b.x0, b.x1, side, rng).map((v) => Math.round(v * w)) as [number, number];
      const [y0, y1] = span(b.y0, b.y1, side, rng).map((v) => Math.round(v * h)) as [number, number];
      img = torch.F.interpolate(img.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0), { size: [h, w], mode: 'bilinear' });
      const [sx, sy] = [w / (x1 - x0), h / (y1 - y0)];
      b = { x0: Math.max(0, b.x0 - x0 / w) * sx, y0: Math.max(0, b.y0 - y0 / h) * sy, x1: Math.min(1, (b.x1 - x0 / w) * sx), y1: Math.min(1, (b.y1 - y0 / h) * sy) };
    }
    if (rng.bool(spec.hflip)) {
      img = img.flip(3);
      b = { x0: 1 - b.x1, y0: b.y0, x1: 1 - b.x0, y1: b.y1 };
    }
    images.push(img);
    moved.push(b);
  });
  return { x: torch.cat(images, 0), boxes: moved };
}
