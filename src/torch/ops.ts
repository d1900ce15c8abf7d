// Calls ATen operators by schema name ("aten::add.Tensor"); ids are looked up once and cached.
import { native, type NativeHandle } from './native.js';

const ids = new Map<string, number>();

function opId(qualified: string): number {
  let id = ids.get(qualified);
  if (id === undefined) {
    const dot = qualified.indexOf('.');
    id = dot < 0 ? native.findOp(qualified, '') : native.findOp(qualified.slice(0, dot), qualified.slice(dot + 1));
    ids.set(qualified, id);
  }
  return id;
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

export function callRaw(qualified: string, args: unknown[]): unknown {
  return native.callOp(opId(qualified), args.map(lower));
}

export function opSchema(qualified: string): string {
  return native.schema(opId(qualified));
}
