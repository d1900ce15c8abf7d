// VGG (Simonyan & Zisserman, 2014) as timm.models.vgg: stacks of 3x3 conv + ReLU with 2x2 max
// pools (`features`), then the original first two fully connected layers written as convolutions
// (`pre_logits`, timm's ConvMlp: a 7x7 conv and a 1x1 conv) so any input size works, then an
// average-pooling classifier (`head`).
import * as nn from '../nn/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import { F, tidy, type Tensor } from '../torch/index.js';
import { Backbone, type NamedBlock, type PretrainedCfg } from './backbone.js';
import { activate_, ClassifierHead, InPlaceAct } from './layers.js';
import { registerModel } from './registry.js';

export interface VggConfig {
  /** Conv widths in order; 'M' is a 2x2 max pool (timm's cfgs). */
  layers: readonly (number | 'M')[];
  /** Width of pre_logits (fc1 and fc2 outputs), 4096 in the real VGGs. */
  headHiddenSize: number;
  /** A 1x1-conv classifier instead of a Linear (only the fixture's tiny variant uses it). */
  headConv?: boolean;
}

export interface VggOptions {
  /** Default 1000 (ImageNet); 0 builds no classifier. */
  numClasses?: number;
  /** Dropout in pre_logits and before the classifier (training only). */
  dropRate?: number;
}

/** The input size fc1's 7x7 kernel was trained on; smaller maps are first pooled up to it. */
const FC1_KERNEL = 7;

/** timm's ConvMlp: fc1 (7x7 conv) -> ReLU -> dropout -> fc2 (1x1 conv) -> ReLU. */
class ConvMlp extends nn.Module {
  readonly fc1: nn.Conv2d;
  readonly fc2: nn.Conv2d;

  constructor(inChannels: number, hidden: number, readonly dropRate: number) {
    super();
    this.fc1 = this.registerModule('fc1', new nn.Conv2d(inChannels, hidden, FC1_KERNEL));
    this.fc2 = this.registerModule('fc2', new nn.Conv2d(hidden, hidden, 1));
  }

  override forward(x: Tensor): Tensor {
    const [h, w] = x.shape.slice(2) as [number, number];
    const input = h < FC1_KERNEL || w < FC1_KERNEL ? F.adaptiveAvgPool2d(x, [Math.max(FC1_KERNEL, h), Math.max(FC1_KERNEL, w)]) : x;
    const y = F.dropout(activate_(this.fc1.forward(input), 'relu'), this.dropRate, this.training);
    return activate_(this.fc2.forward(y), 'relu');
  }
}

export class VGG extends Backbone {
  readonly numFeatures: number;
  private readonly convChannels: number;
  readonly features: nn.Sequential;
  readonly pre_logits: ConvMlp;
  readonly head: ClassifierHead;

  constructor(config: VggConfig, options: VggOptions) {
    super();
    // Sequential indices count the ReLUs and pools, as timm's keys do (features.0, features.2, ...).
    const layers: nn.Module[] = [];
    let channels = 3;
    for (const v of config.layers) {
      if (v === 'M') {
        layers.push(new nn.MaxPool2d(2, { stride: 2 }));
      } else {
        layers.push(new nn.Conv2d(channels, v, 3, { padding: 1 }), new InPlaceAct('relu'));
        channels = v;
      }
    }
    this.features = this.registerModule('features', new nn.Sequential(...layers));
    const dropRate = options.dropRate ?? 0;
    this.pre_logits = this.registerModule('pre_logits', new ConvMlp(channels, config.headHiddenSize, dropRate));
    this.head = this.registerModule('head', new ClassifierHead(config.headHiddenSize, options.numClasses ?? 1000, { dropRate, useConv: config.headConv ?? false }));
    this.numFeatures = config.headHiddenSize;
    this.convChannels = channels;
    initWeights(this);
  }

  /** Channels of the last conv: the seed's Keras VGG16 (include_top=False) put its head here. */
  override get featureChannels(): number {
    return this.convChannels;
  }

  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => this.features.forward(x));
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return tidy(() => this.head.forward(this.pre_logits.forward(x), options));
  }

  resetClassifier(numClasses: number): void {
    this.head.reset(numClasses);
  }

  blocks(): NamedBlock[] {
    const convs = this.features.namedChildren().filter(([, m]) => m instanceof nn.Conv2d);
    return [...convs.map(([i, module]) => ({ name: `features.${i}`, module })), { name: 'pre_logits', module: this.pre_logits }];
  }

  /**
   * Accepts torchvision's names as well as timm's (timm's _filter_fn): classifier.0/3/6 become
   * pre_logits.fc1/fc2 and head.fc, the first two reshaped from Linear to conv weights. The
   * reshaped tensors are views of the originals.
   */
  override filterCheckpoint(sd: nn.StateDict): nn.StateDict {
    const own = this.stateDict();
    const renames: [string, string][] = [
      ['classifier.0.', 'pre_logits.fc1.'],
      ['classifier.3.', 'pre_logits.fc2.'],
      ['classifier.6.', 'head.fc.'],
    ];
    const out: nn.StateDict = new Map();
    for (const [key, value] of sd) {
      const rename = renames.find(([from]) => key.startsWith(from));
      if (!rename) {
        out.set(key, value);
        continue;
      }
      const name = rename[1] + key.slice(rename[0].length);
      const target = own.get(name)?.shape;
      const reshape = target && target.length !== value.ndim && target.reduce((a, b) => a * b, 1) === value.numel;
      out.set(name, reshape ? value.reshape(...target) : value);
    }
    return out;
  }
}

/** timm's VGG._initialize_weights: He-normal (fan_out) convs, N(0, 0.01) linears, zero biases. */
function initWeights(model: VGG): void {
  model.apply((m) => {
    if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
    else if (m instanceof nn.Linear) nn.init.normal_(m.weight, 0, 0.01);
    else return;
    if (m.bias) nn.init.zeros_(m.bias);
  });
}

function vggCfg(hfHubId: string, numClasses: number): PretrainedCfg {
  return {
    hfHubId,
    inputSize: [3, 224, 224],
    interpolation: 'bilinear',
    cropPct: 0.875,
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    fixedInputSize: false,
    classifier: ['head.fc'],
    numClasses,
  };
}

export const VGG_CONFIGS = {
  vgg16: { layers: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'], headHiddenSize: 4096 },
  // The fixture's reduced VGG (tools/make_timm_fixtures.py): same code path, narrow layers, conv head.
  vgg16_tiny: { layers: [8, 'M', 16, 'M', 16, 16, 'M', 32, 32, 'M', 32, 32, 'M'], headHiddenSize: 64, headConv: true },
} satisfies Record<string, VggConfig>;

registerModel({ name: 'vgg16', family: 'vgg', pretrainedCfg: vggCfg('timm/vgg16.tv_in1k', 1000), create: (o) => new VGG(VGG_CONFIGS.vgg16, o) });
registerModel({
  name: 'vgg16_tiny',
  family: 'vgg',
  testVariant: true,
  pretrainedCfg: vggCfg('', 10),
  create: (o) => new VGG(VGG_CONFIGS.vgg16_tiny, { ...o, numClasses: o.numClasses ?? 10 }),
});
