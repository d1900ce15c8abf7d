// Explicit lifetimes for native tensors, which the JS garbage collector cannot see the size of.
// tidy(fn) disposes every tensor created inside fn except those reachable from its result.
// A native finalizer frees whatever is forgotten, as a safety net.
export interface Disposable {
  dispose(): void;
}

const scopes: Set<Disposable>[] = [];

export function track(t: Disposable): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Takes a tensor out of every enclosing scope so it outlives them (parameters, state). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collect(value: unknown, into: Set<unknown>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  into.add(value);
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, into, seen);
  }
}

export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) throw new TypeError('tidy: fn must be synchronous; await outside tidy and tidy each step');
  const reachable = new Set<unknown>();
  collect(result, reachable, new Set());
  for (const t of scope) {
    if (reachable.has(t)) track(t);
    else t.dispose();
  }
  return result;
}
