// Records a forward pass as the engine runs it: every op call (through src/torch/ops.ts's observer)
// with its schema name, its arguments (traced tensors by value id, everything else as given) and
// its results' shapes and dtypes, and which module was running. Parameters and buffers become named
// values (their state-dict names); a tensor made outside the ops (torch.tensor(...)) becomes a
// constant; an op whose tensor inputs are all constant is folded: its result is kept as a constant,
// so only the ops that depend on the input need an ONNX mapping.
import type { AnyModule } from '../nn/index.js';
import { dtypeName, viewBytes, type DType, type TypedArray } from '../torch/dtype.js';
import { noGrad, tidy, type Tensor } from '../torch/index.js';
import type { NativeHandle } from '../torch/native.js';
import { setOpObserver } from '../torch/ops.js';

export type ValueSource = 'input' | 'param' | 'const' | 'op';

export interface TracedValue {
  id: number;
  shape: number[];
  dtype: DType;
  source: ValueSource;
  /** A parameter's or buffer's state-dict name; the input's name. */
  name?: string;
  /** The elements of a parameter, a buffer or a constant (absent when the trace kept no data). */
  data?: TypedArray;
}

/** An op argument: a traced tensor, a list holding tensors, or a plain value (number, list of numbers, string, boolean, undefined). */
export type TracedArg = { tensor: number } | { list: TracedArg[] } | { value: unknown };

export interface TracedCall {
  index: number;
  /** The schema name as called, e.g. 'aten::add.Tensor'. */
  name: string;
  args: TracedArg[];
  /** Value ids of the results (one per returned tensor). */
  outputs: number[];
  /** Path of the innermost module whose method was running ('' is the traced module itself). */
  module: string;
  /** All tensor inputs were constant: the results are constants and need no ONNX node. */
  folded: boolean;
}

export interface Trace {
  values: TracedValue[];
  calls: TracedCall[];
  input: number;
  /** Output name -> value id, in the order the forward function gave them. */
  outputs: Map<string, number>;
}

export interface TraceResult {
  trace: Trace;
  /** The forward function's outputs, as float32 (finprint's own answer for this input). */
  values: Map<string, { shape: number[]; data: Float32Array }>;
}

/** What a traced forward function returns: one tensor, or named tensors. */
export type ForwardOutputs = Tensor | Record<string, Tensor>;

/** Module methods wrapped during a trace so each op knows which module ran it. */
const TRACKED_METHODS = ['forward', 'forwardFeatures', 'forwardHead', 'project', 'cosine'] as const;

/** `aten::relu_` and `aten::add_.Tensor` write into their first argument. */
export function isInPlace(name: string): boolean {
  const base = name.slice(name.indexOf('::') + 2).split('.')[0]!;
  return base.endsWith('_') && !base.endsWith('__');
}

function isTensorLike(v: unknown): v is { handle: NativeHandle } {
  return typeof v === 'object' && v !== null && 'handle' in v;
}

function isHandle(v: unknown): v is NativeHandle {
  return typeof v === 'object' && v !== null && typeof (v as NativeHandle).shape === 'function' && typeof (v as NativeHandle).dtype === 'function';
}

/**
 * Runs fn(input) in eval-style inference (no gradients) with the op observer set, and returns the
 * recording. `module` names the parameters and buffers (and the modules in error messages); put it
 * in eval mode first. `keepData: false` skips copying constants (a second trace only for shapes).
 */
export function traceForward(module: AnyModule | undefined, fn: (x: Tensor) => ForwardOutputs, input: Tensor, options: { inputName?: string; outputNames?: readonly string[]; keepData?: boolean } = {}): TraceResult {
  const keepData = options.keepData ?? true;
  const values: TracedValue[] = [];
  const calls: TracedCall[] = [];
  const ids = new Map<NativeHandle, number>();
  const members = new Map<NativeHandle, string>();
  for (const [name, t] of [...(module?.namedParameters() ?? []), ...(module?.namedBuffers() ?? [])]) members.set(t.handle, name);
  const stack: string[] = [''];

  const newValue = (h: NativeHandle, source: ValueSource, name?: string): number => {
    const id = values.length;
    const v: TracedValue = { id, shape: h.shape(), dtype: dtypeName(h.dtype()), source };
    if (name !== undefined) v.name = name;
    if (keepData && (source === 'param' || source === 'const')) v.data = viewBytes(h.toBuffer(), v.dtype);
    values.push(v);
    ids.set(h, id);
    return id;
  };
  const valueOf = (h: NativeHandle): number => {
    const known = ids.get(h);
    if (known !== undefined) return known;
    const member = members.get(h);
    return member !== undefined ? newValue(h, 'param', member) : newValue(h, 'const');
  };
  const isConst = (id: number): boolean => values[id]!.source === 'param' || values[id]!.source === 'const';
  const lowerArg = (a: unknown): TracedArg => {
    if (isTensorLike(a)) return { tensor: valueOf(a.handle) };
    if (Array.isArray(a) && a.some(isTensorLike)) return { list: a.map(lowerArg) };
    return { value: Array.isArray(a) ? [...a] : a };
  };
  const tensorIds = (args: TracedArg[]): number[] => args.flatMap((a) => ('tensor' in a ? [a.tensor] : 'list' in a ? tensorIds(a.list) : []));

  const observe = (name: string, args: readonly unknown[], result: unknown): void => {
    const traced = args.map(lowerArg);
    const folded = tensorIds(traced).every(isConst);
    const handles = isHandle(result) ? [result] : Array.isArray(result) ? result.filter(isHandle) : [];
    const outputs = handles.map((h) => newValue(h, folded ? 'const' : 'op'));
    // An in-place op's result is its first argument from now on.
    if (isInPlace(name) && isTensorLike(args[0]) && outputs.length === 1) ids.set(args[0].handle, outputs[0]!);
    calls.push({ index: calls.length, name, args: traced, outputs, module: stack[stack.length - 1]!, folded });
  };

  const restore = wrapModules(module, stack);
  const prev = setOpObserver(observe);
  try {
    return noGrad(() =>
      tidy(() => {
        const inputId = newValue(input.handle, 'input', options.inputName ?? 'input');
        const result = fn(input);
        const named: [string, Tensor][] = isTensorLike(result) ? [[options.outputNames?.[0] ?? 'output', result as Tensor]] : Object.entries(result);
        const outputs = new Map<string, number>();
        const out = new Map<string, { shape: number[]; data: Float32Array }>();
        for (const [name, t] of named) {
          outputs.set(name, valueOf(t.handle));
          out.set(name, { shape: t.shape, data: t.toFloat32Array() });
        }
        return { trace: { values, calls, input: inputId, outputs }, values: out };
      }),
    );
  } finally {
    setOpObserver(prev);
    restore();
  }
}

/** Wraps each module's methods to keep `stack` at the running module's path; returns the undo. */
function wrapModules(module: AnyModule | undefined, stack: string[]): () => void {
  const undo: (() => void)[] = [];
  for (const [path, m] of module?.namedModules() ?? []) {
    const target = m as unknown as Record<string, unknown>;
    for (const method of TRACKED_METHODS) {
      const original = target[method];
      if (typeof original !== 'function') continue;
      const own = Object.getOwnPropertyDescriptor(target, method);
      Object.defineProperty(target, method, {
        configurable: true,
        writable: true,
        value: function (this: unknown, ...args: unknown[]) {
          stack.push(path);
          try {
            return (original as (...a: unknown[]) => unknown).apply(this, args);
          } finally {
            stack.pop();
          }
        },
      });
      undo.push(() => (own ? Object.defineProperty(target, method, own) : delete target[method]));
    }
  }
  return () => undo.reverse().forEach((f) => f());
}

/**
 * The dims of each value that follow the batch size, from two traces of the same forward pass at
 * different batch sizes: the calls must match one for one (a pass whose ops depend on the batch
 * size cannot be exported with a dynamic batch).
 */
export function batchDims(a: Trace, b: Trace): Map<number, number[]> {
  const where = (c: TracedCall): string => `${c.name} in ${c.module || 'the model'}`;
  if (a.calls.length !== b.calls.length || a.values.length !== b.values.length) {
    throw new Error(`the forward pass runs different ops at different batch sizes (${a.calls.length} vs ${b.calls.length} calls): it cannot be exported with a dynamic batch`);
  }
  for (const [i, c] of a.calls.entries()) {
    const d = b.calls[i]!;
    if (c.name !== d.name || c.outputs.join() !== d.outputs.join()) throw new Error(`the forward pass differs with the batch size at call ${i} (${where(c)} vs ${where(d)}): it cannot be exported with a dynamic batch`);
  }
  const dims = new Map<number, number[]>();
  for (const v of a.values) {
    const w = b.values[v.id]!;
    if (v.shape.length !== w.shape.length) throw new Error(`value ${v.id} has rank ${v.shape.length} at one batch size and ${w.shape.length} at another`);
    const changed = v.shape.flatMap((s, i) => (s !== w.shape[i] ? [i] : []));
    if (changed.length && (v.source === 'param' || v.source === 'const')) throw new Error(`constant value ${v.id}${v.name ? ` (${v.name})` : ''} changes with the batch size`);
    dims.set(v.id, changed);
  }
  return dims;
}
