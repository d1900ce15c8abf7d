// What every backbone offers, as timm's models do: forwardFeatures, forwardHead({preLogits}),
// resetClassifier, numFeatures, plus named blocks so "unfreeze the top N blocks" is well defined.
import { Module, type AnyModule, type StateDict } from '../nn/index.js';
import { tidy, type Tensor } from '../torch/index.js';

/** timm's pretrained_cfg: how the checkpoint expects its input, and where its classifier lives. */
export interface PretrainedCfg {
  /** Hub repository and tag, e.g. 'timm/efficientnet_b0.ra_in1k'. */
  hfHubId: string;
  /** [channels, height, width] */
  inputSize: [number, number, number];
  interpolation: 'bilinear' | 'bicubic';
  cropPct: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Attention tables tie the model to inputSize (LeViT, CoAtNet). */
  fixedInputSize: boolean;
  /** State-dict prefixes of the classifier, dropped when the number of classes changes. */
  classifier: string[];
  numClasses: number;
}

export interface NamedBlock {
  /** The module's state-dict prefix, e.g. 'blocks.3.1' or 'Mixed_6e'. */
  name: string;
  module: AnyModule;
}

export abstract class Backbone extends Module {
  /** Width of the pre-logits vector. */
  abstract readonly numFeatures: number;
  /**
   * Channels of forwardFeatures' output, what a new head on the feature map sees. The same as
   * numFeatures except where forwardHead widens it (VGG's ConvMlp: 512 -> 4096).
   */
  get featureChannels(): number {
    return this.numFeatures;
  }
  /** The feature map: NCHW for CNNs, [B, tokens, C] for LeViT. */
  abstract forwardFeatures(x: Tensor): Tensor;
  /** Pools features and applies the classifier; with preLogits, stops at the pooled vector. */
  abstract forwardHead(x: Tensor, options?: { preLogits?: boolean }): Tensor;
  /** Replaces the classifier with a freshly initialised one of numClasses outputs (0: none). */
  abstract resetClassifier(numClasses: number): void;
  /**
   * The feature extractor's blocks from input to output (the classifier excluded); "the top N
   * blocks" are the last N of this list.
   */
  abstract blocks(): NamedBlock[];

  forward(x: Tensor): Tensor {
    return tidy(() => this.forwardHead(this.forwardFeatures(x)));
  }

  /** Maps a checkpoint onto this model's names (timm's checkpoint_filter_fn); identity by default. */
  filterCheckpoint(sd: StateDict): StateDict {
    return sd;
  }
}
