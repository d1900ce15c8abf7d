import type { DorsalShape, FlukeShape } from './looks.js';

export type Point = [number, number];

/** A notch cut into a trailing edge: centre and half-width as shares of the edge length, depth in units. */
export interface Notch {
  at: number;
  width: number;
  depth: number;
  /** 'v': a sharp bite; 'u': a rounded scallop. */
  profile: 'v' | 'u';
}

/**
 * An animal's silhouette in its own frame (SVG axes, y down, waterline at y = 0). `fin` is the
 * dorsal fin or the fluke; `region` is where identity marks are placed.
 */
export interface Anatomy {
  body: Point[];
  fin: Point[];
  /** The trailing edge, as drawn (after notches), for patterns that follow it. */
  trailing: Point[];
  region: Point[];
  /** Typical size of the marked region (fin height, chord or hump), to scale marks. */
  regionSize: number;
  /** Back profile, for patterns that follow the back. */
  back: (x: number) => number;
  /** Fin base front and rear x, for patterns placed relative to the fin. */
  finBase: [number, number];
}

function quad(p0: Point, p1: Point, p2: Point, n: number): Point[] {
  const out: Point[] = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const a = (1 - t) * (1 - t);
    const b = 2 * t * (1 - t);
    const c = t * t;
    out.push([a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]]);
  }
  return out;
}

/**
 * Cut notches into an edge. Points move to the right of the direction of travel, which is into
 * the fin for edges traced tip -> base (dorsal) or left tip -> right tip (fluke).
 */
export function cutNotches(edge: readonly Point[], notches: readonly Notch[]): Point[] {
  const lengths = [0];
  for (let i = 1; i < edge.length; i++) lengths.push(lengths[i - 1]! + Math.hypot(edge[i]![0] - edge[i - 1]![0], edge[i]![1] - edge[i - 1]![1]));
  const total = lengths[lengths.length - 1]!;
  return edge.map((p, i) => {
    const a = edge[Math.max(0, i - 1)]!;
    const b = edge[Math.min(edge.length - 1, i + 1)]!;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    const nx = -(b[1] - a[1]) / len;
    const ny = (b[0] - a[0]) / len;
    let d = 0;
    for (const n of notches) {
      const u = (lengths[i]! / total - n.at) / n.width;
      if (Math.abs(u) < 1) d = Math.max(d, n.depth * (n.profile === 'v' ? 1 - Math.abs(u) : Math.sqrt(1 - u * u)));
    }
    return [p[0] + nx * d, p[1] + ny * d];
  });
}

/** A back arc with a dorsal fin; marks go on the fin, or on the back around it for finless species. */
export function dorsalAnatomy(s: DorsalShape, notches: readonly Notch[], marksOnBack: boolean): Anatomy {
  const half = s.length / 2;
  const back = (x: number): number => {
    const r = 1 - (x / half) ** 2;
    let y = r > 0 ? -s.hump * Math.sqrt(r) : 0;
    if (s.knuckles && x > s.finAt * s.length) {
      // Knuckles: a row of small bumps from the hump towards the tail.
      const u = (x - s.finAt * s.length) / (half - s.finAt * s.length);
      y -= 0.07 * Math.max(0, Math.sin(u * Math.PI * s.knuckles)) * (1 - u) * (r > 0 ? 1 : 0);
    }
    return y;
  };
  const body: Point[] = [];
  for (let i = 0; i <= 48; i++) {
    const x = -half + (s.length * i) / 48;
    body.push([x, back(x)]);
  }
  const h = s.fin;
  const xf = s.finAt * s.length;
  const xa = xf - (s.base * h) / 2;
  const xb = xf + (s.base * h) / 2;
  // Sink the fin base slightly into the body so no seam shows.
  const a: Point = [xa, back(xa) + 0.05];
  const rear: Point = [xb, back(xb) + 0.05];
  const tip: Point = [xa + s.tip * h, back(xf) - h];
  const straight: Point = [(a[0] + tip[0]) / 2, (a[1] + tip[1]) / 2];
  const bulge: Point = [xa + 0.25 * s.tip * h, a[1] + 0.85 * (tip[1] - a[1])];
  const leading = quad(a, [straight[0] + s.convex * (bulge[0] - straight[0]), straight[1] + s.convex * (bulge[1] - straight[1])], tip, 24);
  const dx = rear[0] - tip[0];
  const dy = rear[1] - tip[1];
  const len = Math.hypot(dx, dy);
  const mid: Point = [(tip[0] + rear[0]) / 2 + (-dy / len) * s.falcate * len, (tip[1] + rear[1]) / 2 + (dx / len) * s.falcate * len];
  const trailing = cutNotches(quad(tip, mid, rear, 80), notches);
  const fin = [...leading, ...trailing.slice(1)];
  const region = marksOnBack ? body.filter(([x]) => Math.abs(x - xf) < s.length / 3).concat([[xf + s.length / 3, 0], [xf - s.length / 3, 0]]) : fin;
  return { body, fin, trailing, region, regionSize: marksOnBack ? s.hump : h, back, finBase: [xa, xb] };
}

export function flukeAnatomy(s: FlukeShape, notches: readonly Notch[]): Anatomy {
  const stalk = 0.55;
  const yI = -stalk;
  const yEdge = yI - s.chord;
  const w = s.span / 2;
  // Right half of the trailing edge, centre notch -> tip.
  const rightTrailing: Point[] = [];
  for (let i = 0; i <= 40; i++) {
    const u = i / 40;
    const y = yEdge - s.rise * u * u + s.notch * Math.max(0, 1 - u / 0.12) ** 1.5 + s.serration * Math.sin(u * Math.PI * 14) * u;
    rightTrailing.push([u * w, y]);
  }
  const tipR = rightTrailing[40]!;
  const rightLeading = quad(tipR, [w * 0.55, yI - 0.08], [0.14, yI], 24);
  const mirror = (pts: readonly Point[]): Point[] => pts.map(([x, y]) => [-x, y] as Point).reverse();
  const trailing = cutNotches([...mirror(rightTrailing), ...rightTrailing.slice(1)], notches);
  const fin = [...trailing, ...rightLeading.slice(1), ...mirror(rightLeading).slice(0, -1)];
  const body: Point[] = [[-0.15, yI + 0.01], [0.15, yI + 0.01], [0.2, yI * 0.5], [0.28, 0], [-0.28, 0], [-0.2, yI * 0.5]];
  return { body, fin, trailing, region: fin, regionSize: s.chord, back: () => yI, finBase: [-w, w] };
}

export function pointInPolygon([x, y]: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function bounds(points: readonly Point[]): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x0, y0, x1, y1 };
}
