// Heads that sit on a backbone's features (forwardFeatures: NCHW maps, or [B, tokens, C] for
// LeViT). DenseHead is the seed's Keras top; EmbeddingNeck turns features into the unit-norm
// embedding that identification compares; the ArcFace margin heads live in arcface.ts.
import { BatchNorm1d, Dropout, Linear, Module } from '../nn/index.js';
import { F, full, tidy, type Tensor } from '../torch/index.js';
import { checkInteger, checkNumber, checkPositive } from '../util/check.js';
import type { Backbone } from './backbone.js';

/** The dims to pool over: H and W of NCHW maps, or the tokens of [B, tokens, C]. */
function poolDims(x: Tensor, where: string): number[] {
  if (x.ndim === 4) return [2, 3];
  if (x.ndim === 3) return [1];
  throw new RangeError(`${where}: expected NCHW features [B, C, H, W] or tokens [B, tokens, C], got shape [${x.shape.join(', ')}]`);
}

/** Global average pooling (Keras' GlobalAveragePooling2D), over NCHW maps or tokens: [B, C]. */
export function globalAvgPool(x: Tensor): Tensor {
  return x.mean(poolDims(x, 'globalAvgPool'));
}

export interface DenseHeadOptions {
  /** Width of the ReLU hidden layer (the seed: 256). */
  hiddenFeatures?: number;
  /** Dropout after the hidden layer (the seed: 0.6). */
  dropout?: number;
}

/**
 * The seed's top: global average pooling -> Dense(hidden, ReLU) -> Dropout -> Dense(classes).
 * forward gives logits, so training uses crossEntropy on them (numerically safer than Keras'
 * softmax output + categorical cross entropy); predict gives the softmax probabilities.
 */
export class DenseHead extends Module {
  readonly hidden: Linear;
  readonly drop: Dropout;
  readonly fc: Linear;

  constructor(inFeatures: number, numClasses: number, options: DenseHeadOptions = {}) {
    super();
    checkInteger('inFeatures', inFeatures, 1);
    checkInteger('numClasses', numClasses, 1);
    const hidden = checkInteger('hiddenFeatures', options.hiddenFeatures ?? 256, 1);
    this.hidden = this.registerModule('hidden', new Linear(inFeatures, hidden));
    this.drop = this.registerModule('drop', new Dropout(checkNumber('dropout', options.dropout ?? 0.6, 0, 1)));
    this.fc = this.registerModule('fc', new Linear(hidden, numClasses));
  }

  /** Logits [B, classes]. */
  override forward(features: Tensor): Tensor {
    return tidy(() => this.fc.forward(this.drop.forward(F.relu(this.hidden.forward(globalAvgPool(features))))));
  }

  /** Class probabilities [B, classes] (put the module in eval mode first to switch dropout off). */
  predict(features: Tensor): Tensor {
    return tidy(() => F.softmax(this.forward(features), 1));
  }
}

/**
 * A pretrained model's own head as the embedding, unit-normalised: MiewID's GeM + BatchNorm1d, or
 * the pooled features of a timm model without classifier. Used as it is (zero-shot), so it holds
 * no weights of its own: the backbone keeps them, and a checkpoint of the backbone alone fits.
 */
export class BackboneEmbedding extends Module {
  // Not registered: the backbone is registered once, where it belongs (TransferModel's 'backbone').
  constructor(private readonly backbone: Backbone) {
    super();
  }

  /** Unit embeddings [B, backbone.featureChannels] of the backbone's features. */
  override forward(features: Tensor): Tensor {
    return tidy(() => F.normalize(this.backbone.forwardHead(features)));
  }
}

export interface GeMOptions {
  /** Initial exponent: 1 is average pooling, large values approach max pooling. */
  p?: number;
  /** Features are clamped to at least eps so the power is defined. */
  eps?: number;
}

/**
 * Generalised-mean pooling, (mean x^p)^(1/p) with a learnable p (Radenović et al.), the pooling of
 * the Happywhale and Google Landmark winners. Features are clamped to eps first, so it suits
 * non-negative (post-ReLU/SiLU) maps; signed token features are averaged instead.
 */
export class GeM extends Module {
  /** The exponent, a [1] parameter, so its state-dict key is `p` as in timm's GeM. */
  readonly p: Tensor;
  readonly eps: number;

  constructor(options: GeMOptions = {}) {
    super();
    const p = checkPositive('p', options.p ?? 3);
    this.p = this.registerParameter('p', full([1], p, { dtype: 'float32' }));
    this.eps = checkNumber('eps', options.eps ?? 1e-6, 0);
  }

  /** NCHW maps are GeM-pooled; [B, tokens, C] token features (signed, LeViT) are averaged. */
  override forward(x: Tensor): Tensor {
    const dims = poolDims(x, 'GeM');
    if (x.ndim === 3) return x.mean(dims);
    return tidy(() => x.clamp(this.eps).pow(this.p).mean(dims).pow(this.p.reciprocal()));
  }
}

export interface EmbeddingNeckOptions extends GeMOptions {
  /** Width of the embedding (default 512). */
  embeddingDim?: number;
}

/**
 * Features -> GeM -> Linear -> BatchNorm1d -> L2 normalisation: the embedding that gallery search
 * compares by cosine similarity and that the ArcFace heads classify.
 */
export class EmbeddingNeck extends Module {
  readonly embeddingDim: number;
  readonly pool: GeM;
  readonly fc: Linear;
  readonly bn: BatchNorm1d;

  constructor(inFeatures: number, options: EmbeddingNeckOptions = {}) {
    super();
    checkInteger('inFeatures', inFeatures, 1);
    this.embeddingDim = checkInteger('embeddingDim', options.embeddingDim ?? 512, 1);
    this.pool = this.registerModule('pool', new GeM(options));
    this.fc = this.registerModule('fc', new Linear(inFeatures, this.embeddingDim));
    this.bn = this.registerModule('bn', new BatchNorm1d(this.embeddingDim));
  }

  /** The embedding before L2 normalisation [B, embeddingDim]. In train mode BatchNorm needs a batch of 2 or more. */
  project(features: Tensor): Tensor {
    return tidy(() => this.bn.forward(this.fc.forward(this.pool.forward(features))));
  }

  /** Unit-norm embeddings [B, embeddingDim]. */
  override forward(features: Tensor): Tensor {
    return tidy(() => F.normalize(this.project(features)));
  }
}
