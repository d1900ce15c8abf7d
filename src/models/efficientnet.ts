// EfficientNet (Tan & Le, 2019) as timm.models.efficientnet: a conv stem, stages of mobile
// inverted-residual blocks with squeeze-and-excitation, then a 1x1 conv head. SiLU throughout,
// BN eps 1e-5, symmetric PyTorch padding (not the tf_ variants' asymmetric 'same').
import * as nn from '../nn/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import { F, tidy, type Tensor } from '../torch/index.js';
import { Backbone, type NamedBlock } from './backbone.js';
import { activate_, BNAct, createClassifier, dropPath, globalAvgPool, symmetricPadding } from './layers.js';
import { registerModel } from './registry.js';

export interface StageConfig {
  /** 'ds': depthwise-separable block (no expansion); 'ir': inverted residual. */
  block: 'ds' | 'ir';
  repeats: number;
  kernelSize: number;
  /** Of the first block; the others have stride 1. */
  stride: number;
  expandRatio: number;
  outChannels: number;
}

export interface EfficientNetConfig {
  stemChannels: number;
  stages: readonly StageConfig[];
  headChannels: number;
  /** Squeeze-excitation width as a fraction of each block's input channels. */
  seRatio: number;
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
      se: new SqueezeExcite(inChannels, seChannels),
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
      se: new SqueezeExcite(midChannels, seChannels),
      conv_pwl: conv(midChannels, outChannels, 1),
      bn3: new BNAct(outChannels, null),
    }).map(([name, m]) => this.registerModule(name, m));
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
        const se = Math.round(channels * config.seRatio);
        blocks.push(
          s.block === 'ds'
            ? new DepthwiseSeparableConv(channels, s.outChannels, s.kernelSize, stride, se, dpr)
            : new InvertedResidual(channels, s.outChannels, s.kernelSize, stride, channels * s.expandRatio, se, dpr),
        );
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

  /** Stem conv and norm, each of the 16 blocks, head conv and norm. */
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

export const EFFICIENTNET_CONFIGS = {
  /** timm's efficientnet_b0 arch_def (ds_r1_k3_s1_e1_c16_se0.25, ir_r2_k3_s2_e6_c24_se0.25, ...). */
  efficientnet_b0: {
    stemChannels: 32,
    stages: [
      { block: 'ds', repeats: 1, kernelSize: 3, stride: 1, expandRatio: 1, outChannels: 16 },
      { block: 'ir', repeats: 2, kernelSize: 3, stride: 2, expandRatio: 6, outChannels: 24 },
      { block: 'ir', repeats: 2, kernelSize: 5, stride: 2, expandRatio: 6, outChannels: 40 },
      { block: 'ir', repeats: 3, kernelSize: 3, stride: 2, expandRatio: 6, outChannels: 80 },
      { block: 'ir', repeats: 3, kernelSize: 5, stride: 1, expandRatio: 6, outChannels: 112 },
      { block: 'ir', repeats: 4, kernelSize: 5, stride: 2, expandRatio: 6, outChannels: 192 },
      { block: 'ir', repeats: 1, kernelSize: 3, stride: 1, expandRatio: 6, outChannels: 320 },
    ],
    headChannels: 1280,
    seRatio: 0.25,
  },
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
