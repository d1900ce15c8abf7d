// Optimizers and learning-rate schedules, as torch.optim: `import * as optim from '../optim/index.js'`.
export { Optimizer, type Hyper, type ParamGroup, type ParamGroupSpec, type Params, type ParamState, type OptimizerStateDict } from './optimizer.js';
export { SGD, type SGDHyper } from './sgd.js';
export { Adam, AdamW, type AdamHyper } from './adam.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  WarmupCosineLR,
  OneCycleLR,
  type LRSchedulerState,
  type WarmupCosineOptions,
  type OneCycleOptions,
} from './lr_scheduler.js';
