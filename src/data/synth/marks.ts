import type { Rng } from '../../util/random.js';
import { bounds, dorsalAnatomy, flukeAnatomy, pointInPolygon, type Anatomy, type Notch, type Point } from './anatomy.js';
import { luminance, type Look } from './looks.js';

interface Spot {
  x: number;
  y: number;
  rx: number;
  ry: number;
  angle: number;
  light: boolean;
}

interface Scar {
  points: Point[];
  width: number;
}

/** An individual's identity marks, fixed for life: notches, pigment spots and scars. */
export interface Marks {
  notches: Notch[];
  spots: Spot[];
  scars: Scar[];
}

export function anatomyOf(look: Look, notches: readonly Notch[]): Anatomy {
  return look.shape.kind === 'dorsal' ? dorsalAnatomy(look.shape, notches, look.markRegion === 'back') : flukeAnatomy(look.shape, notches);
}

/** A random point inside a polygon (rejection sampling in its bounding box). */
export function pointIn(poly: readonly Point[], rng: Rng): Point {
  const b = bounds(poly);
  for (let i = 0; i < 200; i++) {
    const p: Point = [rng.uniform(b.x0, b.x1), rng.uniform(b.y0, b.y1)];
    if (pointInPolygon(p, poly)) return p;
  }
  return [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2];
}

/**
 * Draw an individual's marks from its own Rng. Marks are bold (spots 10-22% of the fin height,
 * notches up to a fifth of it) so identity survives downscaling to 64-128 px.
 */
export function makeMarks(look: Look, rng: Rng): Marks {
  const clean = anatomyOf(look, []);
  const size = clean.regionSize;
  const notches: Notch[] = [];
  if (look.markRegion !== 'back') {
    const n = rng.weighted([0.15, 0.35, 0.3, 0.2]);
    for (let i = 0; i < n; i++) {
      notches.push({ at: rng.uniform(0.1, 0.9), width: rng.uniform(0.035, 0.09), depth: rng.uniform(0.08, 0.2) * size, profile: rng.bool(0.5) ? 'v' : 'u' });
    }
  }
  const dark = luminance(look.colour) < 0.5;
  const mixed = look.patterns.some((p) => p.kind === 'underside');
  const [lo, hi] = look.markRegion === 'fluke' ? [2, 6] : look.markRegion === 'back' ? [2, 5] : [1, 4];
  const spots: Spot[] = [];
  for (let i = 0, n = rng.int(lo, hi); i < n; i++) {
    const [x, y] = pointIn(clean.region, rng);
    const rx = rng.uniform(0.1, 0.22) * size;
    spots.push({ x, y, rx, ry: rx * rng.uniform(0.45, 1), angle: rng.uniform(0, 180), light: mixed ? rng.bool(0.5) : dark });
  }
  const scars: Scar[] = [];
  for (let i = 0, n = rng.int(look.markRegion === 'back' ? 1 : 0, 3); i < n; i++) {
    const [x, y] = pointIn(clean.region, rng);
    const angle = rng.uniform(-0.6, 0.6) + (rng.bool(0.5) ? 0 : Math.PI / 2);
    const half = rng.uniform(0.15, 0.35) * size;
    const bend = rng.uniform(-0.3, 0.3) * half;
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    scars.push({ points: [[x - c * half, y - s * half], [x - s * bend, y + c * bend], [x + c * half, y + s * half]], width: rng.uniform(0.05, 0.08) * size });
  }
  return { notches, spots, scars };
}

/** SVG for the spots and scars, in the animal's frame (the caller clips them to the silhouette). */
export function marksSvg(marks: Marks, look: Look): string {
  const light = '#ece8df';
  const dark = '#141414';
  const scarColour = luminance(look.colour) < 0.5 ? light : '#6d6a66';
  const f = (n: number): string => n.toFixed(3);
  const spots = marks.spots.map((s) =>
    `<ellipse cx="${f(s.x)}" cy="${f(s.y)}" rx="${f(s.rx)}" ry="${f(s.ry)}" transform="rotate(${s.angle.toFixed(1)} ${f(s.x)} ${f(s.y)})" fill="${s.light ? light : dark}" fill-opacity="0.9"/>`);
  const scars = marks.scars.map((s) =>
    `<path d="M${f(s.points[0]![0])} ${f(s.points[0]![1])}Q${f(s.points[1]![0])} ${f(s.points[1]![1])} ${f(s.points[2]![0])} ${f(s.points[2]![1])}" fill="none" stroke="${scarColour}" stroke-width="${f(s.width)}" stroke-linecap="round"/>`);
  return spots.join('') + scars.join('');
}
