// encounters.csv: what a survey knows about its photos. Columns photo (the file's name), date,
// latitude, longitude, observer, species; all but photo optional, in any order; a bad value is an
// error naming the file, the line and the column.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseCsv } from '../data/csv.js';

export interface PhotoMetadata {
  date?: string;
  latitude?: number;
  longitude?: number;
  observer?: string;
  species?: string;
}

export const METADATA_COLUMNS = ['photo', 'date', 'latitude', 'longitude', 'observer', 'species'] as const;

/** Metadata by photo file name. */
export function readMetadata(path: string): Map<string, PhotoMetadata> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--metadata ${path}: ${(err as Error).message}`);
  }
  const table = parseCsv(text);
  const col = new Map(table.header.map((h, i) => [h.trim().toLowerCase(), i]));
  const unknown = table.header.filter((h) => !(METADATA_COLUMNS as readonly string[]).includes(h.trim().toLowerCase()));
  if (unknown.length) throw new Error(`${path}: unknown column(s) ${unknown.join(', ')} (known: ${METADATA_COLUMNS.join(', ')})`);
  if (!col.has('photo')) throw new Error(`${path}: no photo column (the photo's file name); columns: ${METADATA_COLUMNS.join(', ')}`);
  const out = new Map<string, PhotoMetadata>();
  table.rows.forEach((row, r) => {
    const line = table.lines[r]!;
    const get = (name: string): string | undefined => {
      const i = col.get(name);
      const v = i === undefined ? undefined : row[i]?.trim();
      return v ? v : undefined;
    };
    const bad = (name: string, expected: string): Error => new Error(`${path} line ${line}: ${name} ${JSON.stringify(get(name))} is not ${expected}`);
    const number = (name: string, limit: number): number | undefined => {
      const v = get(name);
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || Math.abs(n) > limit) throw bad(name, `a number from -${limit} to ${limit}`);
      return n;
    };
    const photo = get('photo');
    if (!photo) throw new Error(`${path} line ${line}: no photo name`);
    const date = get('date');
    if (date !== undefined && (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(date) || Number.isNaN(Date.parse(date)))) throw bad('date', 'an ISO date (2024-07-31 or 2024-07-31T14:05:00)');
    const meta: PhotoMetadata = {};
    if (date !== undefined) meta.date = date.replace(' ', 'T');
    const latitude = number('latitude', 90);
    const longitude = number('longitude', 180);
    if ((latitude === undefined) !== (longitude === undefined)) throw new Error(`${path} line ${line}: latitude and longitude go together`);
    if (latitude !== undefined) meta.latitude = latitude;
    if (longitude !== undefined) meta.longitude = longitude;
    const observer = get('observer');
    if (observer !== undefined) meta.observer = observer;
    const species = get('species');
    if (species !== undefined) meta.species = species;
    const name = basename(photo);
    if (out.has(name)) throw new Error(`${path} line ${line}: photo ${name} is listed twice`);
    out.set(name, meta);
  });
  return out;
}
