// What the detector learns for each photo: a Gaussian bump on the heatmap at the box centre (so
// cells near the centre are penalised less than far ones), and at every cell under the bump the
// distances from the cell's centre to the box's four sides, weighted by the bump (TTFNet, Liu et
// al. 2019: many regression samples per photo instead of CenterNet's one train far faster).
// Boxes are shares of the photo's width and height: the detector sees the photo squashed to a
// square, so shares carry over unchanged.
import type { Box } from '../data/crop.js';

export interface Targets {
  grid: number;
  /** [B, grid, grid], 1 exactly at each centre cell. */
  heatmap: Float32Array;
  /** [B, 4, grid, grid]: distances from each cell centre to the left, top, right and bottom sides, in shares of the photo. */
  sides: Float32Array;
  /** [B, grid, grid]: how much each cell's side distances count (the bump, inside the box; 0 elsewhere). */
  weight: Float32Array;
}

/** TTFNet's elliptical Gaussian: sigma = alpha x side / 6 on each axis. */
const GAUSSIAN_ALPHA = 0.54;
/** Below this sigma (in cells) the bump would be a single cell, which trains no neighbours. */
const MIN_SIGMA = 0.25;

/** The cell holding a box's centre. */
function centreCell(box: Box, grid: number): { x: number; y: number } {
  const cell = (v: number): number => Math.min(grid - 1, Math.max(0, Math.floor(v * grid)));
  return { x: cell((box.x0 + box.x1) / 2), y: cell((box.y0 + box.y1) / 2) };
}

export function encodeTargets(boxes: readonly Box[], grid: number): Targets {
  const cells = grid * grid;
  const heatmap = new Float32Array(boxes.length * cells);
  const sides = new Float32Array(boxes.length * 4 * cells);
  const weight = new Float32Array(boxes.length * cells);
  boxes.forEach((box, b) => {
    const c = centreCell(box, grid);
    const sx = Math.max(MIN_SIGMA, (GAUSSIAN_ALPHA * (box.x1 - box.x0) * grid) / 6);
    const sy = Math.max(MIN_SIGMA, (GAUSSIAN_ALPHA * (box.y1 - box.y0) * grid) / 6);
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        const i = y * grid + x;
        const g = Math.exp(-((x - c.x) ** 2) / (2 * sx * sx) - (y - c.y) ** 2 / (2 * sy * sy));
        heatmap[b * cells + i] = g;
        const px = (x + 0.5) / grid;
        const py = (y + 0.5) / grid;
        const d = [px - box.x0, py - box.y0, box.x1 - px, box.y1 - py];
        for (let k = 0; k < 4; k++) sides[(b * 4 + k) * cells + i] = d[k]!;
        // The centre cell always counts, even when a box smaller than a cell misses its centre.
        const inside = d.every((v) => v > 0) || (x === c.x && y === c.y);
        weight[b * cells + i] = inside ? g : 0;
      }
    }
  });
  return { grid, heatmap, sides, weight };
}
