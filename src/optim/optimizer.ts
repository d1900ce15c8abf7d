// The Optimizer base class, as torch.optim.Optimizer: parameter groups with their own
// hyper-parameters (a lower backbone LR and a higher head LR), per-parameter state, zeroGrad,
// step, and a state dict for exact resume.
import { keep, noGrad, tidy, Tensor } from '../torch/index.js';
import { checkNumber, invalidParameterError } from '../util/check.js';

/** Hyper-parameters every optimizer has; all values must be JSON (numbers, booleans, arrays). */
export type Hyper = { lr: number };

/** A group as the optimizer holds it: every hyper-parameter resolved. Mutable: set `lr` freely. */
export type ParamGroup<H extends Hyper = Hyper> = H & { params: Tensor[] };

/** A group as given to the constructor: hyper-parameters it leaves out come from the defaults. */
export type ParamGroupSpec<H extends Hyper = Hyper> = Partial<H> & { params: readonly Tensor[] };

export type Params<H extends Hyper = Hyper> = readonly Tensor[] | readonly ParamGroupSpec<H>[];

/** Per-parameter state: tensors shaped like the parameter, and numbers (e.g. Adam's step). */
export type ParamState = Record<string, Tensor | number | undefined>;

/**
 * What stateDict() returns and loadStateDict() takes, split so it saves as tensors + JSON
 * (e.g. a safetensors file whose metadata holds `JSON.stringify(json)`):
 * - `tensors`: per-parameter state tensors keyed `state.<index>.<name>` (e.g. `state.3.expAvg`),
 *   where index counts parameters across groups in order, as PyTorch does;
 * - `json.optimizer`: the class name, checked on load;
 * - `json.paramGroups`: each group's hyper-parameters, with `params` the indices of its parameters;
 * - `json.state`: per-parameter numbers by index (e.g. `{ "3": { "step": 120 } }`).
 */
export interface OptimizerStateDict {
  tensors: Map<string, Tensor>;
  json: {
    optimizer: string;
    paramGroups: (Record<string, unknown> & { params: number[] })[];
    state: Record<string, Record<string, number>>;
  };
}

export abstract class Optimizer<H extends Hyper = Hyper, S extends ParamState = ParamState> {
  readonly defaults: Readonly<H>;
  readonly paramGroups: ParamGroup<H>[] = [];
  protected readonly state = new Map<Tensor, S>();

  constructor(params: Params<H>, defaults: H) {
    this.defaults = defaults;
    const specs: readonly ParamGroupSpec<H>[] = params.length > 0 && params[0] instanceof Tensor ? [{ params: params as readonly Tensor[] } as ParamGroupSpec<H>] : (params as readonly ParamGroupSpec<H>[]);
    if (specs.length === 0) throw invalidParameterError(`${this.constructor.name}.params`, 'a non-empty parameter list', params);
    for (const spec of specs) this.addParamGroup(spec);
  }

  /** Adds a group (e.g. unfrozen layers); hyper-parameters it leaves out come from the defaults. */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const overrides = Object.fromEntries(Object.entries(spec).filter(([k, v]) => k !== 'params' && v !== undefined));
    const group = { ...structuredClone(this.defaults), ...structuredClone(overrides), params: [...spec.params] } as ParamGroup<H>;
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of group.params) {
      if (!(p instanceof Tensor)) throw invalidParameterError(`${this.constructor.name}.params`, 'tensors (or groups of tensors)', p);
      if (taken.has(p)) throw new Error(`${this.constructor.name}: some parameters appear in more than one parameter group`);
      taken.add(p);
    }
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** Throws if a group's hyper-parameters are out of range. */
  protected abstract validate(group: H): void;
  /** The state of a parameter at its first update. */
  protected abstract initState(param: Tensor, group: ParamGroup<H>): S;
  /** Updates one parameter in place (called under noGrad inside tidy; keep() new state tensors). */
  protected abstract update(param: Tensor, grad: Tensor, state: S, group: ParamGroup<H>): void;

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            const grad = p.grad;
            if (!grad) continue;
            let s = this.state.get(p);
            if (!s) this.state.set(p, (s = this.initState(p, group)));
            this.update(p, grad, s, group);
          }
        }
      }),
    );
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.zeroGrad();
  }

  /** The current learning rate of each group. */
  getLr(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  /** Sets the learning rate of every group (one number) or of each group (one per group). */
  setLr(lr: number | readonly number[]): void {
    const lrs = typeof lr === 'number' ? this.paramGroups.map(() => lr) : lr;
    if (lrs.length !== this.paramGroups.length) throw invalidParameterError('setLr.lr', `a number or ${this.paramGroups.length} learning rates (one per parameter group)`, lr);
    lrs.forEach((v, i) => checkNumber(`lr[${i}]`, v, 0));
    this.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
  }

  /** The optimizer's state (see OptimizerStateDict); the tensors are its own, not copies. */
  stateDict(): OptimizerStateDict {
    const tensors = new Map<string, Tensor>();
    const state: Record<string, Record<string, number>> = {};
    let index = 0;
    const paramGroups = this.paramGroups.map(({ params, ...hyper }) => {
      const ids = params.map((p) => {
        for (const [name, v] of Object.entries(this.state.get(p) ?? {})) {
          if (v instanceof Tensor) tensors.set(`state.${index}.${name}`, v);
          else if (typeof v === 'number') (state[index] ??= {})[name] = v;
        }
        return index++;
      });
      return { ...structuredClone(hyper), params: ids };
    });
    return { tensors, json: { optimizer: this.constructor.name, paramGroups, state } };
  }

  /**
   * Restores hyper-parameters and state saved by stateDict() into an optimizer built over the same
   * parameters in the same groups. State tensors are copied (cast to each parameter's dtype and
   * device); everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const { json, tensors } = sd;
    const where = `${this.constructor.name}.loadStateDict`;
    if (json.optimizer !== this.constructor.name) throw new Error(`${where}: the state dict is from ${json.optimizer}`);
    if (json.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`${where}: the state dict has ${json.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const params: Tensor[] = [];
    json.paramGroups.forEach((saved, i) => {
      const own = this.paramGroups[i]!.params;
      if (saved.params.length !== own.length) throw new Error(`${where}: parameter group ${i} has ${saved.params.length} parameters in the state dict, ${own.length} in the optimizer`);
      saved.params.forEach((id, j) => (params[id] = own[j]!));
    });
    const sources = new Map<number, [string, Tensor][]>();
    for (const [key, t] of tensors) {
      const m = /^state\.(\d+)\.(\w+)$/.exec(key);
      const p = m ? params[Number(m[1])] : undefined;
      if (!m || !p) throw new Error(`${where}: unexpected tensor key '${key}'`);
      if (t.shape.join() !== p.shape.join()) throw new Error(`${where}: '${key}' has shape [${t.shape.join(', ')}], its parameter [${p.shape.join(', ')}]`);
      sources.set(Number(m[1]), [...(sources.get(Number(m[1])) ?? []), [m[2]!, t]]);
    }
    this.disposeState();
    params.forEach((p, id) => {
      const entries = [...Object.entries(json.state[id] ?? {}), ...(sources.get(id) ?? []).map(([name, t]) => [name, ownCopy(t, p)] as const)];
      if (entries.length) this.state.set(p, Object.fromEntries(entries) as S);
    });
    json.paramGroups.forEach(({ params: _ids, ...hyper }, i) => Object.assign(this.paramGroups[i]!, structuredClone(hyper)));
  }

  /** Frees the state tensors (the parameters belong to the model). */
  dispose(): void {
    this.disposeState();
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

function ownCopy(src: Tensor, like: Tensor): Tensor {
  return keep(tidy(() => src.to(like.dtype).to(like.device).clone()));
}
