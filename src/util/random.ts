import { checkInteger, invalidParameterError } from './check.js';

/**
 * Seedable PRNG used for every random choice in finprint (splits, synthetic data, augmentation),
 * so that a seed reproduces a run exactly. mulberry32: tiny state, fast, good enough statistics
 * for sampling (not for cryptography).
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    checkInteger('seed', seed);
    this.state = seed >>> 0;
  }

  /**
   * An independent stream named by parts (e.g. seed, 'photo', index). Deriving per-item streams
   * instead of sharing one keeps results identical whatever order concurrent work completes in.
   */
  static from(...parts: (string | number)[]): Rng {
    return new Rng(hashSeed(...parts));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Normal deviate (Box-Muller). */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi <= lo) throw invalidParameterError('int range', 'integers lo < hi', [lo, hi]);
    return lo + Math.floor(this.next() * (hi - lo));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** Fisher-Yates, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw invalidParameterError('items', 'a non-empty array', items);
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Index drawn with probability proportional to weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw invalidParameterError('weights', 'non-negative numbers with a positive sum', weights);
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** n lowercase hex digits, e.g. for Happywhale-style ids. */
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += Math.floor(this.next() * 4294967296).toString(16).padStart(8, '0');
    return s.slice(0, n);
  }
}

/** 32-bit seed from any parts: FNV-1a over their text, then a murmur3 finaliser to spread bits. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
