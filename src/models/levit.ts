// LeViT (timm levit.py, LevitDistilled with use_conv=False): a 16x conv stem, then attention
// stages over channels-last tokens [B, N, C], in which every projection is Linear + BatchNorm1d.
// Each attention head adds a learned bias indexed by the query-key offset on the token grid, which
// ties the model to its input size. The ops and their order follow timm so checkpoints give the
// same numbers.
import * as nn from '../nn/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import * as torch from '../torch/index.js';
import { F, type Tensor } from '../torch/index.js';
import { Backbone, type NamedBlock, type PretrainedCfg } from './backbone.js';
import { registerModel } from './registry.js';

export interface LevitConfig {
  /** Token width of each stage. */
  embedDim: number[];
  /** Width of each attention head's queries and keys. */
  keyDim: number;
  numHeads: number[];
  depth: number[];
  /** Value width as a multiple of keyDim (the downsampling attentions always use 4). */
  attnRatio: number;
  mlpRatio: number;
  imgSize: number;
}

/** Conv (no bias) + BatchNorm2d; the stem's layers. Keys `linear.weight`, `bn.*`. */
class ConvNorm extends nn.Module {
  readonly linear: nn.Conv2d;
  readonly bn: nn.BatchNorm2d;

  constructor(inChs: number, outChs: number) {
    super();
    this.linear = this.registerModule('linear', new nn.Conv2d(inChs, outChs, 3, { stride: 2, padding: 1, bias: false }));
    this.bn = this.registerModule('bn', new nn.BatchNorm2d(outChs));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.bn.forward(this.linear.forward(x)));
  }
}

/** Linear (no bias) on [B, N, in], then BatchNorm1d over all B·N tokens. */
class LinearNorm extends nn.Module {
  readonly linear: nn.Linear;
  readonly bn: nn.BatchNorm1d;

  /** bnWeightInit 0 makes a residual branch start as the identity (timm's choice for outputs). */
  constructor(inFeatures: number, outFeatures: number, bnWeightInit = 1) {
    super();
    this.linear = this.registerModule('linear', new nn.Linear(inFeatures, outFeatures, { bias: false }));
    this.bn = this.registerModule('bn', new nn.BatchNorm1d(outFeatures));
    nn.init.constant_(this.bn.weight!, bnWeightInit);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.linear.forward(x);
      return this.bn.forward(y.flatten(0, 1)).reshape(...y.shape);
    });
  }
}

/** BatchNorm1d then Linear: a classifier head (`head`, `head_dist`). */
class NormLinear extends nn.Module {
  readonly bn: nn.BatchNorm1d;
  readonly linear: nn.Linear;

  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.bn = this.registerModule('bn', new nn.BatchNorm1d(inFeatures));
    this.linear = this.registerModule('linear', new nn.Linear(inFeatures, outFeatures));
    nn.init.truncNormal_(this.linear.weight, 0, 0.02);
    nn.init.zeros_(this.linear.bias!);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.linear.forward(this.bn.forward(x)));
  }
}

/** Four stride-2 ConvNorms, 3 -> C/8 -> C/4 -> C/2 -> C: 224 -> 14. */
class Stem16 extends nn.Module {
  readonly convs: ConvNorm[];

  constructor(inChs: number, outChs: number) {
    super();
    const widths = [inChs, outChs / 8, outChs / 4, outChs / 2, outChs];
    this.convs = widths.slice(1).map((w, i) => this.registerModule(`conv${i + 1}`, new ConvNorm(widths[i]!, w)));
  }

  override forward(x: Tensor): Tensor {
    // Hardswish between the convs (timm's act1..act3), none after the last.
    return torch.tidy(() => this.convs.slice(1).reduce((h, conv) => conv.forward(F.hardswish(h)), this.convs[0]!.forward(x)));
  }
}

/**
 * attention_bias_idxs: for queries on every `stride`-th row and column of an R×R token grid and
 * keys on all of it, the index |Δrow|·R + |Δcol| into a head's R² learned biases.
 */
function attentionBiasIdxs(resolution: number, stride: number): Tensor {
  const queries = Math.ceil(resolution / stride);
  const idx = new BigInt64Array(queries * queries * resolution * resolution);
  let n = 0;
  for (let qi = 0; qi < resolution; qi += stride) {
    for (let qj = 0; qj < resolution; qj += stride) {
      for (let ki = 0; ki < resolution; ki++) {
        for (let kj = 0; kj < resolution; kj++) idx[n++] = BigInt(Math.abs(qi - ki) * resolution + Math.abs(qj - kj));
      }
    }
  }
  return torch.tensor(idx, [queries * queries, resolution * resolution]);
}

/**
 * What Attention and AttentionDownsample share: `attention_biases` [heads, R²] (trained) and the
 * index that spreads it over query-key pairs (computed, so not in the state dict), and
 * softmax(q kᵀ · scale + bias) v with timm's order of operations.
 */
abstract class BiasedAttention extends nn.Module {
  readonly numHeads: number;
  readonly keyDim: number;
  readonly valDim: number;
  readonly scale: number;
  readonly attentionBiases: Tensor;
  readonly attentionBiasIdxs: Tensor;
  readonly proj: nn.Sequential;

  constructor(o: { keyDim: number; numHeads: number; attnRatio: number; resolution: number; stride: number; outDim: number }) {
    super();
    this.numHeads = o.numHeads;
    this.keyDim = o.keyDim;
    this.valDim = Math.trunc(o.attnRatio * o.keyDim);
    this.scale = o.keyDim ** -0.5;
    this.attentionBiases = this.registerParameter('attention_biases', torch.zeros([o.numHeads, o.resolution ** 2]));
    this.attentionBiasIdxs = this.registerBuffer('attention_bias_idxs', attentionBiasIdxs(o.resolution, o.stride), { persistent: false });
    // Hardswish on the attention output, then the projection back to the token width; the
    // subclass registers it after its input projections, keeping timm's state-dict order.
    this.proj = new nn.Sequential({ act: new nn.Hardswish(), ln: new LinearNorm(this.valDim * o.numHeads, o.outDim, 0) });
  }

  /**
   * q [B, h, Nq, kd], k [B, h, N, kd], v [B, h, N, vd] -> [B, Nq, h·vd] (head h owns channels
   * [h·vd, (h+1)·vd)), then projected.
   */
  protected attend(q: Tensor, k: Tensor, v: Tensor): Tensor {
    const [queries, keys] = this.attentionBiasIdxs.shape as [number, number];
    const bias = this.attentionBiases.indexSelect(1, this.attentionBiasIdxs.flatten()).view(this.numHeads, queries, keys);
    // (q kᵀ)·scale + bias, softmax, @ v: the product is scaled, as timm's LeViT does.
    const out = F.scaledDotProductAttention(q, k, v, { scale: this.scale, bias });
    return this.proj.forward(out.transpose(1, 2).reshape(q.size(0), queries, this.numHeads * this.valDim));
  }
}

/** Self-attention over an R×R token grid; `qkv` packs each head's [q | k | v]. */
class Attention extends BiasedAttention {
  readonly qkv: LinearNorm;

  constructor(dim: number, keyDim: number, numHeads: number, attnRatio: number, resolution: number) {
    super({ keyDim, numHeads, attnRatio, resolution, stride: 1, outDim: dim });
    this.qkv = this.registerModule('qkv', new LinearNorm(dim, numHeads * (2 * keyDim + this.valDim)));
    this.registerModule('proj', this.proj);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, n] = x.shape as [number, number];
      const [q, k, v] = this.qkv.forward(x).view(b, n, this.numHeads, -1).split([this.keyDim, this.keyDim, this.valDim], 3).map((t) => t.permute(0, 2, 1, 3));
      return this.attend(q!, k!, v!);
    });
  }
}

/** timm's Downsample (subsample mode): keeps every second row and column of the token grid. */
class Subsample extends nn.Module {
  constructor(readonly resolution: number) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, , c] = x.shape as [number, number, number];
      return x.reshape(b, this.resolution, this.resolution, c).slice(1, 0, undefined, 2).slice(2, 0, undefined, 2).reshape(b, -1, c);
    });
  }
}

/**
 * Attention from the subsampled grid (queries) to the full grid (keys, values): halves the
 * resolution and changes the width. `kv` packs each head's [k | v].
 */
class AttentionDownsample extends BiasedAttention {
  readonly kv: LinearNorm;
  readonly q: nn.Sequential;

  constructor(inDim: number, outDim: number, keyDim: number, numHeads: number, resolution: number) {
    super({ keyDim, numHeads, attnRatio: 4, resolution, stride: 2, outDim });
    this.kv = this.registerModule('kv', new LinearNorm(inDim, numHeads * (keyDim + this.valDim)));
    this.q = this.registerModule('q', new nn.Sequential({ down: new Subsample(resolution), ln: new LinearNorm(inDim, numHeads * keyDim) }));
    this.registerModule('proj', this.proj);
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [b, n] = x.shape as [number, number];
      const [k, v] = this.kv.forward(x).view(b, n, this.numHeads, -1).split([this.keyDim, this.valDim], 3).map((t) => t.permute(0, 2, 1, 3));
      const q = this.q.forward(x).view(b, -1, this.numHeads, this.keyDim).permute(0, 2, 1, 3);
      return this.attend(q, k!, v!);
    });
  }
}

/** ln1 (C -> hidden) -> Hardswish -> ln2 (hidden -> C). */
class LevitMlp extends nn.Module {
  readonly ln1: LinearNorm;
  readonly ln2: LinearNorm;

  constructor(dim: number, hidden: number) {
    super();
    this.ln1 = this.registerModule('ln1', new LinearNorm(dim, hidden));
    this.ln2 = this.registerModule('ln2', new LinearNorm(hidden, dim, 0));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.ln2.forward(F.hardswish(this.ln1.forward(x))));
  }
}

/** x + attn(x), then x + mlp(x). */
class LevitBlock extends nn.Module {
  readonly attn: Attention;
  readonly mlp: LevitMlp;

  constructor(dim: number, keyDim: number, numHeads: number, attnRatio: number, mlpRatio: number, resolution: number) {
    super();
    this.attn = this.registerModule('attn', new Attention(dim, keyDim, numHeads, attnRatio, resolution));
    this.mlp = this.registerModule('mlp', new LevitMlp(dim, Math.trunc(dim * mlpRatio)));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = x.add(this.attn.forward(x));
      return y.add(this.mlp.forward(y));
    });
  }
}

/** A stage's entry: attention downsampling (no residual, the shapes change), then x + mlp(x). */
class LevitDownsample extends nn.Module {
  readonly attnDownsample: AttentionDownsample;
  readonly mlp: LevitMlp;

  constructor(inDim: number, outDim: number, keyDim: number, resolution: number) {
    super();
    this.attnDownsample = this.registerModule('attn_downsample', new AttentionDownsample(inDim, outDim, keyDim, Math.floor(inDim / keyDim), resolution));
    this.mlp = this.registerModule('mlp', new LevitMlp(outDim, 2 * outDim));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.attnDownsample.forward(x);
      return y.add(this.mlp.forward(y));
    });
  }
}

class LevitStage extends nn.Module {
  readonly downsample: LevitDownsample | nn.Identity;
  readonly blocks: nn.Sequential;

  constructor(o: { inDim: number; outDim: number; keyDim: number; depth: number; numHeads: number; attnRatio: number; mlpRatio: number; resolution: number; downsample: boolean }) {
    super();
    this.downsample = this.registerModule('downsample', o.downsample ? new LevitDownsample(o.inDim, o.outDim, o.keyDim, o.resolution) : new nn.Identity());
    const resolution = o.downsample ? Math.floor((o.resolution - 1) / 2) + 1 : o.resolution;
    const blocks = Array.from({ length: o.depth }, () => new LevitBlock(o.outDim, o.keyDim, o.numHeads, o.attnRatio, o.mlpRatio, resolution));
    this.blocks = this.registerModule('blocks', new nn.Sequential(...blocks));
  }

  override forward(x: Tensor): Tensor {
    return torch.tidy(() => this.blocks.forward(this.downsample.forward(x)));
  }
}

/**
 * LeViT with a distillation head, as timm builds levit_192. forwardHead averages `head` and
 * `head_dist` in train mode as well as in eval (timm returns both only when distilled_training is
 * set, which needs a teacher; fine-tuning without one trains the average).
 */
export class Levit extends Backbone {
  readonly numFeatures: number;
  readonly cfg: LevitConfig;
  readonly stem: Stem16;
  readonly stages: nn.Sequential;
  head!: NormLinear | nn.Identity;
  headDist!: NormLinear | nn.Identity;

  constructor(cfg: LevitConfig, numClasses: number) {
    super();
    this.cfg = cfg;
    this.numFeatures = cfg.embedDim.at(-1)!;
    this.stem = this.registerModule('stem', new Stem16(3, cfg.embedDim[0]!));
    let resolution = cfg.imgSize / 16;
    const stages: LevitStage[] = cfg.embedDim.map((outDim, i) => {
      const stage = new LevitStage({
        inDim: cfg.embedDim[Math.max(i - 1, 0)]!,
        outDim,
        keyDim: cfg.keyDim,
        depth: cfg.depth[i]!,
        numHeads: cfg.numHeads[i]!,
        attnRatio: cfg.attnRatio,
        mlpRatio: cfg.mlpRatio,
        resolution,
        downsample: i > 0,
      });
      if (i > 0) resolution = Math.floor((resolution - 1) / 2) + 1;
      return stage;
    });
    this.stages = this.registerModule('stages', new nn.Sequential(...stages));
    this.resetClassifier(numClasses);
  }

  /** Replaces both heads (numClasses 0: Identity, so logits equal pre-logits). */
  resetClassifier(numClasses: number): void {
    const make = (): NormLinear | nn.Identity => (numClasses > 0 ? new NormLinear(this.numFeatures, numClasses) : new nn.Identity());
    this.head?.dispose();
    this.headDist?.dispose();
    this.head = this.registerModule('head', make());
    this.headDist = this.registerModule('head_dist', make());
  }

  /** [B, 3, 224, 224] -> tokens [B, N, C] (N = 16 at 224), channels last. */
  forwardFeatures(x: Tensor): Tensor {
    return torch.tidy(() => this.stages.forward(this.stem.forward(x).flatten(2).transpose(1, 2)));
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return torch.tidy(() => {
      const pooled = x.mean(1);
      if (options.preLogits) return pooled;
      return this.head.forward(pooled).add(this.headDist.forward(pooled)).div(2);
    });
  }

  blocks(): NamedBlock[] {
    const out: NamedBlock[] = [{ name: 'stem', module: this.stem }];
    [...this.stages].forEach((stage, s) => {
      const { downsample, blocks } = stage as LevitStage;
      if (downsample instanceof LevitDownsample) out.push({ name: `stages.${s}.downsample`, module: downsample });
      [...blocks].forEach((module, b) => out.push({ name: `stages.${s}.blocks.${b}`, module }));
    });
    return out;
  }

  /** Hub files may carry the computed attention_bias_idxs buffers; they are not ours to load. */
  override filterCheckpoint(sd: nn.StateDict): nn.StateDict {
    return new Map([...sd].filter(([key]) => !key.includes('attention_bias_idxs')));
  }
}

const levit192: LevitConfig = { embedDim: [192, 288, 384], keyDim: 32, numHeads: [3, 5, 6], depth: [4, 4, 4], attnRatio: 2, mlpRatio: 2, imgSize: 224 };

const levit192Cfg: PretrainedCfg = {
  hfHubId: 'timm/levit_192.fb_dist_in1k',
  inputSize: [3, 224, 224],
  interpolation: 'bicubic',
  cropPct: 0.9,
  mean: [...IMAGENET_MEAN],
  std: [...IMAGENET_STD],
  fixedInputSize: true,
  classifier: ['head.linear', 'head_dist.linear'],
  numClasses: 1000,
};

registerModel({ name: 'levit_192', inputSizes: { min: 64, multipleOf: 16 }, family: 'levit', pretrainedCfg: levit192Cfg, create: ({ numClasses = 1000, imgSize = levit192.imgSize }) => new Levit({ ...levit192, imgSize }, numClasses) });

// The reduced-width fixture model (shared/fixtures/timm/levit_192_tiny): same code, no hub weights.
registerModel({
  name: 'levit_192_tiny',
  inputSizes: { min: 64, multipleOf: 16 },
  family: 'levit',
  testVariant: true,
  pretrainedCfg: { ...levit192Cfg, hfHubId: '', numClasses: 10 },
  create: ({ numClasses = 10, imgSize = levit192.imgSize }) => new Levit({ ...levit192, imgSize, embedDim: [32, 48, 64], keyDim: 8, numHeads: [2, 3, 4], depth: [1, 1, 1] }, numClasses),
});
