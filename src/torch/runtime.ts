// Process-wide engine settings and build facts.
import { checkInteger } from '../util/check.js';
import { native, threadPolicy, type BuildInfo } from './native.js';
import { withoutFinprintPolicy } from './thread_policy.js';
import { fromHandle, type Tensor } from './tensor.js';

export function setNumThreads(n: number): void {
  checkInteger('setNumThreads.n', n, 1);
  native.setNumThreads(n);
}

export const getNumThreads = (): number => native.getNumThreads();
export const getNumInteropThreads = (): number => native.getNumInteropThreads();

/** Seeds the default generator used by randn, rand, randint, dropout and init. */
export function manualSeed(seed: number): void {
  checkInteger('manualSeed.seed', seed, 0, Number.MAX_SAFE_INTEGER);
  native.manualSeed(seed);
}

/** The default generator's state as a uint8 tensor, for exact resume. */
export const getRngState = (): Tensor => fromHandle(native.getRngState());
export const setRngState = (state: Tensor): void => native.setRngState(state.handle);

export const isGradEnabled = (): boolean => native.isGradEnabled();

/** Runs fn with gradient recording off (inference, metric computation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function enableGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export const buildInfo = (): BuildInfo => native.buildInfo();

export function cudaAvailable(): boolean {
  return native.buildInfo().cudaDevices > 0;
}

/** The environment without the wait policy finprint set for itself: for a PyTorch process run side by side. */
export const environmentWithoutFinprintPolicy = (): NodeJS.ProcessEnv => withoutFinprintPolicy(process.env, threadPolicy);
