import { lstat, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import sharp from 'sharp';
import { printable } from '../util/printable.js';
import type { CsvTable } from './csv.js';

export type IssueKind =
  | 'unreadable-file' | 'missing-column' | 'unknown-column' | 'field-count' | 'empty-field' | 'malformed-field'
  | 'duplicate-image' | 'missing-file' | 'empty-file' | 'not-an-image' | 'truncated' | 'absurd-dimensions' | 'outside-link';

/** One problem: where (file, and CSV line if any) and what. */
export interface Issue {
  file: string;
  row?: number;
  kind: IssueKind;
  message: string;
}

export interface ColumnRule {
  name: string;
  pattern: RegExp;
  /** Plain words for the report, e.g. 'a file name ending in .jpg, .png or .webp'. */
  expected: string;
  /** Longest value accepted, in UTF-8 bytes (default MAX_FIELD_BYTES). */
  maxBytes?: number;
}

/** A file name's limit on common file systems; no label or id in a competition CSV is longer. */
export const MAX_FIELD_BYTES = 255;

export const IMAGE_NAME: ColumnRule = { name: 'image', pattern: /^[^/\\]+\.(jpe?g|png|webp)$/i, expected: 'a file name ending in .jpg, .jpeg, .png or .webp' };
export const SPECIES_LABEL: ColumnRule = { name: 'species', pattern: /^[a-z][a-z0-9_]*$/, expected: 'a lowercase label of letters, digits and _' };
export const INDIVIDUAL_ID: ColumnRule = { name: 'individual_id', pattern: /^[A-Za-z0-9_-]+$/, expected: 'an id of letters, digits, _ and -' };

/**
 * Check a CSV against its columns: a missing column makes the file unusable; an unknown column is
 * reported and ignored; a row with the wrong field count, an empty or malformed field, or an image
 * name seen before is reported and skipped. Returns the good rows as records with their line.
 */
export interface CheckedRow {
  line: number;
  values: Record<string, string>;
}

export function checkTable(file: string, table: CsvTable, rules: readonly ColumnRule[]): { records: CheckedRow[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const missing = rules.filter((r) => !table.header.includes(r.name));
  for (const r of missing) issues.push({ file, row: 1, kind: 'missing-column', message: `missing column "${r.name}" (header is "${printable(table.header.join(','))}")` });
  for (const h of table.header) {
    if (!rules.some((r) => r.name === h)) issues.push({ file, row: 1, kind: 'unknown-column', message: `unknown column "${printable(h)}" ignored` });
  }
  if (missing.length > 0) {
    if (table.rows.length > 0) issues.push({ file, kind: 'missing-column', message: `all ${table.rows.length} rows skipped: required columns missing` });
    return { records: [], issues };
  }
  const index = rules.map((r) => table.header.indexOf(r.name));
  const seen = new Map<string, number>();
  const records: CheckedRow[] = [];
  table.rows.forEach((fields, k) => {
    const line = table.lines[k]!;
    if (fields.length !== table.header.length) {
      issues.push({ file, row: line, kind: 'field-count', message: `expected ${table.header.length} fields but found ${fields.length}` });
      return;
    }
    const values: Record<string, string> = {};
    for (let c = 0; c < rules.length; c++) {
      const rule = rules[c]!;
      const value = fields[index[c]!]!.trim();
      if (value === '') {
        issues.push({ file, row: line, kind: 'empty-field', message: `empty ${rule.name}` });
        return;
      }
      // Checked before anything else looks at the value: a 50 MB "name" is a broken row, not a path.
      const maxBytes = rule.maxBytes ?? MAX_FIELD_BYTES;
      if (value.length > maxBytes || Buffer.byteLength(value) > maxBytes) {
        issues.push({ file, row: line, kind: 'malformed-field', message: `${rule.name} longer than ${maxBytes} bytes: ${printable(value, { max: 40 })}` });
        return;
      }
      if (!rule.pattern.test(value)) {
        issues.push({ file, row: line, kind: 'malformed-field', message: `${rule.name} "${printable(value)}": expected ${rule.expected}` });
        return;
      }
      values[rule.name] = value;
    }
    const image = values['image'];
    if (image !== undefined) {
      const first = seen.get(image);
      if (first !== undefined) {
        issues.push({ file, row: line, kind: 'duplicate-image', message: `image ${printable(image)} already listed on line ${first}` });
        return;
      }
      seen.set(image, line);
    }
    records.push({ line, values });
  });
  return { records, issues };
}

export interface ImageInfo {
  width: number;
  height: number;
  format: string;
  bytes: number;
}

/** Bounds beyond which a photo is certainly broken (a 1x1 pixel, a 50000 px strip). */
export interface DimensionLimits {
  minSide: number;
  maxSide: number;
  maxAspect: number;
}

export const DEFAULT_LIMITS: DimensionLimits = { minSide: 16, maxSide: 20000, maxAspect: 10 };

/** 'exists': stat only; 'metadata': also read the header; 'decode': also decode every pixel (finds truncation). */
export type CheckLevel = 'exists' | 'metadata' | 'decode';
export const CHECK_LEVELS: readonly CheckLevel[] = ['exists', 'metadata', 'decode'];

const PHOTO_FORMATS = new Set(['jpeg', 'png', 'webp']);

/** Check one image file; returns its size and format, or what is wrong with it. */
export async function checkImage(path: string, level: CheckLevel, limits: DimensionLimits = DEFAULT_LIMITS): Promise<{ info?: ImageInfo; problem?: { kind: IssueKind; message: string } }> {
  let bytes: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return { problem: { kind: 'missing-file', message: 'not a regular file' } };
    bytes = s.size;
  } catch {
    return { problem: { kind: 'missing-file', message: 'file not found' } };
  }
  if (bytes === 0) return { problem: { kind: 'empty-file', message: 'zero bytes' } };
  if (level === 'exists') return {};
  let meta: sharp.Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (err) {
    return { problem: { kind: 'not-an-image', message: `cannot read image header: ${(err as Error).message}` } };
  }
  const { width = 0, height = 0, format = 'unknown' } = meta;
  if (!PHOTO_FORMATS.has(format)) return { problem: { kind: 'not-an-image', message: `${format} is not a photo format (expected JPEG, PNG or WebP)` } };
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (short < limits.minSide || long > limits.maxSide || long / short > limits.maxAspect) {
    return { problem: { kind: 'absurd-dimensions', message: `${width}x${height} px is outside ${limits.minSide}..${limits.maxSide} px per side or aspect above ${limits.maxAspect}` } };
  }
  if (level === 'decode') {
    try {
      // Shrink-on-load keeps this cheap, yet every compressed byte is still read.
      await sharp(path).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    } catch (err) {
      return { problem: { kind: 'truncated', message: `decode failed: ${(err as Error).message}` } };
    }
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { info: { width: swap ? height : width, height: swap ? width : height, format, bytes } };
}

/**
 * A photo that is a symbolic link must lead to a file inside one of the `allowed` folders (real
 * paths: the data folder and its photo folders); one leading elsewhere is reported with where it
 * points, so a data folder cannot quietly feed in files from anywhere on the machine. A link that
 * leads nowhere is left to checkImage ('file not found').
 */
export async function checkLink(path: string, allowed: readonly string[]): Promise<{ kind: IssueKind; message: string } | undefined> {
  try {
    if (!(await lstat(path)).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  let target: string;
  try {
    target = await realpath(path);
  } catch {
    return undefined;
  }
  if (allowed.some((dir) => target === dir || target.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`))) return undefined;
  return { kind: 'outside-link', message: `symbolic link to ${target}, outside the data folder; skipped` };
}

export interface ValidationSummary {
  issues: number;
  byKind: Partial<Record<IssueKind, number>>;
}

export function summarise(issues: readonly Issue[]): ValidationSummary {
  const byKind: Partial<Record<IssueKind, number>> = {};
  for (const i of issues) byKind[i.kind] = (byKind[i.kind] ?? 0) + 1;
  return { issues: issues.length, byKind };
}

/** A readable report: one line per issue (capped), then the count per kind. */
export function formatIssues(issues: readonly Issue[], max = 50): string {
  if (issues.length === 0) return 'no problems found';
  // File names and messages quote the user's data: escaped and cut, so they print as plain text.
  const lines = issues.slice(0, max).map((i) => `  ${printable(i.file, { max: 200 })}${i.row !== undefined ? `:${i.row}` : ''}  ${i.kind}  ${printable(i.message, { max: 1000, keep: 300 })}`);
  if (issues.length > max) lines.push(`  ... and ${issues.length - max} more`);
  const { byKind } = summarise(issues);
  lines.push(`${issues.length} problem${issues.length === 1 ? '' : 's'}: ${Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return lines.join('\n');
}
