import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseCsv } from './csv.js';

/**
 * The 26 species of the Happywhale competition after normalisation, most photographed first (so
 * "the first N" are the ones with the most data).
 */
export const SPECIES: readonly string[] = [
  'bottlenose_dolphin', 'beluga', 'humpback_whale', 'blue_whale', 'false_killer_whale',
  'dusky_dolphin', 'killer_whale', 'spinner_dolphin', 'melon_headed_whale', 'minke_whale',
  'fin_whale', 'gray_whale', 'southern_right_whale', 'short_finned_pilot_whale', 'spotted_dolphin',
  'sei_whale', 'common_dolphin', 'cuviers_beaked_whale', 'long_finned_pilot_whale',
  'white_sided_dolphin', 'brydes_whale', 'pantropic_spotted_dolphin', 'commersons_dolphin',
  'pygmy_killer_whale', 'rough_toothed_dolphin', 'frasiers_dolphin',
];

/** The raw train.csv has 30 labels: two misspellings and two names for the short-finned pilot whale. */
export const SPECIES_FIXES: Readonly<Record<string, string>> = {
  bottlenose_dolpin: 'bottlenose_dolphin',
  kiler_whale: 'killer_whale',
  globis: 'short_finned_pilot_whale',
  pilot_whale: 'short_finned_pilot_whale',
};

export interface SpeciesChange {
  from: string;
  to: string;
  rows: number;
}

export interface SpeciesReport {
  /** Each label that was rewritten, and on how many rows. */
  changes: SpeciesChange[];
  rowsChanged: number;
  rawLabels: number;
  labels: number;
  /** Labels that are neither competition species nor a mapping's target (see unknownSpecies). */
  unknown?: UnknownSpecies[];
}

/** A species label nobody declared: kept as a class of its own, but worth a look (a typo?). */
export interface UnknownSpecies {
  label: string;
  /** Rows carrying it. */
  rows: number;
  /** The first few of their lines in train.csv. */
  lines: number[];
}

/** How many lines an UnknownSpecies lists. */
const LINES_SHOWN = 10;

/**
 * The normalised labels that are neither one of the competition's SPECIES nor a target of the
 * mapping (so a user's --species-map entry, even 'label -> label', declares a new species), with
 * the rows that carry them, most rows first.
 */
export function unknownSpecies(rows: readonly { species: string; line: number }[], mapping: Readonly<Record<string, string>> = SPECIES_FIXES): UnknownSpecies[] {
  const known = new Set([...SPECIES, ...Object.values(mapping)]);
  const found = new Map<string, UnknownSpecies>();
  for (const r of rows) {
    if (known.has(r.species)) continue;
    let u = found.get(r.species);
    if (!u) found.set(r.species, (u = { label: r.species, rows: 0, lines: [] }));
    u.rows++;
    if (u.lines.length < LINES_SHOWN) u.lines.push(r.line);
  }
  return [...found.values()].sort((a, b) => b.rows - a.rows || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

/**
 * Rewrite each row's species through the mapping; the raw label is kept in `speciesRaw` so
 * reports can show both.
 */
export function normaliseSpecies<T extends { species: string }>(
  rows: readonly T[],
  mapping: Readonly<Record<string, string>> = SPECIES_FIXES,
): { rows: (T & { speciesRaw: string })[]; report: SpeciesReport } {
  const counts = new Map<string, number>();
  const raw = new Set<string>();
  const out = rows.map((row) => {
    raw.add(row.species);
    const to = Object.hasOwn(mapping, row.species) ? mapping[row.species]! : row.species;
    if (to !== row.species) counts.set(row.species, (counts.get(row.species) ?? 0) + 1);
    return { ...row, species: to, speciesRaw: row.species };
  });
  const changes = [...counts].map(([from, n]) => ({ from, to: mapping[from]!, rows: n })).sort((a, b) => a.from.localeCompare(b.from));
  return {
    rows: out,
    report: {
      changes,
      rowsChanged: changes.reduce((a, c) => a + c.rows, 0),
      rawLabels: raw.size,
      labels: new Set(out.map((r) => r.species)).size,
    },
  };
}

/**
 * A user mapping file, CSV with columns `from,to` or a JSON object {"from": "to"}, merged over the
 * built-in fixes (a user entry wins; mapping a label to itself switches a built-in fix off).
 */
export async function loadSpeciesMapping(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8');
  const user: Record<string, string> = {};
  if (extname(path).toLowerCase() === '.json') {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`Expected a JSON object {"from": "to"} in species mapping ${path}`);
    }
    for (const [from, to] of Object.entries(parsed)) {
      if (typeof to !== 'string' || to.trim() === '') throw new Error(`Expected a species name for "${from}" in species mapping ${path} but received ${JSON.stringify(to)}`);
      user[from.trim()] = to.trim();
    }
  } else {
    const table = parseCsv(text);
    const fi = table.header.indexOf('from');
    const ti = table.header.indexOf('to');
    if (fi < 0 || ti < 0) throw new Error(`Expected columns from,to in species mapping ${path} but found ${table.header.join(',')}`);
    table.rows.forEach((r, k) => {
      const from = r[fi]?.trim() ?? '';
      const to = r[ti]?.trim() ?? '';
      if (!from || !to) throw new Error(`Expected non-empty from and to in species mapping ${path} line ${table.lines[k]}`);
      user[from] = to;
    });
  }
  return { ...SPECIES_FIXES, ...user };
}
