// Element types, named as PyTorch names them, and their c10::ScalarType codes. This table is the
// one list of dtypes: the DType union, name checks and code lookups all come from it.
import { invalidParameterError } from '../util/check.js';

const codes = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
} as const;

export type DType = keyof typeof codes;

const names = new Map<number, DType>(Object.entries(codes).map(([k, v]) => [v, k as DType]));

/** Whether s names a dtype (e.g. to tell a dtype from a device in `to(target)`). */
export function isDType(s: string): s is DType {
  return Object.hasOwn(codes, s);
}

export function dtypeCode(dtype: DType): number {
  if (!isDType(dtype)) throw invalidParameterError('dtype', `one of ${Object.keys(codes).join(', ')}`, dtype);
  return codes[dtype];
}

export function dtypeName(code: number): DType {
  const name = names.get(code);
  if (!name) throw new TypeError(`unsupported scalar type code ${code}`);
  return name;
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** The typed array a dtype's raw bytes are viewed through (16-bit floats stay raw bits). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | BigInt64Array;

export function viewBytes(buffer: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer);
  }
}

/** The dtype a typed array holds by default when turned into a tensor. */
export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new TypeError(`data: unsupported typed array ${data.constructor.name}; pass dtype explicitly for raw 16-bit floats`);
}

export function elementSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return 2;
    default:
      return 1;
  }
}
