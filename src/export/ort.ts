// ONNX Runtime (onnxruntime-node, CPU) as an inference engine for exported models: load a file or
// bytes, run float32 NCHW batches, get every output back as float32 with its shape. The model's
// metadata_props (normalisation, input size, labels) are read from the file itself.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { checkInteger, invalidParameterError } from '../util/check.js';
import { readModelSummary, type OnnxSummary } from './onnx_proto.js';

export interface OrtOptions {
  /** Intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /** Graph optimisations (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export type NamedArrays = Map<string, { shape: number[]; data: Float32Array }>;

export class OrtModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Inputs, outputs, op types and metadata_props, as written in the file. */
    readonly summary: OnnxSummary,
    readonly source: string,
  ) {}

  /** Opens an ONNX model from a file path or its bytes. */
  static async load(model: string | Uint8Array, options: OrtOptions = {}): Promise<OrtModel> {
    const bytes = typeof model === 'string' ? new Uint8Array(readFileSync(model)) : model;
    if (!(bytes instanceof Uint8Array)) throw invalidParameterError('model', 'a file path or the model bytes', model);
    const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: options.optimization ?? 'all', executionProviders: ['cpu'] };
    if (options.threads !== undefined) sessionOptions.intraOpNumThreads = checkInteger('threads', options.threads, 1);
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    return new OrtModel(session, readModelSummary(bytes), typeof model === 'string' ? model : '(bytes)');
  }

  get inputName(): string {
    return this.session.inputNames[0]!;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
  get metadata(): Record<string, string> {
    return this.summary.metadata;
  }

  /** Runs one batch: data is [N, ...shape] float32 in the layout the input declares. */
  async run(data: Float32Array, shape: readonly number[]): Promise<NamedArrays> {
    const declared = this.summary.inputs[0]?.shape ?? [];
    if (shape.length !== declared.length || shape.some((d, i) => typeof declared[i] === 'number' && declared[i] !== d)) {
      throw invalidParameterError('shape', `[${declared.join(', ')}] (the model's ${this.inputName})`, shape);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw invalidParameterError('data', `${n} floats for [${shape.join(', ')}]`, data.length);
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, [...shape]) };
    const results = await this.session.run(feeds);
    const out: NamedArrays = new Map();
    for (const name of this.session.outputNames) {
      const t = results[name]!;
      const values = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>, Number);
      out.set(name, { shape: [...t.dims], data: values });
      t.dispose();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** max |a − b| / max |b| (0 when both are all zeros). */
export function maxRelDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new RangeError(`maxRelDiff: ${actual.length} values against ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Runs an export's traced example through ONNX Runtime and compares every output with finprint's
 * (max |diff| / max |ref|, per output); NaN counts as a mismatch.
 */
export async function checkExport(exported: { bytes: Uint8Array; reference: { input: Float32Array; shape: number[]; outputs: NamedArrays } }, options: OrtOptions = {}): Promise<Record<string, number>> {
  const model = await OrtModel.load(exported.bytes, options);
  try {
    const got = await model.run(exported.reference.input, exported.reference.shape);
    const diffs: Record<string, number> = {};
    for (const [name, ref] of exported.reference.outputs) {
      const out = got.get(name);
      if (!out) throw new Error(`ONNX Runtime gave no output '${name}'`);
      if (out.shape.join() !== ref.shape.join()) throw new Error(`ONNX Runtime's ${name} is [${out.shape.join(', ')}], finprint's [${ref.shape.join(', ')}]`);
      const d = maxRelDiff(out.data, ref.data);
      diffs[name] = Number.isNaN(d) ? Infinity : d;
    }
    return diffs;
  } finally {
    await model.release();
  }
}
