// CenterNet's training loss: a penalty-reduced focal loss on the heatmap (the one positive cell
// per photo would otherwise drown among the empty ones), plus L1 on the size and offset read at
// the true centre cell.
import * as torch from '../torch/index.js';
import type { Targets } from './targets.js';

/** The size error is in shares of the photo (small numbers): weighted up to matter as much as the heatmap. */
const SIZE_WEIGHT = 5;
const OFFSET_WEIGHT = 1;
/** Keeps log(p) and log(1 - p) finite, as CenterNet clamps its sigmoid. */
const EPS = 1e-4;

export interface DetectionLoss {
  loss: torch.Tensor;
  heatmap: torch.Tensor;
  size: torch.Tensor;
  offset: torch.Tensor;
}

/** out: the head's [B, 5, G, G] output. Call inside a tidy scope. */
export function detectionLoss(out: torch.Tensor, t: Targets): DetectionLoss {
  const [n, , g] = out.shape as [number, number, number, number];
  if (g !== t.grid || t.index.length !== n) throw new Error(`detectionLoss: output [${out.shape.join(', ')}] does not match targets for ${t.index.length} photos on a ${t.grid}x${t.grid} grid`);
  const p = torch.F.sigmoid(out.select(1, 0)).clamp(EPS, 1 - EPS);
  const target = torch.tensor(t.heatmap, [n, g, g]);
  const pos = target.eq(1).float();
  const posTerm = p.log().mul(p.rsub(1).pow(2)).mul(pos).sum();
  const negTerm = p.rsub(1).log().mul(p.pow(2)).mul(target.rsub(1).pow(4)).sum();
  const heatmap = posTerm.add(negTerm).div(-n);
  const index = torch.tensor(t.index, [n, 1, 1]).to('int64').expand(n, out.shape[1]!, 1);
  const atCentre = out.reshape(n, out.shape[1]!, g * g).gather(2, index).squeeze(2);
  const size = atCentre.narrow(1, 1, 2).sub(torch.tensor(t.size, [n, 2])).abs().mean();
  const offset = atCentre.narrow(1, 3, 2).sub(torch.tensor(t.offset, [n, 2])).abs().mean();
  return { loss: heatmap.add(size.mul(SIZE_WEIGHT)).add(offset.mul(OFFSET_WEIGHT)), heatmap, size, offset };
}
