// The engine's public surface: `import * as torch from '../torch/index.js'`.
export { Tensor, op, ops, type Shape, type Scalar } from './tensor.js';
export { type DType, isFloating, elementSize } from './dtype.js';
export { tidy, keep } from './scope.js';
export * from './creation.js';
export * from './runtime.js';
export * as F from './functional.js';
