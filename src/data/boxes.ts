// Box files in the competition community's format: image,x0,y0,x1,y1 with optional score and
// label columns; pixel coordinates, or relative (0..1) ones when told. Bad rows are reported by
// file and line and skipped.
import { printable } from '../util/printable.js';
import { readCsv, writeCsv } from './csv.js';
import { boxMissesPhoto, type Box } from './crop.js';

export interface BoxRecord extends Box {
  score?: number;
  label?: string;
}

export interface ReadBoxesOptions {
  /** Coordinates are shares of the image's width and height, not pixels. */
  relative?: boolean;
  /** Image sizes by image name, needed for relative boxes and to check boxes lie inside. */
  sizes?: ReadonlyMap<string, { width: number; height: number }>;
  /** Boxes scored below this are left out (those photos fall back to the full image). */
  minScore?: number;
  /** Keep only boxes with this label (e.g. 'body' or 'fin'). */
  label?: string;
}

export interface BoxProblem {
  file: string;
  line: number;
  message: string;
}

/** The best box per image (highest score), and every bad row. */
export async function readBoxFile(path: string, options: ReadBoxesOptions = {}): Promise<{ boxes: Map<string, BoxRecord>; problems: BoxProblem[] }> {
  const table = await readCsv(path).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `box file ${path} not found` : `${path}: ${err.message}`);
  });
  const missing = ['image', 'x0', 'y0', 'x1', 'y1'].filter((c) => !table.header.includes(c));
  if (missing.length) throw new Error(`${path}: missing column(s) ${missing.join(', ')} (expected image,x0,y0,x1,y1[,score][,label])`);
  const col = (name: string): number => table.header.indexOf(name);
  const boxes = new Map<string, BoxRecord>();
  const problems: BoxProblem[] = [];
  table.rows.forEach((row, i) => {
    const line = table.lines[i] ?? i + 2;
    const bad = (message: string): void => void problems.push({ file: path, line, message });
    if (row.length !== table.header.length) return bad(`expected ${table.header.length} fields (${table.header.join(',')}) but the row has ${row.length}`);
    const image = row[col('image')] ?? '';
    if (!image) return bad('empty image name');
    const name = printable(image, { max: 100 });
    if (Buffer.byteLength(image) > 255) return bad(`image name longer than 255 bytes: ${name}`);
    const texts = ['x0', 'y0', 'x1', 'y1'].map((c) => row[col(c)]!.trim());
    const nums = texts.map((t) => (t === '' ? NaN : Number(t)));
    if (nums.some((v) => !Number.isFinite(v))) return bad(`coordinates must be numbers, got ${printable(texts.join(','), { max: 100 })}`);
    let [x0, y0, x1, y1] = nums as [number, number, number, number];
    const size = options.sizes?.get(image);
    if (options.relative) {
      if (!size) return bad(`relative box for ${name}, whose size is unknown`);
      if ([x0, y0, x1, y1].some((v) => v < 0 || v > 1)) return bad('relative coordinates must lie in [0, 1]');
      [x0, x1] = [x0 * size.width, x1 * size.width];
      [y0, y1] = [y0 * size.height, y1 * size.height];
    }
    if (x0 < 0 || y0 < 0) return bad(`box ${x0},${y0},${x1},${y1} starts left of or above the image (negative coordinate)`);
    if (!(x1 > x0 && y1 > y0)) return bad(`box has no area (x0 ${x0}, y0 ${y0}, x1 ${x1}, y1 ${y1})`);
    if (size && boxMissesPhoto({ x0, y0, x1, y1 }, size)) return bad(`box ${x0},${y0},${x1},${y1} for ${name} lies entirely outside the ${size.width}x${size.height} image`);
    if (size && (x1 > size.width || y1 > size.height)) return bad(`box ${x0},${y0},${x1},${y1} for ${name} lies outside the ${size.width}x${size.height} image`);
    const scoreText = col('score') >= 0 ? row[col('score')] : undefined;
    const score = scoreText === undefined || scoreText.trim() === '' ? undefined : Number(scoreText);
    if (score !== undefined && !Number.isFinite(score)) return bad(`score must be a number, got ${printable(scoreText!, { max: 40 })}`);
    const label = col('label') >= 0 ? row[col('label')] || undefined : undefined;
    if (options.label !== undefined && label !== options.label) return;
    if (options.minScore !== undefined && (score ?? 1) < options.minScore) return;
    const prev = boxes.get(image);
    if (!prev || (score ?? 1) > (prev.score ?? 1)) boxes.set(image, { x0, y0, x1, y1, ...(score !== undefined ? { score } : {}), ...(label ? { label } : {}) });
  });
  return { boxes, problems };
}

/** Boxes by image name for loading crops; throws if every row is bad (a wrong file, most likely). */
export async function readBoxes(path: string, options: ReadBoxesOptions = {}): Promise<Map<string, BoxRecord>> {
  const { boxes, problems } = await readBoxFile(path, options);
  if (boxes.size === 0 && problems.length > 0) throw new Error(`${path}: no usable boxes; first problem at line ${problems[0]!.line}: ${printable(problems[0]!.message, { max: 1000, keep: 300 })}`);
  for (const p of problems.slice(0, 10)) process.stderr.write(`warning: ${printable(p.file, { max: 1000 })} line ${p.line}: ${printable(p.message, { max: 1000, keep: 300 })}; that photo is used whole\n`);
  if (problems.length > 10) process.stderr.write(`warning: ${problems.length - 10} more bad row(s) in ${printable(path, { max: 1000 })}; those photos are used whole too\n`);
  return boxes;
}

/** Box files are written with every column, so a reader never has to guess what is missing. */
const BOX_COLUMNS = ['image', 'x0', 'y0', 'x1', 'y1', 'score', 'label'] as const;

/** Writes boxes (pixels) in the format readBoxFile reads, sorted by image name, atomically. */
export async function writeBoxFile(path: string, boxes: ReadonlyMap<string, BoxRecord>): Promise<void> {
  const round = (v: number): number => Math.round(v * 10) / 10;
  const rows = [...boxes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([image, b]) => [image, round(b.x0), round(b.y0), round(b.x1), round(b.y1), b.score === undefined ? '' : b.score.toFixed(4), b.label ?? '']);
  await writeCsv(path, BOX_COLUMNS, rows);
}
