// What the detector learns for each photo: a Gaussian bump on the heatmap at the box centre (so
// cells near the centre are penalised less than far ones), and the box size and the centre's
// sub-cell offset read at the centre cell. Boxes are given as shares of the photo's width and
// height: the detector sees the photo squashed to a square, so shares carry over unchanged.
import type { Box } from '../data/image.js';

export interface Targets {
  grid: number;
  /** [B, grid, grid], 1 exactly at each centre cell. */
  heatmap: Float32Array;
  /** Centre cell of each photo, row-major (y * grid + x). */
  index: Int32Array;
  /** [B, 2]: box width and height as shares of the photo. */
  size: Float32Array;
  /** [B, 2]: centre position within its cell, 0..1. */
  offset: Float32Array;
}

/** TTFNet's elliptical Gaussian (Liu et al. 2019): sigma = alpha x side / 6 on each axis. */
const GAUSSIAN_ALPHA = 0.54;
/** Below this sigma (in cells) the bump would be a single cell, which trains no neighbours. */
const MIN_SIGMA = 0.25;

/** The centre cell and in-cell offset of a box on a grid x grid heatmap. */
export function centreCell(box: Box, grid: number): { x: number; y: number; offsetX: number; offsetY: number } {
  const cx = ((box.x0 + box.x1) / 2) * grid;
  const cy = ((box.y0 + box.y1) / 2) * grid;
  const x = Math.min(grid - 1, Math.max(0, Math.floor(cx)));
  const y = Math.min(grid - 1, Math.max(0, Math.floor(cy)));
  return { x, y, offsetX: cx - x, offsetY: cy - y };
}

export function encodeTargets(boxes: readonly Box[], grid: number): Targets {
  const n = boxes.length;
  const heatmap = new Float32Array(n * grid * grid);
  const index = new Int32Array(n);
  const size = new Float32Array(n * 2);
  const offset = new Float32Array(n * 2);
  boxes.forEach((box, b) => {
    const c = centreCell(box, grid);
    const sx = Math.max(MIN_SIGMA, (GAUSSIAN_ALPHA * (box.x1 - box.x0) * grid) / 6);
    const sy = Math.max(MIN_SIGMA, (GAUSSIAN_ALPHA * (box.y1 - box.y0) * grid) / 6);
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        heatmap[(b * grid + y) * grid + x] = Math.exp(-((x - c.x) ** 2) / (2 * sx * sx) - (y - c.y) ** 2 / (2 * sy * sy));
      }
    }
    index[b] = c.y * grid + c.x;
    size.set([box.x1 - box.x0, box.y1 - box.y0], b * 2);
    offset.set([c.offsetX, c.offsetY], b * 2);
  });
  return { grid, heatmap, index, size, offset };
}
