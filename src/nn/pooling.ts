// 2-d pooling layers, as torch.nn: MaxPool2d, AvgPool2d (stride defaults to the kernel size) and
// AdaptiveAvgPool2d (a fixed output size whatever the input size, e.g. 1 for global pooling).
import { F, type Tensor } from '../torch/index.js';
import { pair, type Pair } from './args.js';
import { Module } from './module.js';

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  /** Round the output size up instead of down. */
  ceilMode?: boolean;
}

export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}) {
    super();
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', options.stride ?? this.kernelSize, 1);
    this.padding = pair('padding', options.padding ?? 0, 0);
    this.dilation = pair('dilation', options.dilation ?? 1, 1);
    this.ceilMode = options.ceilMode ?? false;
  }

  override forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  /** Count padded zeros in the average (PyTorch's default) or only real pixels. */
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, options: PoolOptions & { countIncludePad?: boolean } = {}) {
    super();
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', options.stride ?? this.kernelSize, 1);
    this.padding = pair('padding', options.padding ?? 0, 0);
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  override forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad });
  }
}

export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];

  constructor(outputSize: Pair) {
    super();
    this.outputSize = pair('outputSize', outputSize, 1);
  }

  override forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}
