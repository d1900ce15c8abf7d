// Building blocks shared by the model families, laid out as timm's so state-dict keys match:
// BNAct keeps its keys directly on the module (`bn1.weight`), ConvNormAct nests `conv` and `bn`,
// ClassifierHead holds `fc`.
import * as nn from '../nn/index.js';
import { F, op, rand, type Tensor } from '../torch/index.js';

// ---- activations ----

/** The activations the CNN blocks apply after a conv or a norm (timm's act_layer names). */
export type ActName = 'relu' | 'silu';

const IN_PLACE_OPS: Record<ActName, string> = { relu: 'aten::relu_', silu: 'aten::silu_' };

/**
 * Applies the activation in place and returns x, as timm's `act_layer(inplace=True)`: it saves an
 * allocation per layer, so use it only on a fresh tensor nobody else reads (a conv or norm output;
 * their backward does not need their output, so autograd stays correct).
 */
export function activate_(x: Tensor, act: ActName): Tensor {
  op(IN_PLACE_OPS[act], x).dispose(); // the op returns an alias of x
  return x;
}

/** An in-place activation as a module, for Sequential stacks whose indices count it (VGG's features). */
export class InPlaceAct extends nn.Module {
  constructor(readonly act: ActName) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return activate_(x, this.act);
  }
}

// ---- conv + norm + act ----

/** timm's BatchNormAct2d: BatchNorm2d followed by an optional activation, no extra keys. */
export class BNAct extends nn.BatchNorm2d {
  /** null: plain BN (timm's apply_act=False, e.g. before a residual add). */
  readonly act: ActName | null;

  constructor(numFeatures: number, act: ActName | null, options: nn.BatchNormOptions = {}) {
    super(numFeatures, options);
    this.act = act;
  }

  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    return this.act ? activate_(y, this.act) : y;
  }
}

/** timm's default symmetric padding for a kernel, stride and dilation: ((s - 1) + d (k - 1)) / 2. */
export function symmetricPadding(kernelSize: nn.Pair, stride: nn.Pair = 1, dilation: nn.Pair = 1): [number, number] {
  const p = (v: nn.Pair, i: number): number => (typeof v === 'number' ? v : v[i]!);
  return [0, 1].map((i) => Math.floor((p(stride, i) - 1 + p(dilation, i) * (p(kernelSize, i) - 1)) / 2)) as [number, number];
}

export interface ConvNormActOptions {
  stride?: nn.Pair;
  /** Default: timm's symmetric padding for the kernel and stride. */
  padding?: nn.Pair;
  groups?: number;
  /** BatchNorm eps (timm's default 1e-5; Inception uses 1e-3). */
  eps?: number;
  act: ActName | null;
}

/** timm's ConvNormAct: a bias-free conv (`conv`) then BNAct (`bn`). */
export class ConvNormAct extends nn.Module {
  readonly conv: nn.Conv2d;
  readonly bn: BNAct;

  constructor(inChannels: number, outChannels: number, kernelSize: nn.Pair, options: ConvNormActOptions) {
    super();
    const stride = options.stride ?? 1;
    this.conv = this.registerModule(
      'conv',
      new nn.Conv2d(inChannels, outChannels, kernelSize, { stride, padding: options.padding ?? symmetricPadding(kernelSize, stride), groups: options.groups ?? 1, bias: false }),
    );
    this.bn = this.registerModule('bn', new BNAct(outChannels, options.act, options.eps === undefined ? {} : { eps: options.eps }));
  }

  override forward(x: Tensor): Tensor {
    const c = this.conv.forward(x);
    const y = this.bn.forward(c);
    c.dispose(); // autograd keeps what BN's backward needs
    return y;
  }
}

// ---- stochastic depth ----

/**
 * Stochastic depth (timm's drop_path): in training, zeroes a whole residual branch per sample with
 * probability p and scales the survivors by 1 / (1 - p).
 */
export function dropPath(x: Tensor, p: number, training: boolean): Tensor {
  if (p === 0 || !training) return x;
  const keep = 1 - p;
  const mask = rand([x.size(0), ...x.shape.slice(1).map(() => 1)], { dtype: x.dtype, device: x.device });
  const kept = mask.lt(keep);
  const scale = kept.to(x.dtype).div_(keep);
  const out = x.mul(scale);
  for (const t of [mask, kept, scale]) t.dispose();
  return out;
}

// ---- classifier ----

/** [B, C, H, W] -> [B, C] by global average pooling (timm's 'avg' pool with flatten). */
export function globalAvgPool(x: Tensor): Tensor {
  const p = F.adaptiveAvgPool2d(x, 1);
  const out = p.flatten(1);
  p.dispose();
  return out;
}

/** A fresh classifier of numClasses outputs (PyTorch's default init), or Identity for 0. */
export function createClassifier(inFeatures: number, numClasses: number, useConv = false): nn.Module {
  if (numClasses === 0) return new nn.Identity();
  return useConv ? new nn.Conv2d(inFeatures, numClasses, 1) : new nn.Linear(inFeatures, numClasses);
}

/**
 * timm's ClassifierHead with 'avg' pooling: global average pool, dropout, then `fc`. With useConv
 * the pooled map stays [B, C, 1, 1], `fc` is a 1x1 conv and the result is flattened.
 */
export class ClassifierHead extends nn.Module {
  readonly inFeatures: number;
  readonly useConv: boolean;
  readonly dropRate: number;
  private fcModule: nn.Module;

  constructor(inFeatures: number, numClasses: number, options: { dropRate?: number; useConv?: boolean } = {}) {
    super();
    this.inFeatures = inFeatures;
    this.useConv = options.useConv ?? false;
    this.dropRate = options.dropRate ?? 0;
    this.fcModule = this.registerModule('fc', createClassifier(inFeatures, numClasses, this.useConv));
  }

  get fc(): nn.Module {
    return this.fcModule;
  }

  /** Replaces `fc` with a fresh classifier (0: none); keeps its place in the key order. */
  reset(numClasses: number): void {
    this.fcModule.dispose();
    this.fcModule = this.registerModule('fc', createClassifier(this.inFeatures, numClasses, this.useConv));
  }

  override forward(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    const pooled = this.useConv ? F.adaptiveAvgPool2d(x, 1) : globalAvgPool(x);
    const dropped = F.dropout(pooled, this.dropRate, this.training);
    if (options.preLogits) return this.useConv ? dropped.flatten(1) : dropped;
    const logits = this.fcModule.forward(dropped);
    return this.useConv ? logits.flatten(1) : logits;
  }
}

// ---- channels-first norm, channel rounding ----

/** timm's LayerNorm2d: LayerNorm over the channels of an NCHW map (permuted to NHWC and back, as timm does). */
export class LayerNorm2d extends nn.LayerNorm {
  constructor(numChannels: number, options: { eps?: number } = {}) {
    super(numChannels, { eps: options.eps ?? 1e-6 });
  }

  override forward(x: Tensor): Tensor {
    const nhwc = x.permute(0, 2, 3, 1);
    const y = super.forward(nhwc);
    const out = y.permute(0, 3, 1, 2);
    nhwc.dispose();
    y.dispose(); // out is a view of it
    return out;
  }
}

/** timm's make_divisible: rounds a width to a multiple of divisor, losing at most 10%. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  const rounded = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}
