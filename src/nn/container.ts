// Containers, as torch.nn: ModuleList and ModuleDict hold modules so their parameters are
// registered (names `0`, `1`, ... and the dict's keys); Sequential is a list that also chains them.
import type { Tensor } from '../torch/index.js';
import { Module, type AnyModule } from './module.js';

/**
 * Feeds x through the modules in order, freeing each intermediate once the next module has used
 * it (autograd keeps whatever backward needs), so inference holds about one block's activations
 * rather than the whole network's. x itself is left to the caller. Sequential.forward runs this;
 * call it directly to chain modules registered under their own names (timm's branch layouts).
 */
export function runSequential(x: Tensor, modules: Iterable<Module>): Tensor {
  let y = x;
  for (const m of modules) {
    const next = m.forward(y);
    if (y !== x && next !== y) y.dispose();
    y = next;
  }
  return y;
}

/**
 * A list of modules, registered as `0`, `1`, ...; iterate it in the owner's forward. Its forward
 * is typed loosely (unknown in and out) only so that Sequential can narrow it.
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<unknown[], unknown> implements Iterable<M> {
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

/** Runs its children in order, each on the previous one's output, freeing the intermediates (runSequential). */
export class Sequential extends ModuleList<Module> {
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
    return runSequential(x, this);
  }
}

/** Modules by key, in insertion order. */
export class ModuleDict<M extends AnyModule = AnyModule> extends Module<unknown[], never> {
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

  override forward(..._args: unknown[]): never {
    throw new Error('ModuleDict has no forward: look modules up in the owning module');
  }
}
