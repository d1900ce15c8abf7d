// safetensors (https://github.com/huggingface/safetensors), the format timm and Hugging Face publish
// weights in: u64 little-endian header length N, N bytes of JSON header, then the data section.
// Header: { name: {dtype, shape, data_offsets: [begin, end]}, ..., "__metadata__": {string: string} },
// offsets counted from the first byte after the header.
//
// Files go through positioned reads of one tensor at a time and writes of one tensor at a time, so a
// checkpoint larger than any single Buffer (> 2 GiB) loads and saves; the in-memory variants share
// the same header parsing and layout code.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { Tensor, elementSize, isFloating, type DType } from '../torch/index.js';
import { rawFromBuffer } from '../torch/tensor.js';
import { invalidParameterError } from '../util/check.js';
import { writeFileAtomicWith } from '../util/fs.js';
import { readAt, writeAt } from './positioned.js';

const DTYPES = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
} as const satisfies Record<string, DType>;

/** The dtype names a safetensors header uses. */
export type SafetensorsDType = keyof typeof DTYPES;

// The reference writer orders the data by its Dtype enum, descending, then by name: widest
// elements first, so every tensor starts aligned to its element size after the 8-aligned header.
const WRITE_ORDER: readonly SafetensorsDType[] = ['I64', 'F64', 'F32', 'I32', 'BF16', 'F16', 'I16', 'I8', 'U8', 'BOOL'];

// The reference reader's limit: a longer header means a corrupt or foreign file, not a model.
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section. */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  /** In header order. */
  tensors: Map<string, TensorInfo>;
  /** `__metadata__`, or {} when the file has none. */
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + header length. */
  dataStart: number;
}

export interface LoadOptions {
  /** Load only these tensors (an error names any the file lacks). Default: all. */
  names?: readonly string[];
  /**
   * Convert floating tensors to this floating dtype (e.g. float32 for an F16/BF16 checkpoint).
   * Integer and bool tensors keep theirs, as PyTorch's Module.to(dtype) does: BatchNorm's
   * num_batches_tracked and index buffers must stay integers.
   */
  dtype?: DType;
}

export type TensorDict = Map<string, Tensor> | Record<string, Tensor>;

export function dtypeFromSafetensors(code: SafetensorsDType): DType {
  return DTYPES[code];
}

export function dtypeToSafetensors(dtype: DType): SafetensorsDType {
  const code = (Object.keys(DTYPES) as SafetensorsDType[]).find((k) => DTYPES[k] === dtype);
  if (!code) throw invalidParameterError('dtype', `a dtype safetensors names (${Object.values(DTYPES).join(', ')})`, dtype);
  return code;
}

// ---------------------------------------------------------------- reading

/** Reads only the header of a safetensors file (names, dtypes, shapes, offsets, metadata). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  return withFile(path, (fh, size) => readHeader(fh, size, path));
}

/** Loads a safetensors file into engine tensors, in header order, one positioned read per tensor. */
export async function loadSafetensors(path: string, options: LoadOptions = {}): Promise<Map<string, Tensor>> {
  return withFile(path, async (fh, size) => {
    const header = await readHeader(fh, size, path);
    const out = new Map<string, Tensor>();
    try {
      for (const [name, info] of select(header, options, path)) {
        const bytes = await readAt(fh, header.dataStart + info.offsets[0], info.offsets[1] - info.offsets[0]);
        if (!bytes) fail(path, `the file shrank while tensor "${name}" was being read`);
        out.set(name, toTensor(info, bytes, options.dtype));
      }
    } catch (err) {
      for (const t of out.values()) t.dispose();
      throw err;
    }
    return out;
  });
}

/** The header of a whole safetensors file held in memory. `source` names it in errors. */
export function parseSafetensorsHeader(bytes: Uint8Array, source = '<buffer>'): SafetensorsHeader {
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, source);
  return parseHeader(bytes.subarray(8, 8 + n), 8 + n, bytes.byteLength - 8 - n, source);
}

/** The tensors of a whole safetensors file held in memory (small files, downloads, tests). */
export function parseSafetensors(bytes: Uint8Array, options: LoadOptions & { source?: string } = {}): Map<string, Tensor> {
  const source = options.source ?? '<buffer>';
  const header = parseSafetensorsHeader(bytes, source);
  const out = new Map<string, Tensor>();
  try {
    for (const [name, info] of select(header, options, source)) {
      out.set(name, toTensor(info, bytes.subarray(header.dataStart + info.offsets[0], header.dataStart + info.offsets[1]), options.dtype));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

async function withFile<T>(path: string, fn: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    return await fn(fh, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

async function readHeader(fh: FileHandle, size: number, path: string): Promise<SafetensorsHeader> {
  const prefix = (await readAt(fh, 0, Math.min(8, size))) ?? new Uint8Array(0);
  const n = headerLength(prefix, size, path);
  const json = await readAt(fh, 8, n);
  if (!json) fail(path, 'the file shrank while its header was being read');
  return parseHeader(json, 8 + n, size - 8 - n, path);
}

function headerLength(prefix: Uint8Array, fileSize: number, src: string): number {
  if (fileSize < 8) fail(src, `the file is ${fileSize} bytes, shorter than the 8-byte header length: not a safetensors file`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    fail(src, `the header length (${n} bytes) is beyond the file size (${fileSize} bytes): not a safetensors file, or truncated`);
  }
  if (n > MAX_HEADER_BYTES) fail(src, `the header length (${n} bytes) exceeds the ${MAX_HEADER_BYTES}-byte limit: not a safetensors file`);
  return Number(n);
}

function parseHeader(json: Uint8Array, dataStart: number, dataSize: number, src: string): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (err) {
    fail(src, `the header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isRecord(raw)) fail(src, `the header must be a JSON object, got ${describe(raw)}`);
  // Object.entries keeps the file's order, except that integer-like names ("0", "1") come first.
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw)) {
    if (name === '__metadata__') metadata = checkMetadata(entry, src);
    else tensors.set(name, checkInfo(name, entry, src));
  }
  checkLayout(tensors, dataSize, src);
  return { tensors, metadata, dataStart };
}

function checkInfo(name: string, entry: unknown, src: string): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isRecord(entry)) fail(src, `${where}: expected {dtype, shape, data_offsets}, got ${describe(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
    fail(src, `${where}: unknown dtype ${describe(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  if (!isCounts(shape)) fail(src, `${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
  if (!isCounts(offsets) || offsets.length !== 2 || offsets[0]! > offsets[1]!) {
    fail(src, `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${describe(offsets)}`);
  }
  const code = dtype as SafetensorsDType;
  const bytes = shape.reduce((a, b) => a * b, 1) * elementSize(DTYPES[code]);
  const span = offsets[1]! - offsets[0]!;
  if (bytes !== span) {
    fail(src, `${where}: shape [${shape.join(', ')}] of ${code} needs ${bytes} bytes but data_offsets [${offsets.join(', ')}] span ${span}`);
  }
  return { dtype: code, shape, offsets: [offsets[0]!, offsets[1]!] };
}

// Tensors must not overlap and must lie inside the data section. Gaps and trailing bytes are
// tolerated (the reference writer leaves none, but they corrupt nothing).
function checkLayout(tensors: Map<string, TensorInfo>, dataSize: number, src: string): void {
  const byStart = [...tensors].filter(([, t]) => t.offsets[1] > t.offsets[0]).sort((a, b) => a[1].offsets[0] - b[1].offsets[0]);
  for (let i = 1; i < byStart.length; i++) {
    const [pName, p] = byStart[i - 1]!;
    const [cName, c] = byStart[i]!;
    if (c.offsets[0] < p.offsets[1]) {
      fail(src, `tensors "${pName}" [${p.offsets.join(', ')}] and "${cName}" [${c.offsets.join(', ')}] overlap in the data section`);
    }
  }
  for (const [name, t] of tensors) {
    if (t.offsets[1] > dataSize) {
      fail(src, `tensor "${name}" data_offsets [${t.offsets.join(', ')}] reach past the data section (${dataSize} bytes): the file is truncated or the offsets are out of range`);
    }
  }
}

function checkMetadata(value: unknown, src: string): Record<string, string> {
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    fail(src, `__metadata__ must map strings to strings, got ${describe(value)}`);
  }
  return { ...(value as Record<string, string>) };
}

function select(header: SafetensorsHeader, options: LoadOptions, src: string): [string, TensorInfo][] {
  if (options.dtype !== undefined && !isFloating(options.dtype)) {
    throw invalidParameterError('dtype', 'a floating dtype (float32, float64, float16, bfloat16)', options.dtype);
  }
  const all = [...header.tensors];
  if (!options.names) return all;
  const wanted = new Set(options.names);
  const missing = [...wanted].filter((n) => !header.tensors.has(n));
  if (missing.length) {
    const some = all.slice(0, 5).map(([n]) => `"${n}"`).join(', ');
    fail(src, `no tensor named ${missing.map((n) => `"${n}"`).join(', ')} (the file has ${all.length}: ${some}${all.length > 5 ? ', ...' : ''})`);
  }
  return all.filter(([n]) => wanted.has(n));
}

function toTensor(info: TensorInfo, bytes: Uint8Array, dtype: DType | undefined): Tensor {
  checkLittleEndian();
  const t = rawFromBuffer(bytes, info.shape, DTYPES[info.dtype]); // copies, so `bytes` may be reused
  if (dtype === undefined || t.dtype === dtype || !isFloating(t.dtype)) return t;
  try {
    return t.to(dtype);
  } finally {
    t.dispose();
  }
}

// ---------------------------------------------------------------- writing

/**
 * Writes tensors (and string metadata) as a safetensors file, atomically: a temp file in the same
 * folder, fsync, rename. Streams one tensor at a time; tensors on a GPU are copied back one by one.
 */
export async function saveSafetensors(path: string, tensors: TensorDict, metadata?: Record<string, string>): Promise<void> {
  const { header, entries } = layout(tensors, metadata, path);
  await writeFileAtomicWith(path, async (fh) => {
    let pos = await writeAt(fh, header, 0);
    for (const e of entries) pos = await writeAt(fh, bytesOf(e, path), pos);
  });
}

/** The bytes of a safetensors file, in memory (small tensor sets). Same layout as saveSafetensors. */
export function serializeSafetensors(tensors: TensorDict, metadata?: Record<string, string>): Uint8Array {
  const { header, entries, dataSize } = layout(tensors, metadata, '<buffer>');
  const out = new Uint8Array(header.byteLength + dataSize);
  out.set(header, 0);
  let pos = header.byteLength;
  for (const e of entries) {
    out.set(bytesOf(e, '<buffer>'), pos);
    pos += e.bytes;
  }
  return out;
}

interface Entry {
  name: string;
  tensor: Tensor;
  bytes: number;
}

/** Validates the input and builds the 8-byte length plus the padded JSON header, without touching tensor data. */
function layout(tensors: TensorDict, metadata: Record<string, string> | undefined, src: string): { header: Uint8Array; entries: Entry[]; dataSize: number } {
  checkLittleEndian();
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const entries = list.map(([name, tensor]): Entry & { code: SafetensorsDType } => {
    if (typeof name !== 'string') fail(src, `tensor names must be strings, got ${describe(name)}`);
    if (name === '__metadata__') fail(src, 'a tensor cannot be named "__metadata__" (the header reserves it)');
    if (!(tensor instanceof Tensor)) fail(src, `"${name}" is not a Tensor (got ${describe(tensor)})`);
    if (tensor.isDisposed) fail(src, `tensor "${name}" is disposed`);
    return { name, tensor, code: dtypeToSafetensors(tensor.dtype), bytes: tensor.numel * elementSize(tensor.dtype) };
  });
  entries.sort((a, b) => WRITE_ORDER.indexOf(a.code) - WRITE_ORDER.indexOf(b.code) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Built by hand rather than with one JSON.stringify of an object, so that names like "0" keep their place.
  const fields: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) fields.push(`"__metadata__":${JSON.stringify(checkMetadata(metadata, src))}`);
  let offset = 0;
  for (const e of entries) {
    const info = { dtype: e.code, shape: e.tensor.shape, data_offsets: [offset, offset + e.bytes] };
    fields.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
    offset += e.bytes;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  // Spaces pad the header to a multiple of 8 bytes, as the reference does, so the data section is 8-aligned.
  const padded = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  const header = Buffer.alloc(8 + padded, ' ');
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return { header, entries, dataSize: offset };
}

function bytesOf(e: Entry, src: string): Uint8Array {
  let d: ArrayBufferView;
  try {
    d = e.tensor.data();
  } catch (err) {
    fail(src, `tensor "${e.name}": ${(err as Error).message}`);
  }
  // The header was written from the sizes at call time; a tensor swapped meanwhile would corrupt the file.
  if (d.byteLength !== e.bytes) fail(src, `tensor "${e.name}" changed size while being saved`);
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

// ---------------------------------------------------------------- helpers

function fail(src: string, message: string): never {
  throw new Error(`safetensors ${src}: ${message}`);
}

// safetensors data is little-endian and the engine copies bytes as they are.
function checkLittleEndian(): void {
  if (endianness() !== 'LE') throw new Error('safetensors: only little-endian hosts are supported');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCounts(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
}

function describe(v: unknown): string {
  let s: string;
  try {
    s = v instanceof Tensor ? v.toString() : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v); // bigint, cycles
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
