// Neural-network building blocks, as torch.nn: `import * as nn from '../nn/index.js'`.
export { Module, type AnyModule, type LoadStateDictResult, type StateDict } from './module.js';
export { ModuleList, ModuleDict, Sequential, runSequential } from './container.js';
export { Identity, Linear } from './linear.js';
export { Conv2d, type Conv2dOptions } from './conv.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm.js';
export { LayerNorm, GroupNorm } from './normalization.js';
export { ReLU, ReLU6, SiLU, GELU, Hardswish, Hardsigmoid, Sigmoid, Tanh } from './activation.js';
export { Dropout } from './dropout.js';
export { Flatten } from './flatten.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type PoolOptions } from './pooling.js';
export type { Pair } from './args.js';
export * as init from './init.js';
