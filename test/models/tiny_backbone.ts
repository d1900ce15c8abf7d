// A small Backbone for tests of heads, freezing and weight loading, before the real families land:
// stem -> blocks.0..2 -> norm (a BatchNorm after the last block) -> head.fc, with BatchNorm in
// every block so frozen running statistics can be observed.
import { Backbone, type NamedBlock } from '../../src/models/backbone.js';
import { BatchNorm2d, Conv2d, Linear, Module, ModuleList } from '../../src/nn/index.js';
import { F, tidy, type Tensor } from '../../src/torch/index.js';

export class ConvBn extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number, stride = 1) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outC));
  }
  override forward(x: Tensor): Tensor {
    return tidy(() => F.relu(this.bn.forward(this.conv.forward(x))));
  }
}

class Classifier extends Module {
  readonly fc: Linear;
  constructor(inF: number, numClasses: number) {
    super();
    this.fc = this.registerModule('fc', new Linear(inF, numClasses));
  }
  override forward(x: Tensor): Tensor {
    return this.fc.forward(x);
  }
}

export class TinyBackbone extends Backbone {
  readonly numFeatures = 8;
  readonly stem: ConvBn;
  readonly stages: ModuleList<ConvBn>;
  readonly norm: BatchNorm2d;
  readonly head: Classifier | undefined;

  constructor(numClasses = 0) {
    super();
    this.stem = this.registerModule('stem', new ConvBn(3, 4, 2));
    this.stages = this.registerModule('blocks', new ModuleList([new ConvBn(4, 8), new ConvBn(8, 8, 2), new ConvBn(8, 8)]));
    this.norm = this.registerModule('norm', new BatchNorm2d(8));
    this.head = numClasses > 0 ? this.registerModule('head', new Classifier(8, numClasses)) : undefined;
  }

  forwardFeatures(x: Tensor): Tensor {
    return tidy(() => {
      let y = this.stem.forward(x);
      for (const b of this.stages) y = b.forward(y);
      return this.norm.forward(y);
    });
  }

  forwardHead(x: Tensor, options: { preLogits?: boolean } = {}): Tensor {
    return tidy(() => {
      const pooled = x.mean([2, 3]);
      return options.preLogits || !this.head ? pooled : this.head.forward(pooled);
    });
  }

  resetClassifier(): void {
    throw new Error('TinyBackbone: resetClassifier is not needed in these tests');
  }

  blocks(): NamedBlock[] {
    return [...this.stages].map((module, i) => ({ name: `blocks.${i}`, module }));
  }
}
