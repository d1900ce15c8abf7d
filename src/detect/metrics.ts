// How well predicted boxes match the true ones: mean IoU, and recall at IoU 0.5 and 0.75 (the
// share of photos whose box overlaps the truth at least that much; one animal per photo).
import type { Box } from '../data/crop.js';

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

export interface BoxMetrics {
  photos: number;
  meanIou: number;
  recall50: number;
  recall75: number;
}

export function boxMetrics(pairs: readonly { predicted: Box; truth: Box }[]): BoxMetrics {
  const ious = pairs.map((p) => iou(p.predicted, p.truth));
  const share = (t: number): number => (ious.length ? ious.filter((v) => v >= t).length / ious.length : 0);
  return { photos: ious.length, meanIou: ious.length ? ious.reduce((s, v) => s + v, 0) / ious.length : 0, recall50: share(0.5), recall75: share(0.75) };
}
