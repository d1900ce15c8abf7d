// Activation functions as modules, as torch.nn names them (so timm-style model code can hold
// them in Sequential blocks and pass an activation class as a layer argument).
import { F, type Tensor } from '../torch/index.js';
import { checkOneOf } from '../util/check.js';
import { Module } from './module.js';

export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/** min(max(x, 0), 6) */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

/** x * sigmoid(x), a.k.a. swish */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

export class GELU extends Module {
  /** 'none' is the exact erf form; 'tanh' the approximation. */
  readonly approximate: 'none' | 'tanh';

  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = checkOneOf('approximate', options.approximate ?? 'none', ['none', 'tanh']);
  }

  override forward(x: Tensor): Tensor {
    return F.gelu(x, this.approximate);
  }
}

/** x * relu6(x + 3) / 6 */
export class Hardswish extends Module {
  override forward(x: Tensor): Tensor {
    return F.hardswish(x);
  }
}

/** relu6(x + 3) / 6 */
export class Hardsigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return F.hardsigmoid(x);
  }
}

export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}
