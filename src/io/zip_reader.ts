// Just enough of a zip reader for torch.save archives (src/io/torch_checkpoint.ts): stored or
// deflated entries, zip64, CRC-checked, positioned reads so a large checkpoint is never read whole.
import type { FileHandle } from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { readAt } from './positioned.js';

interface ZipEntry {
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  headerOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Just enough of a zip reader for torch.save archives: stored or deflated entries, zip64, positioned reads. */
export class ZipReader {
  private constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly fileSize: number,
    private readonly entries: Map<string, ZipEntry>,
  ) {}

  static async open(fh: FileHandle, path: string): Promise<ZipReader> {
    const size = (await fh.stat()).size;
    const head = (await readAt(fh, 0, Math.min(4, size))) ?? new Uint8Array(0);
    if (size >= 2 && head[0] === 0x80 && head[1]! <= 5) {
      fail(path, 'this is the legacy PyTorch format (before 1.6, a bare pickle), which is not supported: re-save it with torch.save(obj, file) from PyTorch 1.6 or later');
    }
    if (size < 22 || Buffer.from(head).readUInt32LE(0) !== LOCAL) fail(path, `not a PyTorch checkpoint: not a zip archive (${size} bytes)`);
    // The end record is in the last 22 + 65535 (comment) bytes; search backwards for its signature.
    const tailStart = Math.max(0, size - 22 - 0xffff);
    const tail = Buffer.from((await readAt(fh, tailStart, size - tailStart))!);
    let e = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        e = i;
        break;
      }
    }
    if (e < 0) fail(path, 'the zip archive has no end-of-central-directory record: the file is truncated (an interrupted download or copy?) or damaged');
    let count = tail.readUInt16LE(e + 10);
    let cdSize = tail.readUInt32LE(e + 12);
    let cdOffset = tail.readUInt32LE(e + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // zip64: a locator just before the end record points at the zip64 end record.
      if (e < 20 || tail.readUInt32LE(e - 20) !== EOCD64_LOCATOR) fail(path, 'a zip64 archive without its zip64 locator: damaged');
      const at = safe(tail.readBigUInt64LE(e - 20 + 8), path);
      const rec = await readAt(fh, at, 56);
      if (!rec || Buffer.from(rec).readUInt32LE(0) !== EOCD64) fail(path, 'the zip64 end record is missing: the file is truncated or damaged');
      const r = Buffer.from(rec!);
      count = safe(r.readBigUInt64LE(32), path);
      cdSize = safe(r.readBigUInt64LE(40), path);
      cdOffset = safe(r.readBigUInt64LE(48), path);
    }
    if (cdOffset + cdSize > size) fail(path, `the zip central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the file (${size} bytes): truncated or damaged`);
    const cd = Buffer.from((await readAt(fh, cdOffset, cdSize))!);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) fail(path, 'the zip central directory is damaged');
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      const entry: ZipEntry = {
        method: cd.readUInt16LE(p + 10),
        crc: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        headerOffset: cd.readUInt32LE(p + 42),
      };
      zip64Extra(entry, cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), path);
      entries.set(name, entry);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return new ZipReader(fh, path, size, entries);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The archive's one top-level folder, the one holding data.pkl (its name varies: archive, the file's stem, ...). */
  root(): string {
    const roots = [...this.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n)).map((n) => n.slice(0, -'/data.pkl'.length));
    if (roots.length !== 1) fail(this.path, roots.length === 0 ? 'not a PyTorch checkpoint: the zip archive has no <root>/data.pkl' : `the zip archive has ${roots.length} data.pkl files`);
    return roots[0]!;
  }

  async read(name: string): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e) fail(this.path, `the zip archive has no entry ${name}`);
    const local = await readAt(this.fh, e.headerOffset, 30);
    if (!local || Buffer.from(local).readUInt32LE(0) !== LOCAL) fail(this.path, `zip entry ${name}: its local header is missing or damaged`);
    const l = Buffer.from(local);
    const start = e.headerOffset + 30 + l.readUInt16LE(26) + l.readUInt16LE(28);
    if (start + e.compressedSize > this.fileSize) fail(this.path, `zip entry ${name} reaches past the end of the file: truncated or damaged`);
    const stored = (await readAt(this.fh, start, e.compressedSize))!;
    let data: Uint8Array;
    if (e.method === 0) data = stored;
    else if (e.method === 8) {
      try {
        data = zlib.inflateRawSync(stored);
      } catch (err) {
        return fail(this.path, `zip entry ${name}: cannot inflate it (${(err as Error).message})`);
      }
    } else return fail(this.path, `zip entry ${name} uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    if (data.byteLength !== e.size) fail(this.path, `zip entry ${name} holds ${data.byteLength} bytes, not the ${e.size} its directory says: damaged`);
    if (crc32(data) !== e.crc) fail(this.path, `zip entry ${name} fails its CRC-32 check: the file is damaged`);
    return data;
  }
}

/** Fills in the 64-bit sizes and offset that the zip64 extra field (id 1) carries for fields set to 0xffffffff. */
function zip64Extra(entry: ZipEntry, extra: Buffer, path: string): void {
  for (let q = 0; q + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 1) {
      let r = q + 4;
      const next = (): number => {
        if (r + 8 > q + 4 + len) fail(path, 'a zip64 extra field is too short');
        const v = safe(extra.readBigUInt64LE(r), path);
        r += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next();
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next();
      if (entry.headerOffset === 0xffffffff) entry.headerOffset = next();
      return;
    }
    q += 4 + len;
  }
}

// zlib.crc32 came with Node 20.15; the package allows any Node 20, so older ones get a table.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
let crcTable: Uint32Array | undefined;

function crc32(data: Uint8Array): number {
  if (nativeCrc32) return nativeCrc32(data);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function safe(v: bigint, path: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(path, `a zip size or offset of ${v}`);
  return Number(v);
}

/** Throws the error every part of the checkpoint reader gives, naming the file. */
export function fail(path: string, message: string): never {
  throw new Error(`torch checkpoint ${path}: ${message}`);
}
