// The Tensor type: a typed, validated view over one libtorch tensor, with PyTorch's method names.
import { invalidParameterError } from '../util/check.js';
import { callRaw } from './ops.js';
import { native, type NativeHandle } from './native.js';
import { dtypeCode, dtypeName, isDType, viewBytes, type DType, type TypedArray } from './dtype.js';
import { keep, track } from './scope.js';

export type Shape = readonly number[];
export type Scalar = number | boolean;

export class Tensor {
  readonly handle: NativeHandle;

  constructor(handle: NativeHandle) {
    this.handle = handle;
    track(this);
  }

  // ---- metadata ----
  get shape(): number[] {
    return this.handle.shape();
  }
  get ndim(): number {
    return this.shape.length;
  }
  get dtype(): DType {
    return dtypeName(this.handle.dtype());
  }
  get device(): string {
    return this.handle.device();
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get isDisposed(): boolean {
    return this.handle.isDisposed();
  }
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size: dim ${dim} is out of range for a ${s.length}-d tensor`);
    return s[d]!;
  }
  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(', ')}])`;
  }

  // ---- lifetime ----
  dispose(): void {
    this.handle.dispose();
  }
  /** Keeps this tensor alive past the enclosing tidy() scopes. */
  keep(): this {
    return keep(this);
  }

  // ---- data out ----
  /** The elements as the dtype's typed array (float16/bfloat16 as raw Uint16 bits, bool as Uint8). */
  data(): TypedArray {
    return viewBytes(this.handle.toBuffer(), this.dtype);
  }
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return new Float32Array(this.handle.toBuffer());
    const f = this.to('float32');
    try {
      return new Float32Array(f.handle.toBuffer());
    } finally {
      f.dispose();
    }
  }
  /** The single element of a one-element tensor, as a JS number. */
  item(): number {
    if (this.numel !== 1) throw new RangeError(`item: expected a tensor with one element, got shape [${this.shape.join(', ')}]`);
    const v = this.data()[0]!;
    return typeof v === 'bigint' ? Number(v) : this.dtype === 'float16' || this.dtype === 'bfloat16' ? this.toFloat32Array()[0]! : v;
  }
  /** Elements as a flat JS number array (small tensors: tests, metrics, printing). */
  toArray(): number[] {
    const d = this.dtype === 'float16' || this.dtype === 'bfloat16' ? this.toFloat32Array() : this.data();
    return Array.from(d as ArrayLike<number | bigint>, Number);
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return this.handle.requiresGrad();
  }
  requiresGrad_(flag = true): this {
    this.handle.setRequiresGrad(flag);
    return this;
  }
  get grad(): Tensor | undefined {
    const g = this.handle.grad();
    return g ? new Tensor(g) : undefined;
  }
  set grad(g: Tensor | undefined) {
    this.handle.setGrad(g?.handle);
  }
  get isLeaf(): boolean {
    return this.handle.isLeaf();
  }
  get gradFn(): string | null {
    return this.handle.gradFn();
  }
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    this.handle.backward(gradient?.handle, options.retainGraph, options.createGraph ?? false);
  }
  detach(): Tensor {
    return op('aten::detach', this);
  }
  zeroGrad(): void {
    this.handle.setGrad(undefined);
  }

  // ---- conversion ----
  to(target: DType | string): Tensor {
    if (isDType(target)) return op('aten::to.dtype', this, dtypeCode(target));
    if (!/^(cpu|cuda(:\d+)?)$/.test(target)) throw invalidParameterError('to.target', "a dtype or a device ('cpu', 'cuda', 'cuda:N')", target);
    return op('aten::to.device', this, target, this.handle.dtype());
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  clone(): Tensor {
    return op('aten::clone', this);
  }
  contiguous(): Tensor {
    return op('aten::contiguous', this);
  }

  // ---- views and shape ----
  reshape(...shape: number[]): Tensor {
    return op('aten::reshape', this, shape);
  }
  view(...shape: number[]): Tensor {
    return op('aten::view', this, shape);
  }
  permute(...dims: number[]): Tensor {
    return op('aten::permute', this, dims);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return op('aten::transpose.int', this, dim0, dim1);
  }
  /** Matrix transpose of the last two dims. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return op('aten::flatten.using_ints', this, startDim, endDim);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? op('aten::squeeze', this) : op('aten::squeeze.dim', this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return op('aten::unsqueeze', this, dim);
  }
  expand(...shape: number[]): Tensor {
    return op('aten::expand', this, shape);
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(...other.shape);
  }
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return op('aten::slice.Tensor', this, dim, start, end, step);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return op('aten::narrow', this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return op('aten::select.int', this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return op('aten::index_select', this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return op('aten::gather', this, dim, index);
  }
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return typeof src === 'number' ? op('aten::scatter.value', this, dim, index, src) : op('aten::scatter.src', this, dim, index, src);
  }
  maskedSelect(mask: Tensor): Tensor {
    return op('aten::masked_select', this, mask);
  }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return typeof sizeOrSizes === 'number' ? ops('aten::split.Tensor', this, sizeOrSizes, dim) : ops('aten::split_with_sizes', this, sizeOrSizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return ops('aten::chunk', this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return ops('aten::unbind.int', this, dim);
  }
  flip(...dims: number[]): Tensor {
    return op('aten::flip', this, dims);
  }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    return op('aten::roll', this, [shifts].flat(), [dims].flat());
  }
  repeat(...times: number[]): Tensor {
    return op('aten::repeat', this, times);
  }
  tril(diagonal = 0): Tensor {
    return op('aten::tril', this, diagonal);
  }

  // ---- elementwise math ----
  add(other: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    return other instanceof Tensor ? op('aten::add.Tensor', this, other, alpha) : op('aten::add.Scalar', this, other, alpha);
  }
  sub(other: Tensor | Scalar, alpha: Scalar = 1): Tensor {
    return other instanceof Tensor ? op('aten::sub.Tensor', this, other, alpha) : op('aten::sub.Scalar', this, other, alpha);
  }
  /** other - this */
  rsub(other: Scalar): Tensor {
    return op('aten::rsub.Scalar', this, other);
  }
  mul(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? op('aten::mul.Tensor', this, other) : op('aten::mul.Scalar', this, other);
  }
  div(other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? op('aten::div.Tensor', this, other) : op('aten::div.Scalar', this, other);
  }
  pow(exponent: Tensor | Scalar): Tensor {
    return exponent instanceof Tensor ? op('aten::pow.Tensor_Tensor', this, exponent) : op('aten::pow.Tensor_Scalar', this, exponent);
  }
  neg(): Tensor {
    return op('aten::neg', this);
  }
  exp(): Tensor {
    return op('aten::exp', this);
  }
  log(): Tensor {
    return op('aten::log', this);
  }
  sqrt(): Tensor {
    return op('aten::sqrt', this);
  }
  rsqrt(): Tensor {
    return op('aten::rsqrt', this);
  }
  abs(): Tensor {
    return op('aten::abs', this);
  }
  sign(): Tensor {
    return op('aten::sign', this);
  }
  reciprocal(): Tensor {
    return op('aten::reciprocal', this);
  }
  cos(): Tensor {
    return op('aten::cos', this);
  }
  sin(): Tensor {
    return op('aten::sin', this);
  }
  acos(): Tensor {
    return op('aten::acos', this);
  }
  floor(): Tensor {
    return op('aten::floor', this);
  }
  round(): Tensor {
    return op('aten::round', this);
  }
  clamp(min?: number, max?: number): Tensor {
    return op('aten::clamp', this, min, max);
  }
  maximum(other: Tensor): Tensor {
    return op('aten::maximum', this, other);
  }
  minimum(other: Tensor): Tensor {
    return op('aten::minimum', this, other);
  }
  where(condition: Tensor, other: Tensor | Scalar): Tensor {
    return other instanceof Tensor ? op('aten::where.self', condition, this, other) : op('aten::where.ScalarOther', condition, this, other);
  }
  maskedFill(mask: Tensor, value: Scalar): Tensor {
    return op('aten::masked_fill.Scalar', this, mask, value);
  }
  relu(): Tensor {
    return op('aten::relu', this);
  }
  sigmoid(): Tensor {
    return op('aten::sigmoid', this);
  }
  tanh(): Tensor {
    return op('aten::tanh', this);
  }
  isnan(): Tensor {
    return op('aten::isnan', this);
  }
  isfinite(): Tensor {
    return op('aten::isfinite', this);
  }

  // ---- comparison (bool results) ----
  eq(other: Tensor | Scalar): Tensor {
    return compare('eq', this, other);
  }
  ne(other: Tensor | Scalar): Tensor {
    return compare('ne', this, other);
  }
  lt(other: Tensor | Scalar): Tensor {
    return compare('lt', this, other);
  }
  le(other: Tensor | Scalar): Tensor {
    return compare('le', this, other);
  }
  gt(other: Tensor | Scalar): Tensor {
    return compare('gt', this, other);
  }
  ge(other: Tensor | Scalar): Tensor {
    return compare('ge', this, other);
  }
  logicalNot(): Tensor {
    return op('aten::logical_not', this);
  }
  logicalAnd(other: Tensor): Tensor {
    return op('aten::logical_and', this, other);
  }
  any(): Tensor {
    return op('aten::any', this);
  }
  all(): Tensor {
    return op('aten::all', this);
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? op('aten::sum', this) : op('aten::sum.dim_IntList', this, [dim].flat(), keepdim);
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? op('aten::mean', this) : op('aten::mean.dim', this, [dim].flat(), keepdim);
  }
  /** Without dim: the largest element. With dim: values and indices along it. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return op('aten::max', this);
    const [values, indices] = ops('aten::max.dim', this, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return op('aten::min', this);
    const [values, indices] = ops('aten::min.dim', this, dim, keepdim) as [Tensor, Tensor];
    return { values, indices };
  }
  amax(dim: number | number[], keepdim = false): Tensor {
    return op('aten::amax', this, [dim].flat(), keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return op('aten::argmax', this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return op('aten::argmin', this, dim, keepdim);
  }
  /** Standard deviation; `correction` 1 is the unbiased estimate (PyTorch's default). */
  std(dim?: number | number[], options: { keepdim?: boolean; correction?: number } = {}): Tensor {
    return op('aten::std.correction', this, dim === undefined ? undefined : [dim].flat(), options.correction ?? 1, options.keepdim ?? false);
  }
  var(dim?: number | number[], options: { keepdim?: boolean; correction?: number } = {}): Tensor {
    return op('aten::var.correction', this, dim === undefined ? undefined : [dim].flat(), options.correction ?? 1, options.keepdim ?? false);
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return op('aten::logsumexp', this, [dim].flat(), keepdim);
  }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    return dim === undefined ? op('aten::norm.Scalar', this, p) : op('aten::norm.ScalarOpt_dim', this, p, [dim].flat(), keepdim);
  }
  cumsum(dim: number): Tensor {
    return op('aten::cumsum', this, dim);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [values, indices] = ops('aten::topk', this, k, dim, largest, sorted) as [Tensor, Tensor];
    return { values, indices };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = ops('aten::sort.stable', this, true, dim, descending) as [Tensor, Tensor];
    return { values, indices };
  }
  argsort(dim = -1, descending = false): Tensor {
    const { values, indices } = this.sort(dim, descending);
    values.dispose();
    return indices;
  }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor {
    return op('aten::matmul', this, other);
  }
  bmm(other: Tensor): Tensor {
    return op('aten::bmm', this, other);
  }

  // ---- in place (optimizers, init, running statistics) ----
  copy_(src: Tensor): this {
    return inPlace(this, 'aten::copy_', src);
  }
  fill_(value: Scalar): this {
    return inPlace(this, 'aten::fill_.Scalar', value);
  }
  zero_(): this {
    return inPlace(this, 'aten::zero_');
  }
  add_(other: Tensor | Scalar, alpha: Scalar = 1): this {
    return other instanceof Tensor ? inPlace(this, 'aten::add_.Tensor', other, alpha) : inPlace(this, 'aten::add_.Scalar', other, alpha);
  }
  sub_(other: Tensor, alpha: Scalar = 1): this {
    return inPlace(this, 'aten::sub_.Tensor', other, alpha);
  }
  mul_(other: Tensor | Scalar): this {
    return other instanceof Tensor ? inPlace(this, 'aten::mul_.Tensor', other) : inPlace(this, 'aten::mul_.Scalar', other);
  }
  div_(other: Tensor | Scalar): this {
    return other instanceof Tensor ? inPlace(this, 'aten::div_.Tensor', other) : inPlace(this, 'aten::div_.Scalar', other);
  }
  addcmul_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    return inPlace(this, 'aten::addcmul_', t1, t2, value);
  }
  addcdiv_(t1: Tensor, t2: Tensor, value: Scalar = 1): this {
    return inPlace(this, 'aten::addcdiv_', t1, t2, value);
  }
  lerp_(end: Tensor, weight: number): this {
    return inPlace(this, 'aten::lerp_.Scalar', end, weight);
  }
  clamp_(min?: number, max?: number): this {
    return inPlace(this, 'aten::clamp_', min, max);
  }
  normal_(mean = 0, std = 1): this {
    return inPlace(this, 'aten::normal_', mean, std);
  }
  uniform_(from = 0, to = 1): this {
    return inPlace(this, 'aten::uniform_', from, to);
  }
}

/** Calls an op that returns one tensor. */
export function op(name: string, ...args: unknown[]): Tensor {
  return new Tensor(callRaw(name, args) as NativeHandle);
}

/** Calls an op that returns several tensors (a tuple or a list). */
export function ops(name: string, ...args: unknown[]): Tensor[] {
  return (callRaw(name, args) as NativeHandle[]).map((h) => new Tensor(h));
}

function inPlace<T extends Tensor>(self: T, name: string, ...args: unknown[]): T {
  // The op returns an alias of self; drop the extra handle at once.
  (callRaw(name, [self, ...args]) as NativeHandle).dispose();
  return self;
}

function compare(name: string, a: Tensor, b: Tensor | Scalar): Tensor {
  return b instanceof Tensor ? op(`aten::${name}.Tensor`, a, b) : op(`aten::${name}.Scalar`, a, b);
}

export function fromHandle(handle: NativeHandle): Tensor {
  return new Tensor(handle);
}

export function rawFromBuffer(data: ArrayBufferView | ArrayBuffer, shape: Shape, dtype: DType): Tensor {
  return new Tensor(native.fromBuffer(data, [...shape], dtypeCode(dtype)));
}
