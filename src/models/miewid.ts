// MiewID (Otarashvili et al., 2024), the multi-species re-identification model Wildbook runs:
// wbia-plugin-miew-id's MiewIdNet with use_fc=False. The efficientnetv2_rw_m backbone without its
// global pooling and classifier, GeM pooling with a learnable p, then BatchNorm1d; that output is
// the embedding (2152-d), compared by cosine similarity. State-dict keys: backbone.*, pooling.p, bn.*.
import { BatchNorm1d } from '../nn/index.js';
import { tidy, type Tensor } from '../torch/index.js';
import { invalidParameterError } from '../util/check.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../util/imagenet.js';
import { Backbone, type NamedBlock, type PretrainedCfg } from './backbone.js';
import { EfficientNet, EFFICIENTNET_CONFIGS, type EfficientNetConfig } from './efficientnet.js';
import { GeM } from './heads.js';
import { registerModel } from './registry.js';

export interface MiewIdOptions {
  /** Only 0: MiewID has no classifier (its ArcFace training head is not part of the released model). */
  numClasses?: number;
  /** Stochastic depth of the backbone's last block (training only). */
  dropPathRate?: number;
}

function checkNoClassifier(numClasses: number): void {
  if (numClasses !== 0) throw invalidParameterError('miewid numClasses', '0 (MiewID has no classifier; put a head on its embedding)', numClasses);
}

/**
 * A Backbone whose head is the embedding instead of a classifier, so the registry, weight loading
 * and freezing treat it as any other model: forwardHead (with or without preLogits) and forward
 * give the embedding, numFeatures is its width, and the classifier can only be "none".
 */
export class MiewId extends Backbone {
  readonly numFeatures: number;
  readonly backbone: EfficientNet;
  readonly pooling: GeM;
  readonly bn: BatchNorm1d;

  constructor(config: EfficientNetConfig, options: MiewIdOptions = {}) {
    super();
    checkNoClassifier(options.numClasses ?? 0);
    this.backbone = this.registerModule('backbone', new EfficientNet(config, { numClasses: 0, dropPathRate: options.dropPathRate ?? 0 }));
    this.numFeatures = this.backbone.numFeatures;
    // MiewIdNet's GeM: p starts at 3 and trains, eps 1e-6.
    this.pooling = this.registerModule('pooling', new GeM({ p: 3, eps: 1e-6 }));
    this.bn = this.registerModule('bn', new BatchNorm1d(this.numFeatures));
  }

  /** The backbone's feature map [B, numFeatures, H, W]. */
  forwardFeatures(x: Tensor): Tensor {
    return this.backbone.forwardFeatures(x);
  }

  /** The embedding [B, numFeatures]: bn(GeM(features)). In train mode BatchNorm needs a batch of 2 or more. */
  forwardHead(features: Tensor): Tensor {
    return tidy(() => this.bn.forward(this.pooling.forward(features)));
  }

  /** The embedding of images [B, 3, H, W] (the same as forward). */
  forwardEmbedding(x: Tensor): Tensor {
    return this.forward(x);
  }

  resetClassifier(numClasses: number): void {
    checkNoClassifier(numClasses);
  }

  /** The backbone's blocks under their state-dict prefixes (backbone.conv_stem, ..., backbone.bn2). */
  blocks(): NamedBlock[] {
    return this.backbone.blocks().map(({ name, module }) => ({ name: `backbone.${name}`, module }));
  }
}

/**
 * From the model card of conservationxlabs/miewid-msv3: 440 px, ImageNet mean/std, a plain resize
 * (torchvision's default bilinear, no crop).
 */
const MIEWID_CFG: PretrainedCfg = {
  hfHubId: 'conservationxlabs/miewid-msv3',
  inputSize: [3, 440, 440],
  interpolation: 'bilinear',
  cropPct: 1.0,
  mean: [...IMAGENET_MEAN],
  std: [...IMAGENET_STD],
  fixedInputSize: false,
  classifier: [],
  numClasses: 0,
};

registerModel({ name: 'miewid', family: 'miewid', pretrainedCfg: MIEWID_CFG, create: (o) => new MiewId(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m, o) });
registerModel({
  name: 'miewid_tiny',
  family: 'miewid',
  testVariant: true,
  pretrainedCfg: { ...MIEWID_CFG, hfHubId: '' },
  create: (o) => new MiewId(EFFICIENTNET_CONFIGS.efficientnetv2_rw_m_tiny, o),
});
