// Transfer-learning controls: freeze a pretrained backbone (or all but its top N blocks), keep the
// frozen BatchNorm layers in eval mode, split the parameters into backbone and head LR groups, and
// count parameters the way Keras' model.summary() does (the seed compared backbones by these).
//
// The freeze has two halves. requiresGrad=false stops gradients and updates; it is set once by
// applyFreeze. But Module.train() puts every BatchNorm back into train mode, where the forward
// pass itself rewrites the running statistics; so frozen BatchNorm layers must be put back in eval
// mode after each train() call. TransferModel does that in its train() override, which runs
// whenever it or any module holding it is put in train mode (train() recurses through children's
// train(), as in PyTorch). Code that holds a bare backbone calls
// `backbone.train(); applyFreeze(backbone, n)` instead.
import type { Backbone } from '../models/backbone.js';
import { Module, type AnyModule } from '../nn/index.js';
import { isFloating, tidy, type Tensor } from '../torch/index.js';
import { checkNumber, invalidParameterError } from '../util/check.js';

/** How much of the backbone trains: 0 freezes it all, N the top N blocks, 'all' nothing frozen. */
export type TrainableBlocks = number | 'all';

export interface FreezeSummary {
  /** Names (backbone.blocks()) of the blocks that train, input to output. */
  trainableBlocks: string[];
  /** Names of the frozen BatchNorm layers, now in eval mode. */
  frozenBatchNorms: string[];
}

/**
 * The backbone's modules that stay frozen. A module inside block i has level i; a module outside
 * every block (stem, a downsample between stages) takes the level of the next block after it in
 * registration order, and one after the last block (final conv/norm, classifier) the last block's.
 * Levels below blocks.length - N freeze: so the top N blocks train together with everything above
 * them and what leads into them; N = blocks.length (stem included) is the same as 'all'.
 */
export function frozenModules(backbone: Backbone, trainable: TrainableBlocks): Set<AnyModule> {
  const blocks = backbone.blocks();
  const cut = trainable === 'all' ? -Infinity : blocks.length - checkTrainable(trainable, blocks.map((b) => b.name));
  const blockOf = (name: string): number => blocks.findIndex((b) => name === b.name || name.startsWith(`${b.name}.`));
  const frozen = new Set<AnyModule>();
  let next = blocks.length - 1;
  // Walking the pre-order backwards, the last block seen is the next one after the current module.
  for (const [name, m] of backbone.namedModules().reverse()) {
    const b = blockOf(name);
    if (b >= 0) next = b;
    if ((b >= 0 ? b : next) < cut) frozen.add(m);
  }
  return frozen;
}

function checkTrainable(n: unknown, names: string[]): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > names.length) {
    throw invalidParameterError('trainableBlocks', `'all' or an integer from 0 to ${names.length} (the backbone's blocks: ${names.join(', ') || 'none'})`, n);
  }
  return n;
}

/** BatchNorm-like: any module that keeps running statistics (also family-specific BN variants). */
function hasRunningStats(m: AnyModule): boolean {
  return m.namedBuffers({ recurse: false }).some(([n]) => n === 'running_mean');
}

/**
 * Freezes the backbone per `trainable` (requiresGrad off in frozen modules, on elsewhere) and puts
 * the frozen BatchNorm layers in eval mode. Idempotent; call it again after backbone.train().
 */
export function applyFreeze(backbone: Backbone, trainable: TrainableBlocks): FreezeSummary {
  const frozen = frozenModules(backbone, trainable);
  const frozenBatchNorms: string[] = [];
  for (const [name, m] of backbone.namedModules()) {
    const isFrozen = frozen.has(m);
    for (const [, p] of m.namedParameters({ recurse: false })) p.requiresGrad_(!isFrozen);
    if (isFrozen && hasRunningStats(m)) {
      m.training = false;
      frozenBatchNorms.push(name);
    }
  }
  const trainableBlocks = backbone.blocks().filter((b) => !frozen.has(b.module)).map((b) => b.name);
  return { trainableBlocks, frozenBatchNorms };
}

/** What TransferModel.forward takes after the images: the head's inputs after the features. */
type HeadExtras<H extends AnyModule> = Parameters<H['forward']> extends [unknown, ...infer Rest] ? Rest : unknown[];

/**
 * A backbone and a head (DenseHead, JointHead, ...) as one model: forward(x, ...rest) is
 * head.forward(backbone.forwardFeatures(x), ...rest). It owns the freeze policy, and its train()
 * keeps the frozen BatchNorm layers in eval mode.
 */
export class TransferModel<H extends AnyModule = AnyModule, B extends Backbone = Backbone> extends Module<[Tensor, ...HeadExtras<H>], ReturnType<H['forward']>> {
  readonly backbone: B;
  readonly head: H;
  private trainable: TrainableBlocks;

  constructor(backbone: B, head: H, options: { trainableBlocks?: TrainableBlocks } = {}) {
    super();
    this.backbone = this.registerModule('backbone', backbone);
    this.head = this.registerModule('head', head);
    this.trainable = options.trainableBlocks ?? 'all';
    applyFreeze(backbone, this.trainable);
  }

  get trainableBlocks(): TrainableBlocks {
    return this.trainable;
  }

  /**
   * Changes the policy (e.g. after the head has warmed up, unfreeze the top blocks). Build new
   * parameter groups afterwards: the optimizer only updates the parameters it was given.
   */
  setTrainableBlocks(trainable: TrainableBlocks): FreezeSummary {
    this.trainable = trainable;
    super.train(this.training); // BN layers that were frozen follow the model's mode again
    return applyFreeze(this.backbone, trainable);
  }

  override train(mode = true): this {
    super.train(mode);
    if (mode) applyFreeze(this.backbone, this.trainable);
    return this;
  }

  override forward(x: Tensor, ...rest: HeadExtras<H>): ReturnType<H['forward']> {
    return tidy(() => this.head.forward(this.backbone.forwardFeatures(x), ...rest)) as ReturnType<H['forward']>;
  }
}

export interface ParamGroupOptions {
  /** The backbone's learning rate. */
  lr: number;
  /** The head's learning rate is lr * headLrMult (default 1; fresh heads often use 10). */
  headLrMult?: number;
}

/**
 * Optimizer parameter groups: the backbone's trainable parameters at lr, the head's at
 * lr * headLrMult. Frozen parameters are left out, and so is a group with none left (a fully frozen
 * backbone): rebuild the groups, or addParamGroup, when the freeze changes.
 */
export function paramGroups(model: { backbone: AnyModule; head: AnyModule }, options: ParamGroupOptions): { params: Tensor[]; lr: number }[] {
  const lr = checkNumber('lr', options.lr, 0);
  const headLr = lr * checkNumber('headLrMult', options.headLrMult ?? 1, 0);
  const trainable = (m: AnyModule): Tensor[] => m.parameters().filter((p) => p.requiresGrad);
  const groups = [
    { params: trainable(model.backbone), lr },
    { params: trainable(model.head), lr: headLr },
  ].filter((g) => g.params.length > 0);
  if (groups.length === 0) throw new Error('paramGroups: the model has no trainable parameters (everything is frozen)');
  return groups;
}

export interface ParameterCounts {
  total: number;
  trainable: number;
  nonTrainable: number;
}

/**
 * Keras-style counts of the model as it stands (apply a freeze first to count under it):
 * trainable = parameters with requiresGrad; non-trainable = frozen parameters + floating persistent
 * buffers, i.e. the BatchNorm running mean and variance, which Keras counts as non-trainable
 * weights. BatchNorm's int64 num_batches_tracked is left out (Keras has no such weight), and so are
 * non-persistent buffers (derived index tables). total = trainable + nonTrainable.
 */
export function countParameters(model: AnyModule): ParameterCounts {
  let trainable = 0;
  let frozen = 0;
  for (const p of model.parameters()) {
    if (p.requiresGrad) trainable += p.numel;
    else frozen += p.numel;
  }
  const params = new Set(model.parameters());
  let stats = 0;
  for (const t of model.stateDict().values()) if (!params.has(t) && isFloating(t.dtype)) stats += t.numel;
  return { total: trainable + frozen + stats, trainable, nonTrainable: frozen + stats };
}
