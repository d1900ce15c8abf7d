import sharp from 'sharp';
import { Rng } from '../../util/random.js';
import type { Box } from '../crop.js';
import { bounds, type Anatomy, type Point } from './anatomy.js';
import type { Look, Pattern } from './looks.js';
import { marksSvg, pointIn, type Marks } from './marks.js';

const f = (n: number): string => n.toFixed(2);
const path = (pts: readonly Point[]): string => `M${pts.map(([x, y]) => `${x.toFixed(3)} ${y.toFixed(3)}`).join('L')}Z`;
const hsl = (h: number, s: number, l: number): string => `hsl(${h.toFixed(0)},${s.toFixed(0)}%,${l.toFixed(0)}%)`;
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** Species-wide patterns in the animal's frame; positions come from the species' own Rng, so they never vary. */
function patternSvg(p: Pattern, a: Anatomy, rng: Rng): string {
  const fill = `fill="${p.colour}"${p.opacity !== undefined ? ` fill-opacity="${p.opacity}"` : ''}`;
  const [xa, xb] = a.finBase;
  const xs = a.body.map(([x]) => x);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const band = (lo: number, hi: number, from: number, to: number): string => {
    const top: Point[] = [];
    const bottom: Point[] = [];
    for (let i = 0; i <= 30; i++) {
      const x = from + ((to - from) * i) / 30;
      top.push([x, a.back(x) * hi]);
      bottom.push([x, a.back(x) * lo]);
    }
    return `<path d="${path([...top, ...bottom.reverse()])}" ${fill}/>`;
  };
  switch (p.kind) {
    case 'saddle': {
      const cx = xb + 0.25;
      return `<ellipse cx="${f(cx)}" cy="${f(a.back(cx) * 0.7)}" rx="0.5" ry="0.16" ${fill}/>`;
    }
    case 'cape': {
      // Everything above a line 45% of the way up the back, fin included.
      const top = bounds(a.fin).y0 - 0.1;
      const pts: Point[] = [[x0, top], [x1, top]];
      for (let i = 30; i >= 0; i--) {
        const x = x0 + ((x1 - x0) * i) / 30;
        pts.push([x, a.back(x) * 0.45]);
      }
      return `<path d="${path(pts)}" ${fill}/>`;
    }
    case 'stripe':
      return band(0.25, 0.5, x0, (xa + xb) / 2 + 0.3);
    case 'blaze':
      return `<ellipse cx="${f(x0 * 0.5)}" cy="${f(a.back(x0 * 0.5) * 0.5)}" rx="0.5" ry="0.12" transform="rotate(-8 ${f(x0 * 0.5)} ${f(a.back(x0 * 0.5) * 0.5)})" ${fill}/>`;
    case 'bicolor': {
      const mid = (xa + xb) / 2;
      return `<path d="${path([...a.trailing, [mid, a.back(mid) + 0.05]])}" ${fill}/>`;
    }
    case 'underside': {
      const b = bounds(a.fin);
      const cy = b.y0 + (b.y1 - b.y0) * 0.45;
      const rx = (b.x1 - b.x0) * 0.2;
      const ry = (b.y1 - b.y0) * 0.28;
      return `<ellipse cx="${f(-rx * 1.15)}" cy="${f(cy)}" rx="${f(rx)}" ry="${f(ry)}" ${fill}/><ellipse cx="${f(rx * 1.15)}" cy="${f(cy)}" rx="${f(rx)}" ry="${f(ry)}" ${fill}/>`;
    }
    case 'spots':
    case 'scratches': {
      const all = [...a.body, ...a.fin];
      const out: string[] = [];
      for (let i = 0; i < (p.count ?? 20); i++) {
        const [x, y] = pointIn(all, rng);
        if (p.kind === 'spots') {
          const [lo, hi] = p.radius ?? [0.03, 0.06];
          out.push(`<circle cx="${x.toFixed(3)}" cy="${y.toFixed(3)}" r="${rng.uniform(lo, hi).toFixed(3)}"/>`);
        } else {
          const t = rng.uniform(-0.5, 0.5);
          const l = rng.uniform(0.08, 0.2);
          out.push(`<path d="M${(x - Math.cos(t) * l).toFixed(3)} ${(y - Math.sin(t) * l).toFixed(3)}L${(x + Math.cos(t) * l).toFixed(3)} ${(y + Math.sin(t) * l).toFixed(3)}"/>`);
        }
      }
      return p.kind === 'spots' ? `<g ${fill}>${out.join('')}</g>` : `<g stroke="${p.colour}" stroke-width="0.018" stroke-linecap="round">${out.join('')}</g>`;
    }
  }
}

/** The animal in its own frame: silhouette, species patterns, individual marks, shading. */
export function animalSvg(species: string, look: Look, a: Anatomy, marks: Marks, shadeAngle: number, shadeStrength: number): string {
  const rng = Rng.from('species-pattern', species);
  const sil = `<path d="${path(a.body)}"/><path d="${path(a.fin)}"/>`;
  const b = bounds([...a.body, ...a.fin]);
  return `<defs><clipPath id="sil">${sil}</clipPath>`
    + `<linearGradient id="shade" gradientTransform="rotate(${shadeAngle.toFixed(0)} 0.5 0.5)"><stop offset="0" stop-color="#fff" stop-opacity="${(shadeStrength * 0.5).toFixed(2)}"/><stop offset="1" stop-color="#000" stop-opacity="${shadeStrength.toFixed(2)}"/></linearGradient></defs>`
    + `<path d="${path(a.body)}" fill="${look.colour}"/><path d="${path(a.fin)}" fill="${look.finColour ?? look.colour}"/>`
    + `<g clip-path="url(#sil)">${look.patterns.map((p) => patternSvg(p, a, rng)).join('')}${marksSvg(marks, look)}`
    + `<rect x="${f(b.x0)}" y="${f(b.y0)}" width="${f(b.x1 - b.x0)}" height="${f(b.y1 - b.y0)}" fill="url(#shade)"/></g>`;
}

export interface Photo {
  jpeg: Buffer;
  /** The animal's box in the photo's pixels. */
  box: Box;
}

/**
 * Render one field photo of an animal: a random frame size, sea and sky with waves and glare,
 * the animal scaled, tilted, rolled and placed at random, sometimes half hidden by splash, then
 * lighting, contrast, blur and JPEG quality varied. Everything comes from `rng`.
 */
export async function renderPhoto(species: string, look: Look, a: Anatomy, marks: Marks, size: number, rng: Rng): Promise<Photo> {
  const aspect = [4 / 3, 3 / 2, 1, 16 / 9, 3 / 4][rng.weighted([0.4, 0.25, 0.1, 0.15, 0.1])]!;
  const long = Math.round(size * rng.uniform(0.8, 1.25));
  const W = aspect >= 1 ? long : Math.round(long * aspect);
  const H = aspect >= 1 ? Math.round(long / aspect) : long;
  const u = long / 256; // scene details scale with the frame

  // Animal placement: scale to a share of the frame, skew and squash for tilt, then camera roll.
  const outline = [...a.body, ...a.fin];
  const lb = bounds(outline);
  const skew = Math.tan((clamp(rng.normal(0, 8), -18, 18) * Math.PI) / 180);
  const squash = rng.uniform(0.8, 1.1);
  const lw = lb.x1 - lb.x0 + Math.abs(skew) * (lb.y1 - lb.y0);
  const lh = (lb.y1 - lb.y0) * squash;
  const s = Math.min((rng.uniform(0.45, 0.85) * W) / lw, (0.8 * H) / lh);
  const partial = rng.bool(0.1);
  const cx = W * (partial ? rng.choice([rng.uniform(0.1, 0.25), rng.uniform(0.75, 0.9)]) : rng.uniform(0.35, 0.65));
  const cy = H * rng.uniform(0.4, 0.62);
  const lcx = (lb.x0 + lb.x1) / 2;
  const lcy = (lb.y0 + lb.y1) / 2;
  // x' = s (x + skew y) + e, y' = s squash y + g, with the local centre landing on (cx, cy).
  const m = [s, 0, s * skew, s * squash, cx - s * (lcx + skew * lcy), cy - s * squash * lcy] as const;
  const roll = clamp(rng.normal(0, 5), -15, 15);
  const [rc, rs] = [Math.cos((roll * Math.PI) / 180), Math.sin((roll * Math.PI) / 180)];
  const toImage = ([x, y]: Point): Point => {
    const gx = m[0] * x + m[2] * y + m[4] - W / 2;
    const gy = m[1] * x + m[3] * y + m[5] - H / 2;
    return [rc * gx - rs * gy + W / 2, rs * gx + rc * gy + H / 2];
  };
  const ib = bounds(outline.map(toImage));
  const box = { x0: Math.max(0, Math.floor(ib.x0)), y0: Math.max(0, Math.floor(ib.y0)), x1: Math.min(W, Math.ceil(ib.x1)), y1: Math.min(H, Math.ceil(ib.y1)) };

  // Sea and sky; the horizon lies above the animal's waterline.
  const waterY = m[5];
  const horizon = rng.uniform(-0.3 * H, Math.max(-0.3 * H + 1, Math.min(0.45 * H, waterY - 0.08 * H)));
  const overcast = rng.bool(0.35);
  const skyHue = rng.uniform(195, 220);
  const skyTop = hsl(skyHue, overcast ? rng.uniform(3, 12) : rng.uniform(35, 65), rng.uniform(55, 75));
  const skyLow = hsl(skyHue, overcast ? 5 : rng.uniform(20, 40), rng.uniform(78, 92));
  const seaHue = rng.uniform(180, 218);
  const seaSat = rng.uniform(overcast ? 8 : 25, overcast ? 30 : 60);
  const seaL = rng.uniform(16, 40);
  const seaFar = hsl(seaHue, seaSat * 0.7, seaL + 12);
  const seaNear = hsl(seaHue, seaSat, seaL);
  // The rolled frame must still cover the image corners: a margin of a quarter of the long side does.
  const margin = 0.25 * Math.max(W, H);
  const [X0, X1, Y0, Y1] = [-margin, W + margin, -margin, H + margin];
  const parts: string[] = [
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${skyTop}"/><stop offset="1" stop-color="${skyLow}"/></linearGradient>`
    + `<linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${seaFar}"/><stop offset="1" stop-color="${seaNear}"/></linearGradient>`
    // Soft glare and spray: a radial fade is far cheaper for librsvg than a blur filter.
    + `<radialGradient id="soft"><stop offset="0.3" stop-color="#f4f6f6"/><stop offset="1" stop-color="#f4f6f6" stop-opacity="0"/></radialGradient></defs>`,
    `<rect x="${f(X0)}" y="${f(Y0)}" width="${f(X1 - X0)}" height="${f(Math.max(0, horizon - Y0))}" fill="url(#sky)"/>`,
    `<rect x="${f(X0)}" y="${f(horizon)}" width="${f(X1 - X0)}" height="${f(Y1 - horizon)}" fill="url(#sea)"/>`,
  ];
  // A sine-like wave as a chain of smooth quadratic arcs (far fewer path points than sampling a sine).
  const wave = (y: number, amp: number, length: number, phase: number, colour: string, opacity: number, width: number, from = X0, to = X1): string => {
    const start = from - phase * length;
    const n = Math.ceil((to - start) / (length / 2));
    return `<path d="M${f(start)} ${f(y)}q${f(length / 4)} ${f(-2 * amp)} ${f(length / 2)} 0${` t${f(length / 2)} 0`.repeat(n)}" fill="none" stroke="${colour}" stroke-opacity="${opacity.toFixed(2)}" stroke-width="${f(width)}" stroke-linecap="round"/>`;
  };
  for (let i = 0, n = rng.int(8, 20); i < n; i++) {
    const y = horizon + (Y1 - horizon) * rng.next() ** 1.4;
    const near = clamp((y - horizon) / H, 0.05, 1.5);
    const length = rng.uniform(18, 60) * u * (0.5 + near);
    parts.push(wave(y, length * rng.uniform(0.04, 0.12), length, rng.next(),
      rng.bool(0.6) ? hsl(seaHue, seaSat * 0.6, seaL + rng.uniform(15, 35)) : hsl(seaHue, seaSat, seaL * 0.6), rng.uniform(0.15, 0.5), length * rng.uniform(0.05, 0.12)));
  }
  for (let i = 0, n = rng.bool(0.5) ? rng.int(1, 4) : 0; i < n; i++) {
    parts.push(`<ellipse cx="${f(rng.uniform(0, W))}" cy="${f(rng.uniform(Math.max(horizon, 0), H))}" rx="${f(rng.uniform(15, 50) * u)}" ry="${f(rng.uniform(3, 10) * u)}" fill="url(#soft)" fill-opacity="${rng.uniform(0.3, 0.8).toFixed(2)}"/>`);
  }

  parts.push(`<g transform="matrix(${m.map(f).join(' ')})">${animalSvg(species, look, a, marks, rng.uniform(0, 360), rng.uniform(0.1, 0.35))}</g>`);

  // Water lapping over the waterline, then sometimes a splash hiding part of the animal (drawn
  // inside the rolled group, so in pre-roll coordinates).
  const pre = bounds(outline.map(([x, y]): Point => [m[0] * x + m[2] * y + m[4], m[3] * y + m[5]]));
  const foam = hsl(seaHue, seaSat * 0.3, rng.uniform(75, 92));
  for (let i = 0; i < 3; i++) {
    const length = rng.uniform(14, 30) * u;
    parts.push(wave(waterY + i * 2.5 * u, length * 0.08, length, rng.next(), i === 0 ? foam : seaNear, i === 0 ? rng.uniform(0.4, 0.8) : 0.9, (i === 0 ? 2 : 3) * u, pre.x0 - 20 * u, pre.x1 + 20 * u));
  }
  if (rng.bool(0.2)) {
    const sx = rng.uniform(pre.x0, pre.x1);
    const sy = rng.uniform(pre.y0 + 0.5 * (pre.y1 - pre.y0), pre.y1);
    const spread = 0.25 * Math.max(pre.x1 - pre.x0, pre.y1 - pre.y0);
    const drops: string[] = [];
    for (let i = 0, n = rng.int(6, 15); i < n; i++) {
      drops.push(`<circle cx="${f(sx + rng.normal(0, spread * 0.5))}" cy="${f(sy + rng.normal(0, spread * 0.35))}" r="${f(rng.uniform(0.25, 0.65) * spread)}" fill-opacity="${rng.uniform(0.6, 1).toFixed(2)}"/>`);
    }
    parts.push(`<g fill="url(#soft)">${drops.join('')}</g>`);
  }

  // Lighting: a veil of haze (lighter, flatter) or shade (darker) over the whole frame; an overlay
  // costs librsvg one blend, where sharp's modulate/linear would each add a colour-space pass.
  const veil = rng.bool(0.5) ? `<rect x="${f(X0)}" y="${f(Y0)}" width="${f(X1 - X0)}" height="${f(Y1 - Y0)}" fill="${rng.bool(0.5) ? '#dfe3e6' : '#000'}" fill-opacity="${rng.uniform(0.05, 0.35).toFixed(2)}"/>` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><g transform="rotate(${roll.toFixed(2)} ${W / 2} ${H / 2})">${parts.join('')}${veil}</g></svg>`;
  let img = sharp(Buffer.from(svg)).removeAlpha();
  if (rng.bool(0.3)) img = img.blur(Math.max(0.3, rng.uniform(0.4, 1.4) * u));
  const jpeg = await img.jpeg({ quality: rng.int(60, 96) }).toBuffer();
  return { jpeg, box };
}
