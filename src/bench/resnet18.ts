// A ResNet-18 built like torchvision's, used only as the fixed CNN of `finprint bench engine`
// (torchvision.models.resnet18 is the PyTorch side).
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';
import { tidy, type Tensor } from '../torch/index.js';

class BasicBlock extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly downsample: Sequential | undefined;

  constructor(inC: number, outC: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(outC));
    this.conv2 = this.registerModule('conv2', new Conv2d(outC, outC, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outC));
    this.downsample = stride !== 1 || inC !== outC ? this.registerModule('downsample', new Sequential(new Conv2d(inC, outC, 1, { stride, bias: false }), new BatchNorm2d(outC))) : undefined;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
      const shortcut = this.downsample ? this.downsample.forward(x) : x;
      return y.add(shortcut).relu();
    });
  }
}

export class ResNet18 extends Module {
  private readonly stem: Sequential;
  private readonly layers: Sequential;
  private readonly pool = new AdaptiveAvgPool2d(1);
  private readonly fc: Linear;

  constructor(numClasses = 1000) {
    super();
    this.stem = this.registerModule('stem', new Sequential(new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }), new BatchNorm2d(64), new ReLU(), new MaxPool2d(3, { stride: 2, padding: 1 })));
    const widths = [64, 128, 256, 512];
    const blocks: Module[] = [];
    widths.forEach((w, i) => {
      const inC = i === 0 ? 64 : widths[i - 1]!;
      blocks.push(new BasicBlock(inC, w, i === 0 ? 1 : 2), new BasicBlock(w, w, 1));
    });
    this.layers = this.registerModule('layers', new Sequential(...blocks));
    this.fc = this.registerModule('fc', new Linear(512, numClasses));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.fc.forward(this.pool.forward(this.layers.forward(this.stem.forward(x))).flatten(1)));
  }
}
