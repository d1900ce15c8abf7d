import { Rng } from '../../util/random.js';
import { LOOKS } from './looks.js';

export interface Individual {
  index: number;
  id: string;
  species: string;
  photos: number;
  /** All photos in test: the individual is unknown to train (truth new_individual). */
  isNew: boolean;
}

export interface PlannedPhoto {
  image: string;
  individual: Individual;
  /** The photo's number within its individual, which seeds its rendering. */
  k: number;
  split: 'train' | 'test';
  /** The species label as train.csv will spell it (sometimes misspelled on purpose). */
  label: string;
}

/** Misspellings and synonyms from the real train.csv, at roughly their real shares, so the fixes have work to do. */
const RAW_LABELS: Readonly<Record<string, readonly [string, number][]>> = {
  bottlenose_dolphin: [['bottlenose_dolpin', 0.1]],
  killer_whale: [['kiler_whale', 0.39]],
  short_finned_pilot_whale: [['pilot_whale', 0.35], ['globis', 0.16]],
};

/** Spread of the photo-count weights: gives about half the individuals a single photo at a mean of 3-4, as in the real data. */
const SIGMA = 1.5;

export interface CensusOptions {
  species: readonly string[];
  individuals: number;
  meanImages: number;
  testFraction: number;
  newFraction: number;
  seed: number;
}

/**
 * Who exists and which photos get taken: species drawn with the square root of their real
 * shares (every species gets at least one individual), a long-tailed photo count per individual
 * (lognormal weights, exact total = individuals x meanImages, most with 1-2 photos, a few with
 * dozens), then the test split with a share of whole individuals kept out of train.
 */
export function planCensus(o: CensusOptions): { individuals: Individual[]; photos: PlannedPhoto[] } {
  const rng = Rng.from(o.seed, 'census');
  const weights = o.species.map((s) => Math.sqrt(LOOKS[s]!.share));
  const ids = new Set<string>();
  const uniqueHex = (n: number): string => {
    for (;;) {
      const h = rng.hex(n);
      if (!ids.has(h)) {
        ids.add(h);
        return h;
      }
    }
  };
  const individuals: Individual[] = [];
  for (let i = 0; i < o.individuals; i++) {
    const species = i < o.species.length ? o.species[i]! : o.species[rng.weighted(weights)]!;
    individuals.push({ index: i, id: uniqueHex(12), species, photos: 1, isNew: false });
  }

  // Photo counts 1 + floor(scale * w) for lognormal weights w, capped, with the scale found by
  // bisection so the total comes out at individuals x meanImages; the few photos the flooring
  // leaves go to those closest to their next photo.
  const total = Math.round(o.individuals * o.meanImages);
  const cap = Math.max(3, Math.round(o.meanImages * 8));
  const w = individuals.map(() => Math.exp(SIGMA * rng.normal()));
  const countAt = (scale: number): number => w.reduce((sum, x) => sum + Math.min(cap, 1 + Math.floor(scale * x)), 0);
  let [lo, hi] = [0, 1];
  while (countAt(hi) < total) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (countAt(mid) <= total) lo = mid;
    else hi = mid;
  }
  individuals.forEach((ind, i) => (ind.photos = Math.min(cap, 1 + Math.floor(lo * w[i]!))));
  let left = total - individuals.reduce((a, b) => a + b.photos, 0);
  const nextUp = individuals.map((_, i) => i).filter((i) => individuals[i]!.photos < cap).sort((a, b) => ((lo * w[b]!) % 1) - ((lo * w[a]!) % 1) || a - b);
  for (const i of nextUp) {
    if (left-- <= 0) break;
    individuals[i]!.photos++;
  }

  const testTarget = Math.round(total * o.testFraction);
  const newTarget = Math.round(testTarget * o.newFraction);
  const known = new Map<string, number>();
  for (const ind of individuals) known.set(ind.species, (known.get(ind.species) ?? 0) + 1);
  let newPhotos = 0;
  for (const ind of rng.shuffle([...individuals])) {
    if (newPhotos >= newTarget) break;
    // Never hide the last known individual of a species.
    if (ind.photos <= newTarget - newPhotos && known.get(ind.species)! > 1) {
      ind.isNew = true;
      newPhotos += ind.photos;
      known.set(ind.species, known.get(ind.species)! - 1);
    }
  }
  // Known individuals lend test photos but keep their first photo in train.
  const pool: [number, number][] = [];
  for (const ind of individuals) if (!ind.isNew) for (let k = 1; k < ind.photos; k++) pool.push([ind.index, k]);
  const testKnown = new Set(rng.shuffle(pool).slice(0, Math.max(0, testTarget - newPhotos)).map(([i, k]) => `${i}/${k}`));

  const photos: PlannedPhoto[] = [];
  for (const ind of individuals) {
    for (let k = 0; k < ind.photos; k++) {
      const split = ind.isNew || testKnown.has(`${ind.index}/${k}`) ? 'test' : 'train';
      let label = ind.species;
      if (split === 'train') {
        let r = rng.next();
        for (const [raw, share] of RAW_LABELS[ind.species] ?? []) {
          if (r < share) {
            label = raw;
            break;
          }
          r -= share;
        }
      }
      photos.push({ image: `${uniqueHex(14)}.jpg`, individual: ind, k, split, label });
    }
  }
  return { individuals, photos };
}
