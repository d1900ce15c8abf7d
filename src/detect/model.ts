// A compact one-stage centre-heatmap detector (CenterNet, Zhou et al. 2019, "Objects as Points"):
// a zoo backbone's feature map is upsampled back to a finer stride (as CenterNet does over ResNet)
// and fused with a shallow full-resolution branch that keeps where things are (BiSeNet's "spatial
// path", Yu et al. 2018: the backbones only expose their coarsest, stride-32 map, which on a small
// input is a few cells wide). A small head then predicts, per cell, how likely the animal's centre
// lies there, and the distances from the cell's centre to the box's sides (TTFNet's form of
// CenterNet's size and offset).
import { createModel, type Backbone } from '../models/index.js';
import { ConvNormAct } from '../models/layers.js';
import * as nn from '../nn/index.js';
import * as torch from '../torch/index.js';
import { checkInteger, invalidParameterError } from '../util/check.js';

/** Channels of the head's output, in order. */
export const HEAD_CHANNELS = ['heatmap', 'left', 'top', 'right', 'bottom'] as const;

export interface CenterNetConfig {
  backbone: string;
  /** Side of the square (squashed) input. */
  imageSize: number;
  /** Input pixels per output cell (8: a 128 px photo gives a 16x16 heatmap). */
  outputStride: number;
  /** Width of the upsampling neck and the head. */
  channels: number;
}

export class CenterNet extends nn.Module {
  readonly backbone: Backbone;
  readonly neck: nn.Sequential;
  readonly spatial: nn.Sequential;
  readonly head: nn.Sequential;
  /** The heatmap's side in cells. */
  readonly gridSize: number;

  constructor(readonly config: CenterNetConfig) {
    super();
    checkInteger('imageSize', config.imageSize, 32, 2048);
    checkInteger('channels', config.channels, 1);
    this.backbone = this.registerModule('backbone', createModel(config.backbone, { numClasses: 0, imgSize: config.imageSize }));
    const featureSize = torch.noGrad(() => torch.tidy(() => this.backbone.forwardFeatures(torch.zeros([1, 3, config.imageSize, config.imageSize])).shape));
    if (featureSize.length !== 4) throw invalidParameterError('backbone', `a CNN with a feature map, e.g. efficientnet_b0 or vgg16 (this one gives token features [${featureSize.join(', ')}])`, config.backbone);
    const stride = config.imageSize / featureSize[3]!;
    const ups = Math.log2(stride / config.outputStride);
    if (!Number.isInteger(ups) || ups < 0) throw invalidParameterError('outputStride', `the backbone's stride (${stride}) divided by a power of two`, config.outputStride);
    if (config.imageSize % config.outputStride) throw invalidParameterError('imageSize', `a multiple of outputStride (${config.outputStride})`, config.imageSize);
    this.gridSize = config.imageSize / config.outputStride;
    // Each stage doubles the resolution (nearest upsampling then a 3x3 conv: no checkerboard, unlike a deconv).
    const stages: nn.Module[] = [];
    let inChannels = this.backbone.featureChannels;
    for (let i = 0; i < Math.max(1, ups); i++) {
      stages.push(new ConvNormAct(inChannels, config.channels, 3, { act: 'relu' }));
      inChannels = config.channels;
    }
    this.neck = this.registerModule('neck', new nn.Sequential(...stages));
    // Stride-2 convs down to the output stride, widening towards the neck's width.
    const path: nn.Module[] = [];
    const steps = Math.log2(config.outputStride);
    if (!Number.isInteger(steps) || steps < 1) throw invalidParameterError('outputStride', 'a power of two >= 2', config.outputStride);
    for (let i = 0, c = 3; i < steps; i++) {
      const width = Math.max(8, config.channels >> (steps - 1 - i));
      path.push(new ConvNormAct(c, width, 3, { stride: 2, act: 'relu' }));
      c = width;
    }
    this.spatial = this.registerModule('spatial', new nn.Sequential(...path));
    const out = new nn.Conv2d(config.channels, HEAD_CHANNELS.length, 1);
    this.head = this.registerModule('head', new nn.Sequential(new ConvNormAct(2 * config.channels, config.channels, 3, { act: 'relu' }), out));
    // CenterNet's prior: every cell starts at p = 0.1, so the many empty cells do not swamp the first steps.
    torch.noGrad(() => torch.tidy(() => void out.bias!.narrow(0, 0, 1).fill_(-2.19)));
  }

  /** [B, 3, S, S] normalised photos -> [B, 5, G, G]: heatmap logits, then distances to the left, top, right and bottom sides (shares of the photo). */
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      let y = this.backbone.forwardFeatures(x);
      for (const stage of this.neck) {
        if (y.shape[3]! < this.gridSize) y = torch.F.interpolate(y, { scaleFactor: 2, mode: 'nearest' });
        y = stage.forward(y);
      }
      return this.head.forward(torch.cat([y, this.spatial.forward(x)], 1));
    });
  }
}
