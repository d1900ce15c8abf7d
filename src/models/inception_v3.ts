// Inception v3 (Szegedy et al., 2015) as timm.models.inception_v3: a conv stem, then five kinds of
// Inception block that run parallel branches on the same input and concatenate them on channels.
// Every conv is a ConvNormAct (bias-free conv, BN with eps 1e-3, ReLU); padding is 0 unless given.
import * as nn from '../nn/index.js';
import { cat, F, tidy, type Tensor } from '../torch/index.js';
import { Backbone, type NamedBlock } from './backbone.js';
import { ConvNormAct, createClassifier, globalAvgPool } from './layers.js';
import { registerModel } from './registry.js';

/** Inception's conv: ConvNormAct with padding 0 by default and BN eps 1e-3. */
function conv(inChannels: number, outChannels: number, kernelSize: nn.Pair, options: { stride?: number; padding?: nn.Pair } = {}): ConvNormAct {
  return new ConvNormAct(inChannels, outChannels, kernelSize, { stride: options.stride ?? 1, padding: options.padding ?? 0, eps: 1e-3, act: 'relu' });
}

/** A 3x3, stride-1 average pool that divides by 9 at the borders too (count_include_pad). */
const avgPool3x3 = (x: Tensor): Tensor => F.avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: true });
const maxPool3x3s2 = (x: Tensor): Tensor => F.maxPool2d(x, 3, { stride: 2 });

/** Registers the convs under their timm names, in order, and returns them by name. */
function registerConvs<K extends string>(owner: nn.Module, convs: Record<K, ConvNormAct>): Record<K, ConvNormAct> {
  for (const [name, m] of Object.entries(convs)) owner.registerModule(name, m as ConvNormAct);
  return convs;
}

/** 35x35 block (Mixed_5b/c/d): 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avgpool -> 1x1. */
class InceptionA extends nn.Module {
  private readonly c;

  constructor(inChannels: number, poolFeatures: number) {
    super();
    this.c = registerConvs(this, {
      branch1x1: conv(inChannels, 64, 1),
      branch5x5_1: conv(inChannels, 48, 1),
      branch5x5_2: conv(48, 64, 5, { padding: 2 }),
      branch3x3dbl_1: conv(inChannels, 64, 1),
      branch3x3dbl_2: conv(64, 96, 3, { padding: 1 }),
      branch3x3dbl_3: conv(96, 96, 3, { padding: 1 }),
      branch_pool: conv(inChannels, poolFeatures, 1),
    });
  }

  override forward(x: Tensor): Tensor {
    const c = this.c;
    return tidy(() =>
      cat(
        [
          c.branch1x1.forward(x),
          nn.runSequential(x, [c.branch5x5_1, c.branch5x5_2]),
          nn.runSequential(x, [c.branch3x3dbl_1, c.branch3x3dbl_2, c.branch3x3dbl_3]),
          c.branch_pool.forward(avgPool3x3(x)),
        ],
        1,
      ),
    );
  }
}

/** 35 -> 17 reduction (Mixed_6a): 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | maxpool/2. */
class InceptionB extends nn.Module {
  private readonly c;

  constructor(inChannels: number) {
    super();
    this.c = registerConvs(this, {
      branch3x3: conv(inChannels, 384, 3, { stride: 2 }),
      branch3x3dbl_1: conv(inChannels, 64, 1),
      branch3x3dbl_2: conv(64, 96, 3, { padding: 1 }),
      branch3x3dbl_3: conv(96, 96, 3, { stride: 2 }),
    });
  }

  override forward(x: Tensor): Tensor {
    const c = this.c;
    return tidy(() => cat([c.branch3x3.forward(x), nn.runSequential(x, [c.branch3x3dbl_1, c.branch3x3dbl_2, c.branch3x3dbl_3]), maxPool3x3s2(x)], 1));
  }
}

/** 17x17 block (Mixed_6b..e) with factorised 7x7 convs: 1x1 | 1x7/7x1 | double 7x1/1x7 | avgpool -> 1x1. */
class InceptionC extends nn.Module {
  private readonly c;

  constructor(inChannels: number, c7: number) {
    super();
    const row = (i: number, o: number): ConvNormAct => conv(i, o, [1, 7], { padding: [0, 3] });
    const col = (i: number, o: number): ConvNormAct => conv(i, o, [7, 1], { padding: [3, 0] });
    this.c = registerConvs(this, {
      branch1x1: conv(inChannels, 192, 1),
      branch7x7_1: conv(inChannels, c7, 1),
      branch7x7_2: row(c7, c7),
      branch7x7_3: col(c7, 192),
      branch7x7dbl_1: conv(inChannels, c7, 1),
      branch7x7dbl_2: col(c7, c7),
      branch7x7dbl_3: row(c7, c7),
      branch7x7dbl_4: col(c7, c7),
      branch7x7dbl_5: row(c7, 192),
      branch_pool: conv(inChannels, 192, 1),
    });
  }

  override forward(x: Tensor): Tensor {
    const c = this.c;
    return tidy(() =>
      cat(
        [
          c.branch1x1.forward(x),
          nn.runSequential(x, [c.branch7x7_1, c.branch7x7_2, c.branch7x7_3]),
          nn.runSequential(x, [c.branch7x7dbl_1, c.branch7x7dbl_2, c.branch7x7dbl_3, c.branch7x7dbl_4, c.branch7x7dbl_5]),
          c.branch_pool.forward(avgPool3x3(x)),
        ],
        1,
      ),
    );
  }
}

/** 17 -> 8 reduction (Mixed_7a): 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | maxpool/2. */
class InceptionD extends nn.Module {
  private readonly c;

  constructor(inChannels: number) {
    super();
    this.c = registerConvs(this, {
      branch3x3_1: conv(inChannels, 192, 1),
      branch3x3_2: conv(192, 320, 3, { stride: 2 }),
      branch7x7x3_1: conv(inChannels, 192, 1),
      branch7x7x3_2: conv(192, 192, [1, 7], { padding: [0, 3] }),
      branch7x7x3_3: conv(192, 192, [7, 1], { padding: [3, 0] }),
      branch7x7x3_4: conv(192, 192, 3, { stride: 2 }),
    });
  }

  override forward(x: Tensor): Tensor {
    const c = this.c;
    return tidy(() =>
      cat(
        [
          nn.runSequential(x, [c.branch3x3_1, c.branch3x3_2]),
          nn.runSequential(x, [c.branch7x7x3_1, c.branch7x7x3_2, c.branch7x7x3_3, c.branch7x7x3_4]),
          maxPool3x3s2(x),
        ],
        1,
      ),
    );
  }
}

/** 8x8 block (Mixed_7b/c) whose 3x3 branches end in parallel 1x3 and 3x1 convs, concatenated. */
class InceptionE extends nn.Module {
  private readonly c;

  constructor(inChannels: number) {
    super();
    this.c = registerConvs(this, {
      branch1x1: conv(inChannels, 320, 1),
      branch3x3_1: conv(inChannels, 384, 1),
      branch3x3_2a: conv(384, 384, [1, 3], { padding: [0, 1] }),
      branch3x3_2b: conv(384, 384, [3, 1], { padding: [1, 0] }),
      branch3x3dbl_1: conv(inChannels, 448, 1),
      branch3x3dbl_2: conv(448, 384, 3, { padding: 1 }),
      branch3x3dbl_3a: conv(384, 384, [1, 3], { padding: [0, 1] }),
      branch3x3dbl_3b: conv(384, 384, [3, 1], { padding: [1, 0] }),
      branch_pool: conv(inChannels, 192, 1),
    });
  }

  override forward(x: Tensor): Tensor {
    const c = this.c;
    return tidy(() => {
      const b3 = c.branch3x3_1.forward(x);
      const bd = nn.runSequential(x, [c.branch3x3dbl_1, c.branch3x3dbl_2]);
      return cat(
        [
          c.branch1x1.forward(x),
          cat([c.branch3x3_2a.forward(b3), c.branch3x3_2b.forward(b3)], 1),
          cat([c.branch3x3dbl_3a.forward(bd), c.branch3x3dbl_3b.forward(bd)], 1),
          c.branch_pool.forward(avgPool3x3(x)),
        ],
        1,
      );
    });
  }
}

export interface InceptionV3Options {
  /** Default 1000 (ImageNet); 0 builds no classifier. */
  numClasses?: number;
  /** Dropout before the classifier (training only). */
  dropRate?: number;
}

export class InceptionV3 extends Backbone {
  readonly numFeatures = 2048;
  readonly dropRate: number;
  /** The stem convs, pools and Mixed blocks in forward order. */
  private readonly body: nn.Module[];
  private fc: nn.Module;

  constructor(options: InceptionV3Options) {
    super();
    this.dropRate = options.dropRate ?? 0;
    // Registration order is timm's key order; the pools hold no keys but keep timm's names.
    const body: Record<string, nn.Module> = {
      Conv2d_1a_3x3: conv(3, 32, 3, { stride: 2 }),
      Conv2d_2a_3x3: conv(32, 32, 3),
      Conv2d_2b_3x3: conv(32, 64, 3, { padding: 1 }),
      Pool1: new nn.MaxPool2d(3, { stride: 2 }),
      Conv2d_3b_1x1: conv(64, 80, 1),
      Conv2d_4a_3x3: conv(80, 192, 3),
      Pool2: new nn.MaxPool2d(3, { stride: 2 }),
      Mixed_5b: new InceptionA(192, 32),
      Mixed_5c: new InceptionA(256, 64),
      Mixed_5d: new InceptionA(288, 64),
      Mixed_6a: new InceptionB(288),
      Mixed_6b: new InceptionC(768, 128),
      Mixed_6c: new InceptionC(768, 160),
      Mixed_6d: new InceptionC(768, 160),
      Mixed_6e: new InceptionC(768, 192),
      Mixed_7a: new InceptionD(768),
      Mixed_7b: new InceptionE(1280),
      Mixed_7c: new InceptionE(2048),
    };
    for (const [name, m] of Object.entries(body)) this.registerModule(name, m);
    this.body = Object.values(body);
    this.fc = this.registerModule('fc', createClassifier(this.numFeatures, options.numClasses ?? 1000));
    initWeights(this);
  }

  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => nn.runSequential(x, this.body));
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return tidy(() => {
      const pooled = F.dropout(globalAvgPool(x), this.dropRate, this.training);
      return options.preLogits ? pooled : this.fc.forward(pooled);
    });
  }

  resetClassifier(numClasses: number): void {
    this.fc.dispose();
    this.fc = this.registerModule('fc', createClassifier(this.numFeatures, numClasses));
  }

  blocks(): NamedBlock[] {
    return this.namedChildren()
      .filter(([name]) => name !== 'fc' && !name.startsWith('Pool'))
      .map(([name, module]) => ({ name, module }));
  }

  /** torchvision's checkpoint (the tv_in1k tag) carries the auxiliary classifier; timm ignores it. */
  override filterCheckpoint(sd: nn.StateDict): nn.StateDict {
    return new Map([...sd].filter(([key]) => !key.startsWith('AuxLogits.')));
  }
}

/** timm's InceptionV3 init: truncated-normal (std 0.1) conv and linear weights. */
function initWeights(model: InceptionV3): void {
  model.apply((m) => {
    if (m instanceof nn.Conv2d || m instanceof nn.Linear) nn.init.truncNormal_(m.weight, 0, 0.1);
  });
}

registerModel({
  name: 'inception_v3',
  inputSizes: { min: 75 },
  family: 'inception_v3',
  pretrainedCfg: {
    hfHubId: 'timm/inception_v3.tv_in1k',
    inputSize: [3, 299, 299],
    interpolation: 'bicubic',
    cropPct: 0.875,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    fixedInputSize: false,
    classifier: ['fc'],
    numClasses: 1000,
  },
  create: (o) => new InceptionV3(o),
});
