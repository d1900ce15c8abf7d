import { countBy, pcc } from './chance.js';
import type { Competition } from './happywhale.js';
import { printable } from '../util/printable.js';
import type { SpeciesChange, UnknownSpecies } from './species.js';
import { summarise, type IssueKind } from './validate.js';

/** Counts that describe a competition folder; snake_case because this is the `eda --json` output. */
export interface EdaStats {
  dir: string;
  /** Usable train photos (bad rows and photos excluded; see issues). */
  images: number;
  test_images: number;
  species_raw: number;
  species: number;
  individuals: number;
  species_counts: Record<string, number>;
  species_raw_counts: Record<string, number>;
  species_fixes: SpeciesChange[];
  /** Labels that are no known species (kept as classes of their own): a typo, or a species to declare. */
  species_unknown: UnknownSpecies[];
  individuals_per_species: Record<string, number>;
  images_per_individual: { histogram: { photos: string; individuals: number }[]; singletons: number; mean: number; median: number; max: number };
  image_sizes: {
    width: { min: number; median: number; max: number };
    height: { min: number; median: number; max: number };
    long_side: { bin: string; images: number }[];
    common: { size: string; images: number }[];
  };
  /** Proportional chance criterion and 1.25 x PCC, for the species and the individual task. */
  pcc: { species: number; individual: number };
  pcc125: { species: number; individual: number };
  issues: { total: number; by_kind: Partial<Record<IssueKind, number>> };
}

const PHOTO_BINS: readonly [string, number, number][] = [
  ['1', 1, 1], ['2', 2, 2], ['3', 3, 3], ['4', 4, 4], ['5', 5, 5], ['6-10', 6, 10], ['11-20', 11, 20], ['21-50', 21, 50], ['>50', 51, Infinity],
];
const SIDE_BINS: readonly [string, number, number][] = [
  ['<256', 0, 255], ['256-511', 256, 511], ['512-1023', 512, 1023], ['1024-2047', 1024, 2047], ['2048-4095', 2048, 4095], ['>=4096', 4096, Infinity],
];

const sorted = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** min, median, max (zeros when empty); a loop, since spreading 50k values into Math.min can overflow the stack. */
function spread(values: readonly number[]): { min: number; median: number; max: number } {
  let min = Infinity;
  let max = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min: values.length ? min : 0, median: median(values), max };
}

function binCounts(values: readonly number[], bins: readonly [string, number, number][]): [string, number][] {
  return bins.map(([label, lo, hi]) => [label, values.filter((v) => v >= lo && v <= hi).length]);
}

export function computeEda(c: Competition): EdaStats {
  const species = countBy(c.train, (r) => r.species);
  const raw = countBy(c.train, (r) => r.speciesRaw);
  const perIndividual = countBy(c.train, (r) => r.individualId);
  const speciesOf = new Map(c.train.map((r) => [r.individualId, r.species]));
  const individualsPerSpecies = countBy(speciesOf.values(), (s) => s);
  const photoCounts = [...perIndividual.values()];
  const sizes = [...c.images.values()];
  const common = countBy(sizes, (s) => `${s.width}x${s.height}`);
  const p = { species: pcc(species.values()), individual: pcc(perIndividual.values()) };
  const { issues, byKind } = summarise(c.issues);
  return {
    dir: c.dir,
    images: c.train.length,
    test_images: c.test.length,
    species_raw: raw.size,
    species: species.size,
    individuals: perIndividual.size,
    species_counts: sorted(species),
    species_raw_counts: sorted(raw),
    species_fixes: c.species.changes,
    species_unknown: c.species.unknown ?? [],
    individuals_per_species: sorted(individualsPerSpecies),
    images_per_individual: {
      histogram: binCounts(photoCounts, PHOTO_BINS).map(([photos, individuals]) => ({ photos, individuals })),
      singletons: photoCounts.filter((n) => n === 1).length,
      mean: photoCounts.length ? c.train.length / photoCounts.length : 0,
      median: median(photoCounts),
      max: spread(photoCounts).max,
    },
    image_sizes: {
      width: spread(sizes.map((s) => s.width)),
      height: spread(sizes.map((s) => s.height)),
      long_side: binCounts(sizes.map((s) => Math.max(s.width, s.height)), SIDE_BINS).map(([bin, images]) => ({ bin, images })),
      common: Object.entries(sorted(common)).slice(0, 10).map(([size, images]) => ({ size, images })),
    },
    pcc: p,
    pcc125: { species: 1.25 * p.species, individual: 1.25 * p.individual },
    issues: { total: issues, by_kind: byKind },
  };
}

const pct = (x: number, digits = 2): string => `${(100 * x).toFixed(digits)}%`;

/** The terminal summary; every name from the data is escaped and cut (see printable). */
export function formatEda(s: EdaStats): string {
  const ipi = s.images_per_individual;
  const p = (name: string): string => printable(name, { max: 60 });
  const unknown = s.species_unknown.slice(0, 10).map((u) => `${p(u.label)} x${u.rows} (train.csv line${u.lines.length > 1 ? 's' : ''} ${u.lines.join(', ')}${u.rows > u.lines.length ? ', ...' : ''})`);
  const lines = [
    `${printable(s.dir, { max: 1000 })}`,
    `  train images ${s.images}, test images ${s.test_images}`,
    `  species ${s.species} (raw labels ${s.species_raw}${s.species_fixes.length ? `; fixed ${s.species_fixes.map((f) => `${p(f.from)}->${p(f.to)} x${f.rows}`).join(', ')}` : ''})`,
    ...(unknown.length ? [`  warning: unknown species label${unknown.length > 1 ? 's' : ''}, kept as new species (map ${unknown.length > 1 ? 'them' : 'it'} with --species-map if meant): ${unknown.join('; ')}${s.species_unknown.length > unknown.length ? `; and ${s.species_unknown.length - unknown.length} more` : ''}`] : []),
    `  individuals ${s.individuals}: ${ipi.singletons} with one photo, mean ${ipi.mean.toFixed(2)}, median ${ipi.median}, max ${ipi.max} photos`,
    `  photos per individual: ${ipi.histogram.filter((h) => h.individuals > 0).map((h) => `${h.photos}:${h.individuals}`).join('  ')}`,
    `  image size: width ${s.image_sizes.width.min}..${s.image_sizes.width.max} (median ${s.image_sizes.width.median}), height ${s.image_sizes.height.min}..${s.image_sizes.height.max} (median ${s.image_sizes.height.median})`,
    '  species (photos / individuals):',
    ...Object.entries(s.species_counts).map(([name, n]) => `    ${p(name).padEnd(28)} ${String(n).padStart(7)} ${String(s.individuals_per_species[name] ?? 0).padStart(7)}`),
    `  chance (PCC / 1.25 x PCC): species ${pct(s.pcc.species)} / ${pct(s.pcc125.species)}, individual ${pct(s.pcc.individual, 4)} / ${pct(s.pcc125.individual, 4)}`,
    `  problems: ${s.issues.total}${s.issues.total ? ` (${Object.entries(s.issues.by_kind).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
  ];
  return lines.join('\n');
}
