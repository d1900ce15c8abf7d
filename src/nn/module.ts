// The Module base class, as PyTorch's torch.nn.Module: parameters, buffers and child modules are
// registered under names, in order, so state-dict keys come out exactly as PyTorch/timm write them
// (`blocks.0.conv.weight`, `bn.running_mean`, `bn.num_batches_tracked`).
import { isFloating, keep, noGrad, tidy, type DType, type Tensor } from '../torch/index.js';
import { isDType } from '../torch/dtype.js';
import { callRaw } from '../torch/ops.js';
import { invalidParameterError } from '../util/check.js';

export interface LoadStateDictResult {
  /** Keys the module has but the state dict lacks. */
  missing: string[];
  /** Keys the state dict has but the module lacks. */
  unexpected: string[];
  /** Keys present on both sides with different shapes (not copied). */
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export type StateDict = Map<string, Tensor>;

/**
 * A module whose forward takes `In` and returns `Out`; the default is a layer from one tensor to
 * one tensor, so a field typed `Module` can be called without casts. Heads with extra inputs or
 * structured outputs say so, e.g. `Module<[Tensor, Tensor?], JointOutput>`.
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Train mode (true) or eval mode (false); set with train()/eval(), which recurse. */
  training = true;
  // Maps keep insertion order, which is the state-dict order.
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly nonPersistent = new Set<string>();
  private readonly ownModules = new Map<string, AnyModule>();

  abstract forward(...args: In): Out;

  // ---- registration ----

  /** Registers a leaf float tensor as a trainable parameter and keeps it alive past tidy() scopes. */
  registerParameter<T extends Tensor>(name: string, t: T): T {
    this.checkName(name, this.ownParams);
    if (!isFloating(t.dtype)) throw new TypeError(`${this.name}.registerParameter('${name}'): parameters must be floating point, got ${t.dtype}`);
    if (!t.isLeaf) throw new TypeError(`${this.name}.registerParameter('${name}'): expected a leaf tensor (detach() it first)`);
    this.ownParams.set(name, keep(t.requiresGrad_(true)));
    return t;
  }

  /** Registers state that is not trained (running statistics); non-persistent buffers stay out of stateDict(). */
  registerBuffer<T extends Tensor>(name: string, t: T, options: { persistent?: boolean } = {}): T {
    this.checkName(name, this.ownBuffers);
    this.ownBuffers.set(name, keep(t));
    if (options.persistent ?? true) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return t;
  }

  registerModule<M extends AnyModule>(name: string, m: M): M {
    this.checkName(name, this.ownModules);
    this.ownModules.set(name, m);
    return m;
  }

  private checkName(name: string, own: Map<string, unknown>): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw invalidParameterError(`${this.name} member name`, "a non-empty string without '.'", name);
    }
    for (const kind of [this.ownParams, this.ownBuffers, this.ownModules]) {
      if (kind !== own && kind.has(name)) throw new Error(`${this.name}: '${name}' is already registered as another kind of member`);
    }
  }

  private get name(): string {
    return this.constructor.name;
  }

  // ---- traversal (PyTorch order: self first, then children depth first) ----

  /** [qualified name, module] pairs including this module as '' (each module once). */
  namedModules(prefix = ''): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const visit = (m: AnyModule, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.ownModules) visit(c, p ? `${p}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  namedChildren(): [string, AnyModule][] {
    return [...this.ownModules];
  }

  children(): AnyModule[] {
    return [...this.ownModules.values()];
  }

  /** [qualified name, parameter] pairs; a parameter shared by several modules is listed once. */
  namedParameters(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedMembers((m) => m.ownParams, options.recurse ?? true);
  }

  parameters(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedParameters(options).map(([, t]) => t);
  }

  /** All buffers, persistent or not. */
  namedBuffers(options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedMembers((m) => m.ownBuffers, options.recurse ?? true);
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  private namedMembers(of: (m: AnyModule) => Map<string, Tensor>, recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of recurse ? this.namedModules() : [['', this] as [string, AnyModule]]) {
      for (const [n, t] of of(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }

  // ---- state dict ----

  /**
   * Parameters and persistent buffers by qualified name, in PyTorch's order (each module's own
   * parameters, then its buffers, then its children). The values are the module's own tensors, not
   * copies: read or save them, do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    const visit = (m: AnyModule, p: string): void => {
      for (const [n, t] of m.ownParams) out.set(p + n, t);
      for (const [n, t] of m.ownBuffers) if (!m.nonPersistent.has(n)) out.set(p + n, t);
      for (const [n, c] of m.ownModules) visit(c, `${p}${n}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values into the module's tensors in place (converting dtype), so references to the
   * parameters stay valid. With `strict` (the default) any missing, unexpected or mis-shaped key
   * throws one Error listing them all, before anything is copied. Without it, the keys that fit are
   * copied and the rest reported; unlike PyTorch, mis-shaped keys are then skipped rather than
   * fatal, so a pretrained backbone loads under a new classifier of another size.
   */
  loadStateDict(sd: StateDict | Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const source = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const result: LoadStateDictResult = { missing: [], unexpected: [], mismatched: [] };
    const toCopy: [Tensor, Tensor][] = [];
    const toFill: [Tensor, number][] = [];
    for (const [key, dst] of own) {
      const src = source.get(key);
      if (!src) {
        const value = this.ownerOf(key).defaultForMissing(key.slice(key.lastIndexOf('.') + 1));
        if (value === undefined) result.missing.push(key);
        else toFill.push([dst, value]);
      } else if (!sameShape(src.shape, dst.shape)) {
        result.mismatched.push({ key, expected: dst.shape, got: src.shape });
      } else {
        checkLoadable(this.name, key, src, dst);
        toCopy.push([dst, src]);
      }
    }
    for (const key of source.keys()) if (!own.has(key)) result.unexpected.push(key);
    if ((options.strict ?? true) && (result.missing.length || result.unexpected.length || result.mismatched.length)) {
      throw new Error(describeLoadErrors(this.name, result));
    }
    noGrad(() => {
      for (const [dst, src] of toCopy) dst.copy_(src);
      for (const [dst, value] of toFill) dst.fill_(value);
    });
    return result;
  }

  /**
   * Called by loadStateDict for a local key the state dict lacks: a value to fill it with instead
   * of reporting it missing (BatchNorm zeroes num_batches_tracked, as PyTorch does for checkpoints
   * without version metadata, e.g. safetensors files).
   */
  protected defaultForMissing(_localName: string): number | undefined {
    return undefined;
  }

  private ownerOf(key: string): AnyModule {
    let m: AnyModule = this;
    for (const part of key.split('.').slice(0, -1)) m = m.ownModules.get(part)!;
    return m;
  }

  // ---- modes and bulk operations ----

  /**
   * Sets this module's mode, then calls each child's train(mode), as PyTorch does: a module that
   * overrides train() (e.g. to keep frozen BatchNorms in eval) is obeyed however deep it sits.
   */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.ownModules.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (freezing / unfreezing). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /** Calls fn on every child (recursively), then on this module, as PyTorch's apply. */
  apply(fn: (m: AnyModule) => void): this {
    for (const c of this.ownModules.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * Converts floating parameters and buffers to a dtype, or moves all of them to a device, in
   * place: the tensors keep their identity (as PyTorch's `param.data = ...`), so references held
   * by fields and optimizers stay valid. Gradients are converted too.
   */
  to(target: DType | string): this {
    const toDType = isDType(target);
    noGrad(() =>
      tidy(() => {
        for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
          if (toDType && !isFloating(t.dtype)) continue;
          callRaw('aten::set_data', [t, t.detach().to(target)]);
          const g = t.grad;
          if (g) t.grad = g.to(target);
        }
      }),
    );
    return this;
  }

  /** Frees every parameter and buffer of this module and its children; the module is unusable after. */
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.dispose();
  }
}

/**
 * Any module, whatever its forward's types: the element type of child lists and traversals. Its
 * forward is callable with anything and returns unknown; narrow the module to call it usefully.
 */
export type AnyModule = Module<unknown[], unknown>;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const quoted = (keys: string[]): string => keys.map((k) => `"${k}"`).join(', ');

/**
 * A state-dict tensor fit to copy into a model's: float data for a float parameter (copy_ would
 * silently turn integers into floats), and no NaN or infinity (which would make every output NaN).
 */
function checkLoadable(owner: string, key: string, src: Tensor, dst: Tensor): void {
  if (isFloating(dst.dtype) && !isFloating(src.dtype)) {
    throw new TypeError(`${owner}.loadStateDict: ${key} is ${src.dtype} in the state dict but ${dst.dtype} in the model: a float tensor stored as integers (a damaged file, or not weights for this model)`);
  }
  if (isFloating(src.dtype) && !tidy(() => src.isfinite().all().item())) {
    throw new RangeError(`${owner}.loadStateDict: ${key} holds NaN or infinite values; refusing weights that would make every output NaN`);
  }
}

function describeLoadErrors(name: string, r: LoadStateDictResult): string {
  const lines = [`Error(s) in loading state_dict for ${name}:`];
  if (r.missing.length) lines.push(`\tMissing key(s) in state_dict: ${quoted(r.missing)}.`);
  if (r.unexpected.length) lines.push(`\tUnexpected key(s) in state_dict: ${quoted(r.unexpected)}.`);
  for (const m of r.mismatched) {
    lines.push(`\tsize mismatch for ${m.key}: copying a param with shape [${m.got.join(', ')}] from checkpoint, the shape in current model is [${m.expected.join(', ')}].`);
  }
  return lines.join('\n');
}
