// Loads the libtorch binding (native/) and describes its surface. Nothing here is public API:
// src/torch/tensor.ts wraps it with validation and types.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { applyThreadPolicy, type ThreadPolicy } from './thread_policy.js';

export interface NativeHandle {
  dispose(): void;
  isDisposed(): boolean;
  shape(): number[];
  dtype(): number;
  device(): string;
  toBuffer(): ArrayBuffer;
  requiresGrad(): boolean;
  setRequiresGrad(flag: boolean): void;
  grad(): NativeHandle | undefined;
  setGrad(grad: NativeHandle | undefined): void;
  backward(gradient?: NativeHandle, retainGraph?: boolean, createGraph?: boolean): void;
  isLeaf(): boolean;
  gradFn(): string | null;
  sameStorage(other: NativeHandle): boolean;
}

export interface BuildInfo {
  version: string;
  config: string;
  parallel: string;
  cuda: boolean;
  cudaDevices: number;
}

export interface NativeBinding {
  TensorHandle: new () => NativeHandle;
  findOp(name: string, overload: string): number;
  hasOperator(name: string, overload: string): boolean;
  callOp(id: number, args: unknown[]): unknown;
  schema(id: number): string;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, shape: number[], dtype: number): NativeHandle;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  getNumInteropThreads(): number;
  manualSeed(seed: number): void;
  getRngState(): NativeHandle;
  setRngState(state: NativeHandle): void;
  setGradEnabled(enabled: boolean): void;
  isGradEnabled(): boolean;
  buildInfo(): BuildInfo;
}

const addonPath = fileURLToPath(new URL('../../../native/build/Release/finprint_torch.node', import.meta.url));

/** The wait policy in effect, decided before the binding (and with it libgomp) loads. */
export const threadPolicy: ThreadPolicy = applyThreadPolicy();

function load(): NativeBinding {
  if (!existsSync(addonPath)) {
    throw new Error(
      `the libtorch binding is not built (${addonPath} is missing): run 'npm run setup', ` +
        `which needs the Debian package libtorch-dev or LIBTORCH set to an unpacked libtorch folder`,
    );
  }
  const binding = createRequire(import.meta.url)(addonPath) as NativeBinding;
  // Some libtorch builds start with one intra-op thread; use every core unless the user chose.
  if (!process.env.OMP_NUM_THREADS && !process.env.FINPRINT_THREADS) binding.setNumThreads(availableParallelism());
  const wanted = Number(process.env.FINPRINT_THREADS);
  if (Number.isInteger(wanted) && wanted > 0) binding.setNumThreads(wanted);
  return binding;
}

export const native: NativeBinding = load();
