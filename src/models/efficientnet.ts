// EfficientNet (Tan & Le, 2019) and EfficientNetV2 (Tan & Le, 2021) as timm.models.efficientnet:
// a conv stem, stages of mobile blocks (inverted residuals with squeeze-and-excitation; V2 starts
// with fused edge residuals), then a 1x1 conv head. SiLU throughout, BN eps 1e-5, symmetric PyTorch
// padding (not the tf_ variants' asymmetric 'same').
import * as nn from '../nn/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import { F, tidy, type Tensor } from '../torch/index.js';
import { Backbone, type NamedBlock, type PretrainedCfg } from './backbone.js';
import { activate_, BNAct, createClassifier, dropPath, globalAvgPool, symmetricPadding } from './layers.js';
import { registerModel } from './registry.js';

export interface StageConfig {
  /** 'ds': depthwise-separable block (no expansion); 'er': edge residual (FusedMBConv); 'ir': inverted residual. */
  block: 'ds' | 'er' | 'ir';
  repeats: number;
  kernelSize: number;
  /** Of the first block; the others have stride 1. */
  stride: number;
  expandRatio: number;
  outChannels: number;
  /** Squeeze-excitation width as a fraction of each block's input channels; absent: no SE. */
  seRatio?: number;
}

export interface EfficientNetConfig {
  stemChannels: number;
  stages: readonly StageConfig[];
  headChannels: number;
}

export interface EfficientNetOptions {
  /** Default 1000 (ImageNet); 0 builds no classifier. */
  numClasses?: number;
  /** Dropout before the classifier (training only). */
  dropRate?: number;
  /** Stochastic depth of the last block; earlier blocks get proportionally less (training only). */
  dropPathRate?: number;
}

/** timm's efficientnet_blocks.SqueezeExcite: x * sigmoid(expand(silu(reduce(mean_hw(x))))). */
class SqueezeExcite extends nn.Module {
  readonly conv_reduce: nn.Conv2d;
  readonly conv_expand: nn.Conv2d;

  constructor(channels: number, reduced: number) {
    super();
    this.conv_reduce = this.registerModule('conv_reduce', new nn.Conv2d(channels, reduced, 1));
    this.conv_expand = this.registerModule('conv_expand', new nn.Conv2d(reduced, channels, 1));
  }

  override forward(x: Tensor): Tensor {
    return tidy(() => {
      const s = activate_(this.conv_reduce.forward(x.mean([2, 3], true)), 'silu');
      return x.mul(F.sigmoid(this.conv_expand.forward(s)));
    });
  }
}

/** The block's `se` entry: timm puts an nn.Identity (no keys) there when the block has no SE. */
const squeezeExcite = (channels: number, reduced: number): { se?: SqueezeExcite } => (reduced > 0 ? { se: new SqueezeExcite(channels, reduced) } : {});

const conv = (inChannels: number, outChannels: number, kernelSize: number, stride = 1, groups = 1): nn.Conv2d =>
  new nn.Conv2d(inChannels, outChannels, kernelSize, { stride, padding: symmetricPadding(kernelSize, stride), groups, bias: false });

/**
 * A chain of layers with an identity shortcut when the shape is kept (stride 1, same width), as
 * both timm block types run; the subclasses register the layers under timm's names.
 */
abstract class MobileBlock extends nn.Module {
  protected abstract readonly layers: nn.Module[];

  constructor(
    readonly hasSkip: boolean,
    readonly dropPathRate: number,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = nn.runSequential(x, this.layers);
      if (!this.hasSkip) return y;
      // y is the last BN's fresh output (BN's backward does not need it), so add in place.
      const branch = dropPath(y, this.dropPathRate, this.training);
      return branch === y ? y.add_(x) : branch.add(x);
    });
  }
}

/** timm's DepthwiseSeparableConv: conv_dw -> bn1 (SiLU) -> se -> conv_pw -> bn2 (no act). */
class DepthwiseSeparableConv extends MobileBlock {
  protected readonly layers: nn.Module[];

  constructor(inChannels: number, outChannels: number, kernelSize: number, stride: number, seChannels: number, dropPathRate: number) {
    super(stride === 1 && inChannels === outChannels, dropPathRate);
    this.layers = Object.entries({
      conv_dw: conv(inChannels, inChannels, kernelSize, stride, inChannels),
      bn1: new BNAct(inChannels, 'silu'),
      ...squeezeExcite(inChannels, seChannels),
      conv_pw: conv(inChannels, outChannels, 1),
      bn2: new BNAct(outChannels, null),
    }).map(([name, m]) => this.registerModule(name, m));
  }
}

/** timm's InvertedResidual: conv_pw -> bn1 (SiLU) -> conv_dw -> bn2 (SiLU) -> se -> conv_pwl -> bn3 (no act). */
class InvertedResidual extends MobileBlock {
  protected readonly layers: nn.Module[];

  constructor(inChannels: number, outChannels: number, kernelSize: number, stride: number, midChannels: number, seChannels: number, dropPathRate: number) {
    super(stride === 1 && inChannels === outChannels, dropPathRate);
    this.layers = Object.entries({
      conv_pw: conv(inChannels, midChannels, 1),
      bn1: new BNAct(midChannels, 'silu'),
      conv_dw: conv(midChannels, midChannels, kernelSize, stride, midChannels),
      bn2: new BNAct(midChannels, 'silu'),
      ...squeezeExcite(midChannels, seChannels),
      conv_pwl: conv(midChannels, outChannels, 1),
      bn3: new BNAct(outChannels, null),
    }).map(([name, m]) => this.registerModule(name, m));
  }
}

/**
 * timm's EdgeResidual (FusedMBConv, EfficientNetV2's early stages): the expansion and the
 * depthwise conv fused into one k x k conv. conv_exp (stride) -> bn1 (SiLU) -> se -> conv_pwl (1x1) -> bn2 (no act).
 */
class EdgeResidual extends MobileBlock {
  protected readonly layers: nn.Module[];

  constructor(inChannels: number, outChannels: number, kernelSize: number, stride: number, midChannels: number, seChannels: number, dropPathRate: number) {
    super(stride === 1 && inChannels === outChannels, dropPathRate);
    this.layers = Object.entries({
      conv_exp: conv(inChannels, midChannels, kernelSize, stride),
      bn1: new BNAct(midChannels, 'silu'),
      ...squeezeExcite(midChannels, seChannels),
      conv_pwl: conv(midChannels, outChannels, 1),
      bn2: new BNAct(outChannels, null),
    }).map(([name, m]) => this.registerModule(name, m));
  }
}

/** One block of a stage, as timm's EfficientNetBuilder makes it from the stage's block string. */
function makeBlock(s: StageConfig, inChannels: number, stride: number, dropPathRate: number): MobileBlock {
  const mid = makeDivisible(inChannels * s.expandRatio);
  const se = Math.round(inChannels * (s.seRatio ?? 0));
  switch (s.block) {
    case 'ds':
      return new DepthwiseSeparableConv(inChannels, s.outChannels, s.kernelSize, stride, se, dropPathRate);
    case 'er':
      return new EdgeResidual(inChannels, s.outChannels, s.kernelSize, stride, mid, se, dropPathRate);
    case 'ir':
      return new InvertedResidual(inChannels, s.outChannels, s.kernelSize, stride, mid, se, dropPathRate);
  }
}

export class EfficientNet extends Backbone {
  readonly numFeatures: number;
  readonly dropRate: number;
  readonly conv_stem: nn.Conv2d;
  readonly bn1: BNAct;
  /** blocks.{stage}.{index} */
  readonly blocksSeq: nn.Sequential;
  readonly conv_head: nn.Conv2d;
  readonly bn2: BNAct;
  private classifier: nn.Module;

  constructor(config: EfficientNetConfig, options: EfficientNetOptions) {
    super();
    this.dropRate = options.dropRate ?? 0;
    this.conv_stem = this.registerModule('conv_stem', conv(3, config.stemChannels, 3, 2));
    this.bn1 = this.registerModule('bn1', new BNAct(config.stemChannels, 'silu'));
    const total = config.stages.reduce((n, s) => n + s.repeats, 0);
    let index = 0;
    let channels = config.stemChannels;
    const stages = config.stages.map((s) => {
      const blocks: nn.Module[] = [];
      for (let i = 0; i < s.repeats; i++) {
        const stride = i === 0 ? s.stride : 1;
        // timm's builder: block k of n gets dropPathRate * k / n.
        const dpr = ((options.dropPathRate ?? 0) * index++) / total;
        blocks.push(makeBlock(s, channels, stride, dpr));
        channels = s.outChannels;
      }
      return new nn.Sequential(...blocks);
    });
    this.blocksSeq = this.registerModule('blocks', new nn.Sequential(...stages));
    this.conv_head = this.registerModule('conv_head', conv(channels, config.headChannels, 1));
    this.bn2 = this.registerModule('bn2', new BNAct(config.headChannels, 'silu'));
    this.numFeatures = config.headChannels;
    this.classifier = this.registerModule('classifier', createClassifier(this.numFeatures, options.numClasses ?? 1000));
    initWeights(this);
  }

  private allBlocks(): [string, nn.AnyModule][] {
    return this.blocksSeq.namedChildren().flatMap(([s, stage]) => stage.namedChildren().map(([i, b]): [string, nn.AnyModule] => [`blocks.${s}.${i}`, b]));
  }

  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => nn.runSequential(x, [this.conv_stem, this.bn1, this.blocksSeq, this.conv_head, this.bn2]));
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return tidy(() => {
      const pooled = F.dropout(globalAvgPool(x), this.dropRate, this.training);
      return options.preLogits ? pooled : this.classifier.forward(pooled);
    });
  }

  resetClassifier(numClasses: number): void {
    this.classifier.dispose();
    this.classifier = this.registerModule('classifier', createClassifier(this.numFeatures, numClasses));
  }

  /** Stem conv and norm, each block (16 in efficientnet_b0), head conv and norm. */
  blocks(): NamedBlock[] {
    return [
      { name: 'conv_stem', module: this.conv_stem },
      { name: 'bn1', module: this.bn1 },
      ...this.allBlocks().map(([name, module]) => ({ name, module })),
      { name: 'conv_head', module: this.conv_head },
      { name: 'bn2', module: this.bn2 },
    ];
  }
}

/**
 * timm's _init_weight_goog: convs N(0, 2 / fan_out) with fan_out = k·k·out / groups, linears
 * U(±1/√out), zero biases (BN already starts at weight 1, bias 0).
 */
function initWeights(model: EfficientNet): void {
  model.apply((m) => {
    if (m instanceof nn.Conv2d) {
      const [kh, kw] = m.kernelSize;
      nn.init.normal_(m.weight, 0, Math.sqrt(2 / Math.floor((kh * kw * m.outChannels) / m.groups)));
    } else if (m instanceof nn.Linear) {
      const range = 1 / Math.sqrt(m.outFeatures);
      nn.init.uniform_(m.weight, -range, range);
    } else {
      return;
    }
    if (m.bias) nn.init.zeros_(m.bias);
  });
}

/** timm's make_divisible: the nearest multiple of 8, but never under 90% of v. */
function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/**
 * A base arch scaled as timm's generators do: every width (stem, stage outputs, head) times
 * channelMultiplier through make_divisible (round_chs_fn), each stage's repeats times its depth
 * multiplier rounded up (decode_arch_def's depth_trunc 'ceil').
 */
function scaleArch(base: EfficientNetConfig, channelMultiplier: number, depthMultiplier: number | readonly number[]): EfficientNetConfig {
  const width = (c: number): number => makeDivisible(c * channelMultiplier);
  const depth = (i: number): number => (typeof depthMultiplier === 'number' ? depthMultiplier : depthMultiplier[i]!);
  return {
    stemChannels: width(base.stemChannels),
    stages: base.stages.map((s, i) => ({ ...s, repeats: Math.ceil(s.repeats * depth(i)), outChannels: width(s.outChannels) })),
    headChannels: width(base.headChannels),
  };
}

/**
 * timm's _gen_efficientnetv2_s with rw=True (Ross Wightman's reading of the paper, before the
 * official release): er_r2_k3_s1_e1_c24, er_r4_k3_s2_e4_c48, er_r4_k3_s2_e4_c64,
 * ir_r6_k3_s2_e4_c128_se0.25, ir_r9_k3_s1_e6_c160_se0.25, ir_r15_k3_s2_e6_c272_se0.25; stem 24,
 * head 1792. The SE width is relative to the block input (the builder's se_from_exp=False).
 */
const EFFICIENTNETV2_RW: EfficientNetConfig = {
  stemChannels: 24,
  stages: [
    { block: 'er', repeats: 2, kernelSize: 3, stride: 1, expandRatio: 1, outChannels: 24 },
    { block: 'er', repeats: 4, kernelSize: 3, stride: 2, expandRatio: 4, outChannels: 48 },
    { block: 'er', repeats: 4, kernelSize: 3, stride: 2, expandRatio: 4, outChannels: 64 },
    { block: 'ir', repeats: 6, kernelSize: 3, stride: 2, expandRatio: 4, outChannels: 128, seRatio: 0.25 },
    { block: 'ir', repeats: 9, kernelSize: 3, stride: 1, expandRatio: 6, outChannels: 160, seRatio: 0.25 },
    { block: 'ir', repeats: 15, kernelSize: 3, stride: 2, expandRatio: 6, outChannels: 272, seRatio: 0.25 },
  ],
  headChannels: 1792,
};

export const EFFICIENTNET_CONFIGS = {
  /** timm's efficientnet_b0 arch_def (ds_r1_k3_s1_e1_c16_se0.25, ir_r2_k3_s2_e6_c24_se0.25, ...). */
  efficientnet_b0: {
    stemChannels: 32,
    stages: [
      { block: 'ds', repeats: 1, kernelSize: 3, stride: 1, expandRatio: 1, outChannels: 16, seRatio: 0.25 },
      { block: 'ir', repeats: 2, kernelSize: 3, stride: 2, expandRatio: 6, outChannels: 24, seRatio: 0.25 },
      { block: 'ir', repeats: 2, kernelSize: 5, stride: 2, expandRatio: 6, outChannels: 40, seRatio: 0.25 },
      { block: 'ir', repeats: 3, kernelSize: 3, stride: 2, expandRatio: 6, outChannels: 80, seRatio: 0.25 },
      { block: 'ir', repeats: 3, kernelSize: 5, stride: 1, expandRatio: 6, outChannels: 112, seRatio: 0.25 },
      { block: 'ir', repeats: 4, kernelSize: 5, stride: 2, expandRatio: 6, outChannels: 192, seRatio: 0.25 },
      { block: 'ir', repeats: 1, kernelSize: 3, stride: 1, expandRatio: 6, outChannels: 320, seRatio: 0.25 },
    ],
    headChannels: 1280,
  },
  /** timm's efficientnetv2_rw_m: channel multiplier 1.2, depth 1.2 for stages 0-3 and 1.6 for 4-5. */
  efficientnetv2_rw_m: scaleArch(EFFICIENTNETV2_RW, 1.2, [1.2, 1.2, 1.2, 1.2, 1.6, 1.6]),
  /** The fixture's reduced variant: the same generator with multipliers 0.25 and 0.25. */
  efficientnetv2_rw_m_tiny: scaleArch(EFFICIENTNETV2_RW, 0.25, 0.25),
} satisfies Record<string, EfficientNetConfig>;

registerModel({
  name: 'efficientnet_b0',
  family: 'efficientnet',
  pretrainedCfg: {
    hfHubId: 'timm/efficientnet_b0.ra_in1k',
    inputSize: [3, 224, 224],
    interpolation: 'bicubic',
    cropPct: 0.875,
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    fixedInputSize: false,
    classifier: ['classifier'],
    numClasses: 1000,
  },
  create: (o) => new EfficientNet(EFFICIENTNET_CONFIGS.efficientnet_b0, o),
});

const EFFICIENTNETV2_RW_M_CFG: PretrainedCfg = {
  hfHubId: 'timm/efficientnetv2_rw_m.agc_in1k',
  inputSize: [3, 320, 320],
  interpolation: 'bicubic',
  cropPct: 1.0,
  mean: [...IMAGENET_MEAN],
  std: [...IMAGENET_STD],
  fixedInputSize: false,
  classifier: ['classifier'],
  numClasses: 1000,
};

registerModel({
  name: 'efficientnetv2_rw_m',
  family: 'efficientnet',
  pretrainedCfg: EFFICIENTNETV2_RW_M_CFG,
  create: (o) => new EfficientNet(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m, o),
});
registerModel({
  name: 'efficientnetv2_rw_m_tiny',
  family: 'efficientnet',
  testVariant: true,
  pretrainedCfg: { ...EFFICIENTNETV2_RW_M_CFG, hfHubId: '', numClasses: 10 },
  create: (o) => new EfficientNet(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m_tiny, o),
});
