// ONNX Runtime Web, loaded as an ES module from finprint's own server (ort/ beside the page, onnxruntime-web's dist
// files from node_modules; never a CDN), wasm backend. Threads when the page is cross-origin
// isolated (finprint serve --pack sends COOP/COEP; the service worker keeps those headers).

export interface OrtTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}

interface OrtModule {
  env: { wasm: { wasmPaths: string; numThreads: number; proxy?: boolean } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
}

/** The module file served under ort/ beside the page (the wasm-only build: no WebGPU/WebGL code to download). */
export const ORT_MODULE = 'ort/ort.wasm.min.mjs';

let loaded: Promise<OrtModule> | null = null;

/** Threads ONNX Runtime uses: the machine's cores when cross-origin isolated (SharedArrayBuffer), else 1. */
export function ortThreads(): number {
  return globalThis.crossOriginIsolated ? Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1)) : 1;
}

export function loadOrt(): Promise<OrtModule> {
  loaded ??= (async () => {
    // Relative to the page (/ or /field/), not to this module.
    const url: string = new URL(ORT_MODULE, document.baseURI).href;
    const ort = (await import(/* webpackIgnore: true */ url)) as OrtModule;
    ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
    ort.env.wasm.numThreads = ortThreads();
    return ort;
  })();
  return loaded;
}

export async function createSession(model: Uint8Array): Promise<OrtSession> {
  const ort = await loadOrt();
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

export async function tensor(data: Float32Array, dims: readonly number[]): Promise<OrtTensor> {
  const ort = await loadOrt();
  return new ort.Tensor('float32', data, dims);
}
