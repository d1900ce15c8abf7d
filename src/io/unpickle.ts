// The restricted unpickler behind src/io/torch_checkpoint.ts. A pickle is a program: loading one
// with Python's pickle can call any importable function. This one implements only the opcodes
// torch.save emits for a state dict, and its GLOBAL/STACK_GLOBAL accept only an allow-list
// (OrderedDict, torch's tensor/parameter rebuild functions, the typed storage classes). Any other
// global is refused when the opcode is read; even allowed globals are never called: REDUCE
// recognises them and builds plain descriptions (a dict, a tensor's storage, offset, size and stride).
import type { DType } from '../torch/index.js';
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

export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  constructor(readonly ordered: boolean) {}
}

/** A storage as the persistent id names it: ('storage', <dtype>Storage, key, location, numel). */
export class StorageRef {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** What _rebuild_tensor_v2 would build: a strided view of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | StorageRef | TensorRef;

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
export function unpickle(bytes: Uint8Array, src: string): PyValue {
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

export function kind(v: PyValue | undefined): string {
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
