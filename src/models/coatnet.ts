// CoAtNet as timm's MaxxVit builds coatnet_0_rw_224 (maxxvit.py, model_cfgs['coatnet_0_rw']): a
// conv stem, two stages of MBConv blocks ('C'), then two stages of transformer blocks ('T') that
// attend over the whole feature map with a relative-position bias, all NCHW. The 'rw' variant's
// quirks are fixed here, not configurable: an activation after the MBConv pre-norm, expansion
// from the input width, bias-free MBConv output and shortcut convs, SE with ReLU before norm2,
// 2x2 average pooling for every downsample, and a bias-free transformer shortcut conv. The ops
// and their order follow timm's non-fused attention path, so checkpoints give the same numbers.
import * as nn from '../nn/index.js';
import * as torch from '../torch/index.js';
import { F, type Tensor } from '../torch/index.js';
import { invalidParameterError } from '../util/check.js';
import { Backbone, type NamedBlock, type PretrainedCfg } from './backbone.js';
import { BNAct, ClassifierHead, LayerNorm2d, makeDivisible } from './layers.js';
import { registerModel } from './registry.js';

export interface CoatNetConfig {
  /** Output width of each stage. */
  embedDim: number[];
  /** Blocks per stage; the first block of each stage halves the resolution. */
  depths: number[];
  /** 'C' MBConv or 'T' transformer, per stage. */
  blockTypes: ('C' | 'T')[];
  /** Widths of the stem's two convs. */
  stemWidth: [number, number];
  /** Channels per attention head. */
  dimHead: number;
  /** The input size the relative-position tables are built for. */
  imgSize: number;
}

/** timm's Downsample2d with 'avg2' pooling: a 2x2 average pool, then a 1x1 conv `expand` if the width changes. */
class Downsample2d extends nn.Module {
  readonly expand: nn.Conv2d | undefined;

  constructor(dim: number, dimOut: number, options: { bias?: boolean } = {}) {
    super();
    this.expand = dim === dimOut ? undefined : this.registerModule('expand', new nn.Conv2d(dim, dimOut, 1, { bias: options.bias ?? true }));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const pooled = F.avgPool2d(x, 2);
      return this.expand ? this.expand.forward(pooled) : pooled;
    });
  }
}

/** conv1 (stride 2) -> norm1 (BN + SiLU) -> conv2; nothing after conv2. */
class Stem extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly norm1: BNAct;
  readonly conv2: nn.Conv2d;

  constructor(inChs: number, [mid, out]: [number, number]) {
    super();
    this.conv1 = this.registerModule('conv1', new nn.Conv2d(inChs, mid, 3, { stride: 2, padding: 1, bias: false }));
    this.norm1 = this.registerModule('norm1', new BNAct(mid, 'silu'));
    this.conv2 = this.registerModule('conv2', new nn.Conv2d(mid, out, 3, { padding: 1, bias: false }));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.conv2.forward(this.norm1.forward(this.conv1.forward(x))));
  }
}

/** timm's SEModule: x · sigmoid(fc2(relu(fc1(mean over H, W)))). */
class SEModule extends nn.Module {
  readonly fc1: nn.Conv2d;
  readonly fc2: nn.Conv2d;

  constructor(channels: number, rdChannels: number) {
    super();
    this.fc1 = this.registerModule('fc1', new nn.Conv2d(channels, rdChannels, 1));
    this.fc2 = this.registerModule('fc2', new nn.Conv2d(rdChannels, channels, 1));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => x.mul(F.sigmoid(this.fc2.forward(F.relu(this.fc1.forward(x.mean([2, 3], true)))))));
  }
}

/**
 * MBConv ('C'): pre-norm, then 1x1 expand -> depthwise 3x3 -> SE -> 1x1 project, added to the
 * shortcut. A stride-2 block pools both paths (stride by pooling, timm's stride_mode 'pool').
 */
class MbConvBlock extends nn.Module {
  readonly shortcut: Downsample2d | nn.Identity;
  readonly preNorm: BNAct;
  readonly down: Downsample2d | nn.Identity;
  readonly conv1: nn.Conv2d;
  readonly norm1: BNAct;
  readonly conv2: nn.Conv2d;
  readonly seEarly: SEModule;
  readonly norm2: BNAct;
  readonly conv3: nn.Conv2d;

  constructor(inChs: number, outChs: number, stride: 1 | 2) {
    super();
    const mid = makeDivisible(4 * inChs);
    this.shortcut = this.registerModule('shortcut', stride === 2 ? new Downsample2d(inChs, outChs, { bias: false }) : new nn.Identity());
    this.preNorm = this.registerModule('pre_norm', new BNAct(inChs, 'silu'));
    this.down = this.registerModule('down', stride === 2 ? new Downsample2d(inChs, inChs) : new nn.Identity());
    this.conv1 = this.registerModule('conv1_1x1', new nn.Conv2d(inChs, mid, 1, { bias: false }));
    this.norm1 = this.registerModule('norm1', new BNAct(mid, 'silu'));
    this.conv2 = this.registerModule('conv2_kxk', new nn.Conv2d(mid, mid, 3, { padding: 1, groups: mid, bias: false }));
    this.seEarly = this.registerModule('se_early', new SEModule(mid, Math.trunc(0.25 * mid)));
    this.norm2 = this.registerModule('norm2', new BNAct(mid, 'silu'));
    this.conv3 = this.registerModule('conv3_1x1', new nn.Conv2d(mid, outChs, 1, { bias: false }));
    initConvs(this);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const shortcut = this.shortcut.forward(x);
      const expanded = this.norm1.forward(this.conv1.forward(this.down.forward(this.preNorm.forward(x))));
      const mixed = this.norm2.forward(this.seEarly.forward(this.conv2.forward(expanded)));
      return this.conv3.forward(mixed).add(shortcut);
    });
  }
}

/**
 * relative_position_index for an H×W window, tokens row-major: the row of the bias table for
 * query (i, j) and key (k, l) is (i − k + H − 1)·(2W − 1) + (j − l + W − 1).
 */
function relativePositionIndex(h: number, w: number): Tensor {
  const idx = new BigInt64Array((h * w) ** 2);
  let n = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let k = 0; k < h; k++) {
        for (let l = 0; l < w; l++) idx[n++] = BigInt((i - k + h - 1) * (2 * w - 1) + (j - l + w - 1));
      }
    }
  }
  return torch.tensor(idx);
}

/** timm's RelPosBias: adds a learned per-head bias for each query-key offset to the attention scores. */
class RelPosBias extends nn.Module {
  readonly numHeads: number;
  readonly tokens: number;
  readonly table: Tensor;
  readonly index: Tensor;

  constructor([h, w]: [number, number], numHeads: number) {
    super();
    this.numHeads = numHeads;
    this.tokens = h * w;
    this.table = this.registerParameter('relative_position_bias_table', torch.zeros([(2 * h - 1) * (2 * w - 1), numHeads]));
    this.index = this.registerBuffer('relative_position_index', relativePositionIndex(h, w), { persistent: false });
    nn.init.truncNormal_(this.table, 0, 0.02);
  }

  override forward(scores: Tensor): Tensor {
    return torch.tidy(() => {
      const bias = this.table.indexSelect(0, this.index).view(this.tokens, this.tokens, this.numHeads).permute(2, 0, 1).unsqueeze(0).contiguous();
      return scores.add(bias);
    });
  }
}

/**
 * timm's Attention2d (head_first, expand_first=False): multi-head self-attention on an NCHW map,
 * width dim with heads of dimHead; `qkv` packs each head's [q | k | v] channels and `proj` maps to
 * dimOut.
 */
class Attention2d extends nn.Module {
  readonly numHeads: number;
  readonly dimHead: number;
  readonly scale: number;
  readonly qkv: nn.Conv2d;
  readonly relPos: RelPosBias;
  readonly proj: nn.Conv2d;

  constructor(dim: number, dimOut: number, dimHead: number, window: [number, number]) {
    super();
    this.numHeads = Math.floor(dim / dimHead);
    this.dimHead = dimHead;
    this.scale = dimHead ** -0.5;
    this.qkv = this.registerModule('qkv', new nn.Conv2d(dim, 3 * dim, 1));
    this.relPos = this.registerModule('rel_pos', new RelPosBias(window, this.numHeads));
    this.proj = this.registerModule('proj', new nn.Conv2d(dim, dimOut, 1));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, , h, w] = x.shape as [number, number, number, number];
      const [q, k, v] = this.qkv.forward(x).reshape(b, this.numHeads, 3 * this.dimHead, h * w).chunk(3, 2) as [Tensor, Tensor, Tensor];
      // timm scales q before the matmul (LeViT scales the product).
      const scores = q.mul(this.scale).transpose(-2, -1).matmul(k);
      const attn = F.softmax(this.relPos.forward(scores), -1);
      return this.proj.forward(v.matmul(attn.transpose(-2, -1)).reshape(b, -1, h, w));
    });
  }
}

/** timm's ConvMlp: 1x1 conv -> GELU (exact) -> 1x1 conv. */
class ConvMlp extends nn.Module {
  readonly fc1: nn.Conv2d;
  readonly fc2: nn.Conv2d;

  constructor(dim: number, hidden: number) {
    super();
    this.fc1 = this.registerModule('fc1', new nn.Conv2d(dim, hidden, 1));
    this.fc2 = this.registerModule('fc2', new nn.Conv2d(hidden, dim, 1));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.fc2.forward(F.gelu(this.fc1.forward(x))));
  }
}

/**
 * Transformer block ('T', timm's TransformerBlock2d): x = shortcut(x) + attn(norm1(x)), then
 * x + mlp(norm2(x)). A stride-2 block pools after norm1 (so norm1's keys gain `.norm`) and pools
 * and widens the shortcut.
 */
class TransformerBlock2d extends nn.Module {
  readonly shortcut: Downsample2d | nn.Identity;
  readonly norm1: nn.Module;
  readonly attn: Attention2d;
  readonly norm2: LayerNorm2d;
  readonly mlp: ConvMlp;

  constructor(dim: number, dimOut: number, stride: 1 | 2, dimHead: number, window: [number, number]) {
    super();
    if (stride === 1 && dim !== dimOut) throw invalidParameterError('TransformerBlock2d.dimOut', `dim (${dim}): a stride-1 block keeps the width`, dimOut);
    this.shortcut = this.registerModule('shortcut', stride === 2 ? new Downsample2d(dim, dimOut, { bias: false }) : new nn.Identity());
    const norm = new LayerNorm2d(dim, { eps: 1e-6 });
    this.norm1 = this.registerModule('norm1', stride === 2 ? new nn.Sequential({ norm, down: new Downsample2d(dim, dim) }) : norm);
    this.attn = this.registerModule('attn', new Attention2d(dim, dimOut, dimHead, window));
    this.norm2 = this.registerModule('norm2', new LayerNorm2d(dimOut, { eps: 1e-6 }));
    this.mlp = this.registerModule('mlp', new ConvMlp(dimOut, 4 * dimOut));
    initTransformer(this);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.shortcut.forward(x).add(this.attn.forward(this.norm1.forward(x)));
      return y.add(this.mlp.forward(this.norm2.forward(y)));
    });
  }
}

/** timm's 'vit_eff' init of conv parts: EfficientNet-style N(0, 2 / fan_out) weights, zero biases. */
function initConvs(m: nn.Module): void {
  for (const [, c] of m.namedModules()) {
    if (!(c instanceof nn.Conv2d)) continue;
    const fanOut = Math.floor((c.kernelSize[0] * c.kernelSize[1] * c.outChannels) / c.groups);
    nn.init.normal_(c.weight, 0, Math.sqrt(2 / fanOut));
    if (c.bias) nn.init.zeros_(c.bias);
  }
}

/** timm's 'vit_eff' init of transformer blocks: Xavier-uniform weights, MLP biases N(0, 1e-6²), other biases zero. */
function initTransformer(m: nn.Module): void {
  for (const [name, c] of m.namedModules()) {
    if (!(c instanceof nn.Conv2d)) continue;
    nn.init.xavierUniform_(c.weight);
    if (c.bias && name.includes('mlp')) nn.init.normal_(c.bias, 0, 1e-6);
    else if (c.bias) nn.init.zeros_(c.bias);
  }
}

/** CoAtNet: timm's MaxxVit with C and T blocks in the 'rw' configuration. */
export class CoAtNet extends Backbone {
  readonly numFeatures: number;
  readonly cfg: CoatNetConfig;
  readonly stem: Stem;
  /** Each stage is timm's MaxxVitStage, which holds only `blocks`. */
  readonly stages: nn.Sequential;
  readonly norm: LayerNorm2d;
  readonly head: ClassifierHead;

  constructor(cfg: CoatNetConfig, numClasses: number) {
    super();
    this.cfg = cfg;
    this.numFeatures = cfg.embedDim.at(-1)!;
    this.stem = this.registerModule('stem', new Stem(3, cfg.stemWidth));
    initConvs(this.stem);
    let size = cfg.imgSize / 2; // after the stem
    let inChs = cfg.stemWidth[1];
    const stages = cfg.embedDim.map((outChs, s) => {
      size = Math.floor((size - 1) / 2) + 1; // the stage's output size: the attention window
      const blocks = Array.from({ length: cfg.depths[s]! }, (_, b) => {
        const stride = b === 0 ? 2 : 1;
        const block = cfg.blockTypes[s] === 'C' ? new MbConvBlock(inChs, outChs, stride) : new TransformerBlock2d(inChs, outChs, stride, cfg.dimHead, [size, size]);
        inChs = outChs;
        return block;
      });
      return new nn.Sequential({ blocks: new nn.Sequential(...blocks) });
    });
    this.stages = this.registerModule('stages', new nn.Sequential(...stages));
    this.norm = this.registerModule('norm', new LayerNorm2d(this.numFeatures, { eps: 1e-6 }));
    this.head = this.registerModule('head', new ClassifierHead(this.numFeatures, numClasses));
  }

  resetClassifier(numClasses: number): void {
    this.head.reset(numClasses);
  }

  /** [B, 3, 224, 224] -> [B, C, 7, 7], after the final LayerNorm2d. */
  forwardFeatures(x: Tensor): Tensor {
    return torch.tidy(() => this.norm.forward(this.stages.forward(this.stem.forward(x))));
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return torch.tidy(() => this.head.forward(x, options));
  }

  /** stem, every block of every stage, then the final norm. */
  blocks(): NamedBlock[] {
    const out: NamedBlock[] = [{ name: 'stem', module: this.stem }];
    [...this.stages].forEach((stage, s) => {
      [...((stage as nn.Sequential).get(0) as nn.Sequential)].forEach((module, b) => out.push({ name: `stages.${s}.blocks.${b}`, module }));
    });
    out.push({ name: 'norm', module: this.norm });
    return out;
  }
}

const coatnet0rw: CoatNetConfig = { embedDim: [96, 192, 384, 768], depths: [2, 3, 7, 2], blockTypes: ['C', 'C', 'T', 'T'], stemWidth: [32, 64], dimHead: 32, imgSize: 224 };

const coatnet0rwCfg: PretrainedCfg = {
  hfHubId: 'timm/coatnet_0_rw_224.sw_in1k',
  inputSize: [3, 224, 224],
  interpolation: 'bicubic',
  cropPct: 0.95,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  fixedInputSize: true,
  classifier: ['head.fc'],
  numClasses: 1000,
};

registerModel({ name: 'coatnet_0_rw_224', inputSizes: { min: 64, multipleOf: 32 }, family: 'coatnet', pretrainedCfg: coatnet0rwCfg, create: ({ numClasses = 1000, imgSize = coatnet0rw.imgSize }) => new CoAtNet({ ...coatnet0rw, imgSize }, numClasses) });

// The reduced-width fixture model (shared/fixtures/timm/coatnet_0_rw_tiny): same code, no hub weights.
registerModel({
  name: 'coatnet_0_rw_tiny',
  inputSizes: { min: 64, multipleOf: 32 },
  family: 'coatnet',
  testVariant: true,
  pretrainedCfg: { ...coatnet0rwCfg, hfHubId: '', numClasses: 10 },
  create: ({ numClasses = 10, imgSize = coatnet0rw.imgSize }) => new CoAtNet({ ...coatnet0rw, imgSize, embedDim: [16, 32, 64, 128], depths: [1, 1, 1, 1], stemWidth: [8, 16], dimHead: 16 }, numClasses),
});
