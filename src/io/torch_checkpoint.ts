// PyTorch checkpoints (torch.save since 1.6: a zip archive) read into a state dict, without a
// general pickle interpreter. The archive holds <root>/data.pkl (the pickled object), one
// <root>/data/<key> file per storage (raw little-endian elements), <root>/byteorder, <root>/version.
//
// The pickle is read by a restricted unpickler (unpickle.ts) into plain descriptions, which become
// engine tensors only once the whole pickle has been read.
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { StateDict } from '../nn/index.js';
import { elementSize, type Tensor } from '../torch/index.js';
import { rawFromBuffer } from '../torch/tensor.js';
import { invalidParameterError } from '../util/check.js';
import { kind, PyDict, TensorRef, unpickle, type PyValue } from './unpickle.js';
import { fail, ZipReader } from './zip_reader.js';

export interface TorchCheckpoint {
  /** The tensors, in the order the file has them, with their saved dtypes. */
  stateDict: StateDict;
  /** Where the state dict was: '' for the top-level object, else the top-level dict's key ('state_dict', 'model'). */
  container: string;
}

/**
 * Reads a PyTorch zip checkpoint holding a state dict (a dict or OrderedDict of tensors), or a
 * dict holding one under 'state_dict', 'model' or 'model_state_dict'. Refuses, naming the file,
 * any pickle that needs other code (a global outside the allow-list, an unsupported opcode), the
 * legacy pre-1.6 format, big-endian data and damaged or truncated archives.
 */
export async function loadTorchCheckpoint(path: string): Promise<TorchCheckpoint> {
  if (typeof path !== 'string' || path === '') throw invalidParameterError('path', 'a path to a PyTorch checkpoint (.bin, .pt, .pth)', path);
  if (endianness() !== 'LE') throw new Error('torch checkpoint: only little-endian hosts are supported');
  const fh = await open(path, 'r');
  try {
    const zip = await ZipReader.open(fh, path);
    const root = zip.root();
    const byteorder = zip.has(`${root}/byteorder`) ? Buffer.from(await zip.read(`${root}/byteorder`)).toString('latin1').trim() : 'little';
    if (byteorder !== 'little') fail(path, `the data is ${byteorder}-endian; only little-endian checkpoints are supported`);
    const top = unpickle(await zip.read(`${root}/data.pkl`), `${path}: ${root}/data.pkl`);
    const { dict, container } = pickStateDict(top, path);
    return { stateDict: await materialize(dict, zip, root, path), container };
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- key prefixes

/** Wrappers that training code puts around a model, whose name then leads every key (DataParallel's module., Lightning's model., ...). */
export const WRAPPER_PREFIXES: readonly string[] = ['module', 'model', 'miewid', 'net', 'network', '_orig_mod'];

/**
 * The prefix shared by every key that is not part of the model's own names, to strip: repeatedly,
 * the first dotted component when all keys have the same one and it is not one of `roots` (the
 * model's top-level names, e.g. backbone, pooling, bn) or, without roots, when it is a known
 * wrapper (WRAPPER_PREFIXES). Returns '' when nothing is to be stripped, else the prefix with
 * its trailing dot ('model.', 'module.model.').
 */
export function commonKeyPrefix(keys: Iterable<string>, roots?: readonly string[]): string {
  let rest = [...keys];
  if (roots !== undefined && (!Array.isArray(roots) || !roots.every((r) => typeof r === 'string' && r !== '' && !r.includes('.')))) {
    throw invalidParameterError('roots', "an array of top-level state-dict names such as ['backbone', 'bn']", roots);
  }
  let prefix = '';
  while (rest.length > 0) {
    const first = rest[0]!.split('.')[0]!;
    if (!rest.every((k) => k.startsWith(`${first}.`))) break;
    if (roots ? roots.includes(first) : !WRAPPER_PREFIXES.includes(first)) break;
    prefix += `${first}.`;
    rest = rest.map((k) => k.slice(first.length + 1));
  }
  return prefix;
}

/** The state dict with commonKeyPrefix(keys, roots) taken off every key (the same tensors, not copies), and that prefix. */
export function stripKeyPrefix<T>(stateDict: Map<string, T>, roots?: readonly string[]): { stateDict: Map<string, T>; prefix: string } {
  if (!(stateDict instanceof Map)) throw invalidParameterError('stateDict', 'a Map of state-dict keys to tensors', stateDict);
  const prefix = commonKeyPrefix(stateDict.keys(), roots);
  if (prefix === '') return { stateDict, prefix };
  return { stateDict: new Map([...stateDict].map(([k, v]) => [k.slice(prefix.length), v])), prefix };
}

// ---------------------------------------------------------------- from descriptions to tensors

const CONTAINERS = ['state_dict', 'model', 'model_state_dict'];

function isTensorDict(v: PyValue | undefined): v is PyDict {
  return v instanceof PyDict && v.map.size > 0 && [...v.map].every(([k, t]) => typeof k === 'string' && t instanceof TensorRef);
}

function pickStateDict(top: PyValue, path: string): { dict: PyDict; container: string } {
  if (top instanceof PyDict && (top.map.size === 0 || isTensorDict(top))) return { dict: top, container: '' };
  if (top instanceof PyDict) {
    for (const c of CONTAINERS) if (isTensorDict(top.map.get(c))) return { dict: top.map.get(c) as PyDict, container: c };
    const others = [...top.map].filter(([, v]) => !(v instanceof TensorRef)).slice(0, 5).map(([k, v]) => `${String(k)}: ${kind(v)}`);
    fail(path, `the checkpoint is a dict but not a state dict (a dict of tensors), nor holds one under ${CONTAINERS.map((c) => `'${c}'`).join(', ')} (found ${others.join(', ')})`);
  }
  fail(path, `the checkpoint holds ${kind(top)}, not a state dict (a dict of tensors)`);
}

async function materialize(dict: PyDict, zip: ZipReader, root: string, path: string): Promise<StateDict> {
  const refs = [...dict.map] as [string, TensorRef][];
  // Each storage file is read once, when its first tensor comes, and dropped after its last one.
  const lastUse = new Map<string, number>();
  refs.forEach(([, t], i) => lastUse.set(t.storage.key, i));
  const storages = new Map<string, Uint8Array>();
  const out: StateDict = new Map();
  try {
    for (const [i, [name, t]] of refs.entries()) {
      const { key } = t.storage;
      let bytes = storages.get(key);
      if (bytes === undefined) {
        const entry = `${root}/data/${key}`;
        if (!zip.has(entry)) fail(path, `tensor "${name}" needs storage ${entry}, which the archive lacks`);
        bytes = await zip.read(entry);
        storages.set(key, bytes);
      }
      out.set(name, toTensor(name, t, bytes, path));
      if (lastUse.get(key) === i) storages.delete(key);
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}

function toTensor(name: string, t: TensorRef, storage: Uint8Array, path: string): Tensor {
  const es = elementSize(t.storage.dtype);
  const numel = t.size.reduce((a, b) => a * b, 1);
  // The elements the view reaches: offset + sum((size - 1) * stride) + 1.
  const span = numel === 0 ? 0 : t.size.reduce((a, d, i) => a + (d - 1) * t.stride[i]!, 0) + 1;
  if ((t.offset + span) * es > storage.byteLength) {
    fail(path, `tensor "${name}" reaches element ${t.offset + span} of its storage data/${t.storage.key}, which holds ${Math.floor(storage.byteLength / es)}: the file is damaged`);
  }
  const start = t.offset * es;
  if (isContiguous(t.size, t.stride)) return rawFromBuffer(storage.subarray(start, start + numel * es), t.size, t.storage.dtype);
  return rawFromBuffer(gather(storage, start, t.size, t.stride, es), t.size, t.storage.dtype);
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expected) return false; // a dimension of 1 may have any stride
    expected *= size[i]!;
  }
  return true;
}

/** A strided view copied out in row-major order (transposed or expanded tensors: rare in state dicts, and small). */
function gather(storage: Uint8Array, start: number, size: number[], stride: number[], es: number): Uint8Array {
  const numel = size.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(numel * es);
  const index = new Array<number>(size.length).fill(0);
  for (let n = 0; n < numel; n++) {
    let src = start;
    for (let d = 0; d < size.length; d++) src += index[d]! * stride[d]! * es;
    out.set(storage.subarray(src, src + es), n * es);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

