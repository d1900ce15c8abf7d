// PyTorch checkpoints (torch.save since 1.6: a zip archive) read into a state dict, without a
// general pickle interpreter. The archive holds <root>/data.pkl (the pickled object), one
// <root>/data/<key> file per storage (raw little-endian elements), <root>/byteorder, <root>/version.
//
// A pickle is a program: loading one with Python's pickle can call any importable function. This
// reader implements only the opcodes torch.save emits for a state dict, and its GLOBAL/STACK_GLOBAL
// accept only an allow-list (OrderedDict, torch's tensor/parameter rebuild functions, the typed
// storage classes). Any other global is refused when the opcode is read, before anything is
// built from it; and even allowed globals are never "called": REDUCE recognises them and builds
// plain descriptions (a dict, a tensor's storage, offset, size and stride), which become engine
// tensors only once the whole pickle has been read.
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import * as zlib from 'node:zlib';
import type { StateDict } from '../nn/index.js';
import { elementSize, type DType, type Tensor } from '../torch/index.js';
import { rawFromBuffer } from '../torch/tensor.js';
import { invalidParameterError } from '../util/check.js';
import { readAt } from './positioned.js';

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

// ---------------------------------------------------------------- the restricted unpickler

/** A global the pickle named and the allow-list admitted. */
class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

type PyKey = string | number | bigint | boolean | null;

class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  constructor(readonly ordered: boolean) {}
}

/** A storage as the persistent id names it: ('storage', <dtype>Storage, key, location, numel). */
class StorageRef {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** What _rebuild_tensor_v2 would build: a strided view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | StorageRef | TensorRef;

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

/** A pushed MARK: where the items above it start. */
const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

// Opcode names, for the error about one this reader does not implement.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1',
  0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT',
  0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO',
  0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Runs the restricted unpickler over data.pkl. `src` names the file (and entry) in errors. */
function unpickle(bytes: Uint8Array, src: string): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const memo = new Map<number, PyValue>();
  let stack: StackItem[] = [];
  const marks: StackItem[][] = [];
  let pos = 0;
  let at = 0; // where the current opcode started, for errors

  const bad = (message: string): never => {
    throw new Error(`torch checkpoint ${src}: ${message} (pickle byte ${at})`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.byteLength) bad('the pickle ends in the middle of an opcode: the file is truncated or damaged');
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = (): number => view.getUint8(need(1));
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const n = view.getBigUint64(need(8), true);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad(`a length of ${n} bytes`);
    return Number(n);
  };
  const raw = (n: number): Uint8Array => bytes.subarray(need(n), pos);
  const text = (n: number): string => {
    const r = raw(n);
    try {
      return utf8.decode(r);
    } catch {
      return bad('a string that is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) bad('the pickle ends in the middle of a GLOBAL opcode');
    const s = Buffer.from(bytes.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) bad('an opcode needs a value but the stack is empty');
    const v = stack.pop()!;
    if (v === MARK) bad('an opcode found a MARK where it needs a value');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) bad('an opcode needs a value but the stack is empty');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) bad('an opcode needs a MARK but none was pushed');
    stack = prev!;
    return items as PyValue[];
  };
  const push = (v: PyValue): void => {
    stack.push(v);
  };
  const global = (module: string, name: string): PyGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      bad(
        `refused the global '${full}': a state dict needs only ${[...ALLOWED_GLOBALS].filter((g) => !g.endsWith('Storage')).join(', ')} and torch.*Storage, ` +
          'and loading this file with PyTorch (without weights_only=True) could run code. Nothing in it was run',
      );
    }
    return new PyGlobal(module, name);
  };
  const key = (k: PyValue): PyKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return bad(`a dict key of an unsupported type (${kind(k)})`);
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) bad(`SETITEM(S) on ${kind(target)}, not a dict`);
    if (items.length % 2 !== 0) bad('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (target as PyDict).map.set(key(items[i]!), items[i + 1]!);
  };
  const append = (target: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(target)) bad(`APPEND(S) on ${kind(target)}, not a list`);
    (target as PyValue[]).push(...items);
  };

  for (;;) {
    at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) bad('a pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length hint for buffered readers; everything is in memory already
        need(8);
        break;
      case 0x2e: // STOP
        if (marks.length !== 0 || stack.length !== 1) bad('STOP with a stack that does not hold exactly one value');
        return pop();
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4: little-endian two's complement of n bytes
        const n = op === 0x8a ? u8() : u32();
        const b = raw(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian, unlike everything else
        push(view.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x42: // BINBYTES
        push(raw(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(raw(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(raw(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict(false));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const items = Array.from({ length: op - 0x84 }, () => pop()).reverse();
        push(new PyTuple(items));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict(false);
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) bad(`a memo lookup of entry ${i}, which was never stored`);
        push(memo.get(i)!);
        break;
      }
      case 0x30: // POP
        if (stack.length > 0 && stack[stack.length - 1] === MARK) stack.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop(), bad));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        push(reduce(callable, args, bad));
        break;
      }
      case 0x62: {
        // BUILD: sets an object's state; only OrderedDict's attribute dict (state_dict()'s _metadata) is expected
        const state = pop();
        const target = top();
        if (!(target instanceof PyDict) || !(state === null || state instanceof PyDict)) bad(`BUILD on ${kind(target)} with ${kind(state)}: not a state dict's metadata`);
        break;
      }
      default:
        bad(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${OPCODE_NAMES[op] ?? 'unknown'}): torch.save of a state dict does not emit it`);
    }
  }
}

/** torch.save's persistent id for a storage: ('storage', torch.<T>Storage, key, location, numel). */
function persistentLoad(pid: PyValue, bad: (m: string) => never): StorageRef {
  const t = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, location, numel] = t;
  if (t.length !== 5 || tag !== 'storage' || !(type instanceof PyGlobal) || typeof key !== 'string' || typeof location !== 'string') {
    bad(`a persistent id that is not ('storage', torch.<T>Storage, key, location, numel) but ${kind(pid)}`);
  }
  const dtype = STORAGE_DTYPES[(type as PyGlobal).name];
  if ((type as PyGlobal).module !== 'torch' || dtype === undefined) bad(`a storage of type ${(type as PyGlobal).module}.${(type as PyGlobal).name}`);
  if (!/^[\w.-]+$/.test(key as string)) bad(`a storage key ${JSON.stringify(key)}`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) bad(`a storage size ${String(numel)}`);
  return new StorageRef(dtype!, key as string, numel as number);
}

/** REDUCE for the allowed callables only; builds descriptions, calls nothing. */
function reduce(callable: PyValue, args: PyValue, bad: (m: string) => never): PyValue {
  if (!(callable instanceof PyGlobal)) return bad(`REDUCE of ${kind(callable)}, which is not a global`);
  if (!(args instanceof PyTuple)) return bad(`REDUCE with arguments ${kind(args)}, not a tuple`);
  const a = args.items;
  const name = `${callable.module}.${callable.name}`;
  switch (name) {
    case 'collections.OrderedDict': {
      const d = new PyDict(true);
      // OrderedDict(items): the pairs, when a pickler passes them as an argument rather than with SETITEMS.
      const items = a[0];
      if (a.length > 1 || (items !== undefined && !Array.isArray(items))) bad('OrderedDict called with arguments other than a list of pairs');
      for (const pair of (items as PyValue[] | undefined) ?? []) {
        if (!(pair instanceof PyTuple) || pair.items.length !== 2) bad('OrderedDict called with an item that is not a pair');
        const [k, v] = (pair as PyTuple).items;
        if (typeof k !== 'string') bad('OrderedDict called with a key that is not a string');
        d.map.set(k as string, v!);
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride] = a;
      if (a.length < 6 || a.length > 7 || !(storage instanceof StorageRef)) bad('_rebuild_tensor_v2 called with unexpected arguments');
      const dims = (v: PyValue | undefined, what: string): number[] => {
        const items = v instanceof PyTuple ? v.items : undefined;
        if (!items || !items.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) bad(`_rebuild_tensor_v2 with a ${what} that is not a tuple of non-negative integers`);
        return items as number[];
      };
      const s = dims(size, 'size');
      const st = dims(stride, 'stride');
      if (s.length !== st.length) bad('_rebuild_tensor_v2 with size and stride of different lengths');
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) bad('_rebuild_tensor_v2 with a bad storage offset');
      return new TensorRef(storage as StorageRef, offset as number, s, st);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its tensor, for a state dict.
      if (!(a[0] instanceof TensorRef)) bad(`${callable.name} called without a tensor`);
      return a[0]!;
    default:
      return bad(`REDUCE of ${name}, which is not callable here`);
  }
}

function kind(v: PyValue | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof PyGlobal) return `the global ${v.module}.${v.name}`;
  if (v instanceof StorageRef) return 'a storage';
  if (v instanceof TensorRef) return 'a tensor';
  return typeof v === 'number' ? (Number.isInteger(v) ? 'an int' : 'a float') : typeof v === 'bigint' ? 'an int' : typeof v === 'string' ? 'a str' : 'a bool';
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

// ---------------------------------------------------------------- the zip archive

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
class ZipReader {
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

function fail(path: string, message: string): never {
  throw new Error(`torch checkpoint ${path}: ${message}`);
}
