// Calls ATen operators by schema name ("aten::add.Tensor"); ids are looked up once and cached.
import { invalidParameterError } from '../util/check.js';
import { native, type NativeHandle } from './native.js';

const ids = new Map<string, number>();

/** "aten::add.Tensor" as the dispatcher's operator name and overload name ('' when none). */
function splitName(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  return dot < 0 ? [qualified, ''] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    id = native.findOp(...splitName(qualified));
    ids.set(qualified, id);
  }
  return id;
}

const QUALIFIED_NAME = /^[A-Za-z_]\w*::[A-Za-z_]\w*(\.\w+)?$/;

/** Whether the linked libtorch has this operator ("aten::add.Tensor"), without calling it. */
export function hasOperator(name: string): boolean {
  if (typeof name !== 'string' || !QUALIFIED_NAME.test(name)) throw invalidParameterError('name', 'an operator name such as "aten::add.Tensor"', name);
  return native.hasOperator(...splitName(name));
}

/** Anything that carries a native handle (a Tensor) is passed as that handle. */
export interface HasHandle {
  readonly handle: NativeHandle;
}

function isHasHandle(v: unknown): v is HasHandle {
  return typeof v === 'object' && v !== null && 'handle' in v;
}

function lower(arg: unknown): unknown {
  if (isHasHandle(arg)) return arg.handle;
  if (Array.isArray(arg)) return arg.map(lower);
  return arg;
}

/**
 * Sees every op call with its arguments (tensors as Tensor objects) and its result (handles): the
 * ONNX exporter's tracer (src/export/trace.ts) sets one for the length of a forward pass. Unset,
 * the cost is one comparison per op.
 */
export type OpObserver = (qualified: string, args: readonly unknown[], result: unknown) => void;

let observer: OpObserver | undefined;

/** Sets (or, with undefined, clears) the op observer; returns the one it replaces. */
export function setOpObserver(next: OpObserver | undefined): OpObserver | undefined {
  const prev = observer;
  observer = next;
  return prev;
}

export function callRaw(qualified: string, args: unknown[]): unknown {
  const result = native.callOp(opId(qualified), args.map(lower));
  if (observer) observer(qualified, args, result);
  return result;
}

export function opSchema(qualified: string): string {
  return native.schema(opId(qualified));
}
