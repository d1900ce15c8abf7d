// The detector's training loss: CenterNet's penalty-reduced focal loss on the heatmap (the one
// positive cell per photo would otherwise drown among the empty ones), plus an L1 loss on the
// side distances of the cells under each photo's bump, weighted by the bump (TTFNet).
import * as torch from '../torch/index.js';
import type { Targets } from './targets.js';

/** Side distances are shares of the photo (small numbers): weighted up to matter as much as the heatmap. */
const SIDES_WEIGHT = 5;
/** Keeps log(p) and log(1 - p) finite, as CenterNet clamps its sigmoid. */
const EPS = 1e-4;

export interface DetectionLoss {
  loss: torch.Tensor;
  heatmap: torch.Tensor;
  sides: torch.Tensor;
}

/** out: the head's [B, 5, G, G] output. Call inside a tidy scope. */
export function detectionLoss(out: torch.Tensor, t: Targets): DetectionLoss {
  const [n, channels, g] = out.shape as [number, number, number, number];
  if (g !== t.grid || t.heatmap.length !== n * g * g) throw new Error(`detectionLoss: output [${out.shape.join(', ')}] does not match targets for ${t.heatmap.length / (t.grid * t.grid)} photos on a ${t.grid}x${t.grid} grid`);
  const p = torch.F.sigmoid(out.select(1, 0)).clamp(EPS, 1 - EPS);
  const target = torch.tensor(t.heatmap, [n, g, g]);
  const pos = target.eq(1).float();
  const posTerm = p.log().mul(p.rsub(1).pow(2)).mul(pos).sum();
  const negTerm = p.rsub(1).log().mul(p.pow(2)).mul(target.rsub(1).pow(4)).sum();
  const heatmap = posTerm.add(negTerm).div(-n);
  const weight = torch.tensor(t.weight, [n, 1, g, g]);
  const error = out.narrow(1, 1, channels - 1).sub(torch.tensor(t.sides, [n, 4, g, g])).abs().mul(weight);
  const sides = error.sum().div(weight.sum().mul(4));
  return { loss: heatmap.add(sides.mul(SIDES_WEIGHT)), heatmap, sides };
}
