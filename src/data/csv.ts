import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/fs.js';

/** A parsed CSV: the header, the data rows, and the 1-based line where each row starts (for reports). */
export interface CsvTable {
  header: string[];
  rows: string[][];
  lines: number[];
}

export class CsvError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/**
 * RFC 4180 parser: quoted fields may hold commas, newlines and doubled quotes; a leading BOM and
 * CRLF, LF or CR line ends are accepted; fully empty lines are skipped. Rows keep however many
 * fields they have, so the caller can report a short or long row instead of losing it. Only an
 * unterminated quote is fatal, because it swallows the rest of the file.
 */
export function parseCsv(text: string): CsvTable {
  const records: string[][] = [];
  const lines: number[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let endOfRecord = false;
    while (!endOfRecord) {
      let value = '';
      if (text[i] === '"') {
        i++;
        // Whole runs up to the next quote at a time: appending a character at a time made a
        // 50 MB field a rope of 50 million pieces (gigabytes).
        const parts: string[] = [];
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new CsvError(start, 'unterminated quoted field');
          const run = text.slice(i, q);
          line += countLineEnds(run);
          parts.push(run);
          if (text[q + 1] === '"') {
            parts.push('"');
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        value = parts.join('');
      }
      // Unquoted field, or stray text after a closing quote (kept rather than rejected).
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      value += text.slice(i, j);
      i = j;
      fields.push(value);
      if (i < n && text[i] === ',') {
        i++;
      } else {
        if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
        else if (i < n) i++;
        line++;
        endOfRecord = true;
      }
    }
    if (fields.length === 1 && fields[0] === '') continue;
    records.push(fields);
    lines.push(start);
  }
  const [header = [], ...rows] = records;
  return { header: header.map((h) => h.trim()), rows, lines: lines.slice(1) };
}

/** Line ends in a quoted field's text: CRLF, LF or a lone CR, each one line. */
function countLineEnds(s: string): number {
  let n = 0;
  for (let k = s.indexOf('\n'); k >= 0; k = s.indexOf('\n', k + 1)) n++;
  for (let k = s.indexOf('\r'); k >= 0; k = s.indexOf('\r', k + 1)) if (s[k + 1] !== '\n') n++;
  return n;
}

function quote(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Quote only where needed; LF line ends, as Kaggle's own files use. */
export function formatCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, ...rows].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}

export async function readCsv(path: string): Promise<CsvTable> {
  return parseCsv(await readFile(path, 'utf8'));
}

export async function writeCsv(path: string, header: readonly string[], rows: readonly (readonly (string | number)[])[]): Promise<void> {
  await writeFileAtomic(path, formatCsv(header, rows));
}
