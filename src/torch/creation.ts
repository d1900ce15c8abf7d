// Creating tensors: from JS data, constants, ranges and random numbers (seeded by manualSeed).
import { checkInteger, invalidParameterError } from '../util/check.js';
import { dtypeCode, dtypeOfArray, elementSize, type DType } from './dtype.js';
import { op, rawFromBuffer, Tensor, type Shape } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
}

function checkShape(shape: Shape, where: string): number[] {
  if (!Array.isArray(shape)) throw invalidParameterError(`${where}.shape`, 'an array of non-negative integers', shape);
  for (const [i, d] of shape.entries()) checkInteger(`${where}.shape[${i}]`, d, 0);
  return [...shape];
}

function placed(t: Tensor, device: string | undefined): Tensor {
  if (!device || device === 'cpu') return t;
  const moved = t.to(device);
  t.dispose();
  return moved;
}

/**
 * A tensor from a typed array or a (flat) number array, copied in one block.
 * Without `shape`, the tensor is 1-d. float16/bfloat16 take raw Uint16Array bits or numbers.
 */
export function tensor(data: ArrayBufferView | readonly number[] | readonly boolean[], shape?: Shape, options: CreateOptions = {}): Tensor {
  let dtype: DType;
  let view: ArrayBufferView;
  if (ArrayBuffer.isView(data)) {
    dtype = options.dtype ?? (data instanceof Uint16Array ? 'float16' : dtypeOfArray(data));
    view = data;
    if (options.dtype && elementSize(options.dtype) !== (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT) {
      const t = tensor(Array.from(data as unknown as ArrayLike<number>), shape, { dtype: 'float64' });
      const cast = t.to(options.dtype);
      t.dispose();
      return placed(cast, options.device);
    }
  } else if (Array.isArray(data)) {
    const isBool = data.length > 0 && typeof data[0] === 'boolean';
    dtype = options.dtype ?? (isBool ? 'bool' : 'float32');
    if (dtype === 'float16' || dtype === 'bfloat16') {
      const t = tensor(Float32Array.from(data as number[]), shape);
      const cast = t.to(dtype);
      t.dispose();
      return placed(cast, options.device);
    }
    view = arrayFor(dtype, data as readonly (number | boolean)[]);
  } else {
    throw invalidParameterError('tensor.data', 'a typed array or an array of numbers', data);
  }
  const n = (view as unknown as { length: number }).length;
  const s = shape === undefined ? [n] : checkShape(shape, 'tensor');
  const want = s.reduce((a, b) => a * b, 1);
  if (want !== n) throw new RangeError(`tensor: shape [${s.join(', ')}] holds ${want} elements but data has ${n}`);
  return placed(rawFromBuffer(view, s, dtype), options.device);
}

function arrayFor(dtype: DType, data: readonly (number | boolean)[]): ArrayBufferView {
  const nums = data.map(Number);
  switch (dtype) {
    case 'float32':
      return Float32Array.from(nums);
    case 'float64':
      return Float64Array.from(nums);
    case 'int64':
      return BigInt64Array.from(nums, (v) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(nums);
    case 'int16':
      return Int16Array.from(nums);
    case 'int8':
      return Int8Array.from(nums);
    default:
      return Uint8Array.from(nums);
  }
}

function factory(name: string, shape: Shape, options: CreateOptions, ...before: unknown[]): Tensor {
  const s = checkShape(shape, name.replace('aten::', ''));
  // Optional trailing args of the factory ops: dtype, layout, device, pin_memory.
  return op(name, s, ...before, options.dtype ? dtypeCode(options.dtype) : undefined, undefined, options.device);
}

export const zeros = (shape: Shape, options: CreateOptions = {}): Tensor => factory('aten::zeros', shape, options);
export const ones = (shape: Shape, options: CreateOptions = {}): Tensor => factory('aten::ones', shape, options);
export const full = (shape: Shape, value: number, options: CreateOptions = {}): Tensor => factory('aten::full', shape, options, value);
/** Standard normal samples from the default generator (see manualSeed). */
export const randn = (shape: Shape, options: CreateOptions = {}): Tensor => factory('aten::randn', shape, options);
/** Uniform samples in [0, 1). */
export const rand = (shape: Shape, options: CreateOptions = {}): Tensor => factory('aten::rand', shape, options);

/** Integers uniformly in [low, high). */
export function randint(low: number, high: number, shape: Shape, options: CreateOptions = {}): Tensor {
  if (!(high > low)) throw invalidParameterError('randint.high', `a number greater than low (${low})`, high);
  return op('aten::randint.low', low, high, checkShape(shape, 'randint'), dtypeCode(options.dtype ?? 'int64'), undefined, options.device);
}

export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return op('aten::randperm', n, dtypeCode(options.dtype ?? 'int64'), undefined, options.device);
}

/** Values from start to end (exclusive) by step; integral arguments give int64 like PyTorch. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw invalidParameterError('arange.step', 'a non-zero number', step);
  return op('aten::arange.start_step', s, e, step, options.dtype ? dtypeCode(options.dtype) : undefined, undefined, options.device);
}

export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return op('aten::linspace', start, end, steps, options.dtype ? dtypeCode(options.dtype) : undefined, undefined, options.device);
}

export function eye(n: number, options: CreateOptions = {}): Tensor {
  return op('aten::eye', n, options.dtype ? dtypeCode(options.dtype) : undefined, undefined, options.device);
}

export const zerosLike = (t: Tensor): Tensor => op('aten::zeros_like', t);
export const onesLike = (t: Tensor): Tensor => op('aten::ones_like', t);
export const randnLike = (t: Tensor): Tensor => op('aten::randn_like', t);

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw invalidParameterError('cat.tensors', 'at least one tensor', tensors);
  return op('aten::cat', tensors, dim);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw invalidParameterError('stack.tensors', 'at least one tensor', tensors);
  return op('aten::stack', tensors, dim);
}

export function where(condition: Tensor, a: Tensor, b: Tensor | number): Tensor {
  return a.where(condition, b);
}
