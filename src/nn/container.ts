// Containers, as torch.nn: ModuleList and ModuleDict hold modules so their parameters are
// registered (names `0`, `1`, ... and the dict's keys); Sequential is a list that also chains them.
import type { Tensor } from '../torch/index.js';
import { Module } from './module.js';

/** A list of modules, registered as `0`, `1`, ...; iterate it in the owner's forward. */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this.children().length;
  }

  /** The i-th module; negative indices count from the end. */
  get(i: number): M {
    const all = this.children();
    const m = all[i < 0 ? i + all.length : i];
    if (!m) throw new RangeError(`${this.constructor.name}.get: index ${i} is out of range for ${all.length} modules`);
    return m as M;
  }

  append(m: M): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return (this.children() as M[])[Symbol.iterator]();
  }

  override forward(..._args: unknown[]): unknown {
    throw new Error('ModuleList has no forward: iterate it in the owning module');
  }
}

/** Runs its children in order, each on the previous one's output. */
export class Sequential extends ModuleList {
  constructor(...modules: Module[]);
  /** Children named by the record's keys (PyTorch's Sequential(OrderedDict(...))). */
  constructor(named: Record<string, Module>);
  constructor(...args: Module[] | [Record<string, Module>]) {
    super();
    const [first] = args;
    const named = args.length === 1 && !(first instanceof Module) ? Object.entries(first!) : (args as Module[]).map((m, i) => [String(i), m] as const);
    for (const [name, m] of named) this.registerModule(name, m);
  }

  override forward(x: Tensor): Tensor {
    for (const m of this) x = m.forward(x) as Tensor;
    return x;
  }
}

/** Modules by key, in insertion order. */
export class ModuleDict<M extends Module = Module> extends Module {
  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  get(key: string): M {
    const m = this.entries().find(([k]) => k === key)?.[1];
    if (!m) throw new RangeError(`ModuleDict.get: no module named '${key}'`);
    return m;
  }

  set(key: string, m: M): this {
    this.registerModule(key, m);
    return this;
  }

  has(key: string): boolean {
    return this.keys().includes(key);
  }

  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }

  entries(): [string, M][] {
    return this.namedChildren() as [string, M][];
  }

  override forward(..._args: unknown[]): unknown {
    throw new Error('ModuleDict has no forward: look modules up in the owning module');
  }
}
