// Assembles an ONNX graph from traces of a module's forward pass: traced at two batch sizes (to
// tell which dims follow the batch), kept to the calls the outputs need, each call mapped to ONNX
// nodes (ops_map.ts), parameters and buffers as initializers under their state-dict names.
// Normalisation (mean/std) can be put in front of the graph, so it takes RGB pixels in [0, 1].
import { readFileSync } from 'node:fs';
import type { AnyModule } from '../nn/index.js';
import { tensor, type Tensor } from '../torch/index.js';
import type { DType } from '../torch/dtype.js';
import { checkInteger, invalidParameterError } from '../util/check.js';
import { encodeModel, ONNX_DTYPE, tensorProto, type AttrValue, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx_proto.js';
import { mapperFor, SUPPORTED_OPS, type MapContext } from './ops_map.js';
import { batchDims, traceForward, type ForwardOutputs, type Trace, type TracedArg, type TracedCall, type TracedValue } from './trace.js';

/** The one opset written: LayerNormalization needs 17; ReduceMean's axes move to an input in 18. */
export const ONNX_OPSET = 17;
/** ONNX IR version 8 goes with opset 17. */
const IR_VERSION = 8;
/** The symbolic name of the batch dim in the graph's inputs and outputs. */
export const BATCH_DIM = 'batch';

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export interface ExportOptions {
  /** The traced input's shape, [C, H, W] (traced at batch 2) or [N, C, H, W]. */
  inputShape: readonly number[];
  /** Default 'pixels'. */
  inputName?: string;
  /** Output names: the single output's name, or the order of the named outputs (default: as forward returns them). */
  outputs?: readonly string[];
  /** Only 17 is written. */
  opset?: number;
  /** What to trace (default: module.forward); it may return named tensors. */
  forward?: (x: Tensor) => ForwardOutputs;
  /** Put (x - mean) / std in the graph: the input is then RGB in [0, 1], channels first. */
  normalization?: Normalization;
  /** Extra metadata_props. */
  metadata?: Record<string, string>;
  /** A dynamic batch dim (default true); false fixes the traced batch size. */
  dynamicBatch?: boolean;
  /** The example to trace, as the graph takes it (pixels in [0, 1] with normalization); default: seeded random values. */
  example?: Float32Array;
  graphName?: string;
}

export interface OnnxExport {
  /** The model as ONNX protobuf bytes. */
  bytes: Uint8Array;
  inputName: string;
  outputNames: string[];
  /** The traced example as the graph takes it, and finprint's outputs for it: what a runtime must reproduce. */
  reference: { input: Float32Array; shape: number[]; outputs: Map<string, { shape: number[]; data: Float32Array }> };
  /** Node count per ONNX op type. */
  opTypes: Record<string, number>;
  initializers: number;
}

const finprintVersion = (): string => (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Deterministic values in [lo, hi) (a fixed LCG: tracing must not move the engine's random state). */
function exampleValues(n: number, lo: number, hi: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/**
 * Writes a module as an ONNX model (opset 17): the forward pass is traced through the engine's
 * ops, so anything built from finprint's modules and Tensor API exports without per-module code.
 * Put the module in eval mode first. An op without a mapping fails naming the op and the module.
 */
export function exportOnnx(module: AnyModule, options: ExportOptions): OnnxExport {
  const opset = options.opset ?? ONNX_OPSET;
  if (opset !== ONNX_OPSET) throw invalidParameterError('opset', `${ONNX_OPSET} (the opset this exporter writes)`, opset);
  const shape = [...options.inputShape];
  if (shape.length === 3) shape.unshift(2);
  if (shape.length !== 4) throw invalidParameterError('inputShape', '[C, H, W] or [N, C, H, W]', options.inputShape);
  shape.forEach((d, i) => checkInteger(`inputShape[${i}]`, d, 1));
  if (module.training) throw new Error('exportOnnx: the module is in train mode; call eval() first (dropout and batch norm differ)');
  const inputName = options.inputName ?? 'pixels';
  const forward = options.forward ?? ((x: Tensor) => (module as unknown as { forward(x: Tensor): ForwardOutputs }).forward(x));
  const norm = options.normalization;
  if (norm && (norm.mean.length !== shape[1] || norm.std.length !== shape[1] || norm.std.some((s) => !(s > 0)))) {
    throw invalidParameterError('normalization', `a mean and a positive std per channel (${shape[1]})`, norm);
  }
  const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  const [lo, hi] = norm ? [0, 1] : [-2, 2];
  const example = options.example ?? exampleValues(numel(shape), lo, hi, 1);
  if (example.length !== numel(shape)) throw invalidParameterError('example', `${numel(shape)} values for [${shape.join(', ')}]`, example.length);

  const run = (pixels: Float32Array, s: number[], keepData: boolean): ReturnType<typeof traceForward> => {
    const x = normalized(pixels, s, norm);
    try {
      return traceForward(module, forward, x, { inputName, outputNames: options.outputs ?? [], keepData });
    } finally {
      x.dispose();
    }
  };
  const main = run(example, shape, true);
  const dynamic = options.dynamicBatch ?? true;
  let alt: Trace = main.trace;
  if (dynamic) {
    const altShape = [shape[0]! + 1, ...shape.slice(1)];
    alt = run(exampleValues(numel(altShape), lo, hi, 2), altShape, false).trace;
    batchDims(main.trace, alt); // checks the two passes match call for call
  }
  const order = options.outputs && main.trace.outputs.size > 1 ? [...options.outputs] : [...main.trace.outputs.keys()];
  for (const name of order) if (!main.trace.outputs.has(name)) throw invalidParameterError('outputs', `names among ${[...main.trace.outputs.keys()].join(', ')}`, options.outputs);
  const graph = new GraphBuilder(module, main.trace, alt, inputName, norm, shape[1]!);
  const built = graph.build(order);
  const metadata: Record<string, string> = {
    'finprint.input': `${inputName}: float32 [${BATCH_DIM}, ${shape.slice(1).join(', ')}], RGB channels first, resized by the caller${norm ? ', values in [0, 1] (normalised inside the graph)' : ', as the module takes it (no normalisation in the graph)'}`,
    'finprint.normalization': norm ? 'in-graph' : 'none',
    ...(norm ? { 'finprint.mean': norm.mean.join(','), 'finprint.std': norm.std.join(',') } : {}),
    'finprint.outputs': order.join(','),
    ...options.metadata,
  };
  const bytes = encodeModel({
    opset,
    irVersion: IR_VERSION,
    producerName: 'finprint',
    producerVersion: finprintVersion(),
    graph: { name: options.graphName ?? module.constructor.name, ...built },
    metadata,
  });
  const opTypes: Record<string, number> = {};
  for (const n of built.nodes) opTypes[n.opType] = (opTypes[n.opType] ?? 0) + 1;
  const outputs = new Map(order.map((n) => [n, main.values.get(n)!]));
  return { bytes, inputName, outputNames: order, reference: { input: example, shape, outputs }, opTypes, initializers: built.initializers.length };
}

/** The module's input: the pixels normalised as the graph will (or as given without normalisation). */
function normalized(pixels: Float32Array, shape: number[], norm: Normalization | undefined): Tensor {
  const x = tensor(pixels, shape);
  if (!norm) return x;
  const c = shape[1]!;
  const mean = tensor(Float32Array.from(norm.mean), [1, c, 1, 1]);
  const std = tensor(Float32Array.from(norm.std), [1, c, 1, 1]);
  const centred = x.sub(mean);
  const out = centred.div(std);
  for (const t of [x, mean, std, centred]) t.dispose();
  return out;
}

class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly initialized = new Set<string>();
  private readonly names = new Map<number, string>();
  private readonly producer = new Map<number, TracedCall>();
  private readonly moduleClass = new Map<string, string>();
  private readonly usedNames = new Set<string>();
  private temp = 0;

  constructor(
    module: AnyModule,
    private readonly trace: Trace,
    private readonly alt: Trace,
    private readonly inputName: string,
    private readonly norm: Normalization | undefined,
    private readonly channels: number,
  ) {
    for (const c of trace.calls) for (const o of c.outputs) this.producer.set(o, c);
    for (const [path, m] of module.namedModules()) this.moduleClass.set(path, m.constructor.name);
  }

  build(outputNames: string[]): { nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
    const input = this.trace.values[this.trace.input]!;
    if (this.norm) {
      const centred = this.node('Sub', [this.inputName, this.constant([1, this.channels, 1, 1], 'float32', Float32Array.from(this.norm.mean))], undefined, undefined, 'normalize');
      this.node('Div', [centred, this.constant([1, this.channels, 1, 1], 'float32', Float32Array.from(this.norm.std))], undefined, [this.nameOf(input.id)], 'normalize');
    }
    // Outputs take their names at the node that makes them, unless that value is also an input, a constant or another output.
    const aliases: [string, number][] = [];
    for (const name of outputNames) {
      const id = this.trace.outputs.get(name)!;
      const made = this.producer.get(id);
      if (made && !made.folded && !this.names.has(id)) this.claim(id, name);
      else aliases.push([name, id]);
    }
    for (const call of this.needed(outputNames.map((n) => this.trace.outputs.get(n)!))) this.map(call);
    for (const [name, id] of aliases) this.node('Identity', [this.nameOf(id)], undefined, [this.claimName(name)], 'output');
    this.checkWired(outputNames);
    const info = (name: string, v: TracedValue): OnnxValueInfo => {
      const alt = this.alt.values[v.id]!.shape;
      return { name, elemType: ONNX_DTYPE[v.dtype], shape: v.shape.map((s, i) => (s === alt[i] ? s : BATCH_DIM)) };
    };
    return {
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [info(this.inputName, input)],
      outputs: outputNames.map((n) => info(n, this.trace.values[this.trace.outputs.get(n)!]!)),
    };
  }

  /** The non-folded calls the outputs depend on, in trace order. */
  private needed(outputs: number[]): TracedCall[] {
    const keep = new Set<TracedCall>();
    const stack = [...outputs];
    const argIds = (a: TracedArg): number[] => ('tensor' in a ? [a.tensor] : 'list' in a ? a.list.flatMap(argIds) : []);
    while (stack.length) {
      const call = this.producer.get(stack.pop()!);
      if (!call || call.folded || keep.has(call)) continue;
      keep.add(call);
      stack.push(...call.args.flatMap(argIds));
    }
    return this.trace.calls.filter((c) => keep.has(c));
  }

  private where(call: TracedCall): string {
    return call.module ? `module '${call.module}' (${this.moduleClass.get(call.module) ?? '?'})` : `the top module (${this.moduleClass.get('') ?? '?'})`;
  }

  private map(call: TracedCall): void {
    const mapper = mapperFor(call.name);
    if (!mapper) throw new Error(`ONNX export: no mapping for ${call.name}, called in ${this.where(call)}. Mapped ops: ${SUPPORTED_OPS.join(', ')}`);
    try {
      mapper(this.context(call));
    } catch (err) {
      throw new Error(`ONNX export: cannot export ${call.name} in ${this.where(call)}: ${(err as Error).message}`, { cause: err });
    }
  }

  private context(call: TracedCall): MapContext {
    const tensorArg = (i: number): number => {
      const a = call.args[i];
      if (!a || !('tensor' in a)) throw new Error(`argument ${i} is not a tensor`);
      return a.tensor;
    };
    const listArg = (i: number): number[] => {
      const a = call.args[i];
      if (!a || !('list' in a)) throw new Error(`argument ${i} is not a list of tensors`);
      return a.list.map((x) => {
        if (!('tensor' in x)) throw new Error(`argument ${i} mixes tensors and other values`);
        return x.tensor;
      });
    };
    const values = this.trace.values;
    const base = `${call.module || 'model'}/${call.name.replace(/^aten::/, '')}`;
    return {
      call,
      arg: <T>(i: number): T => {
        const a = call.args[i];
        return (a && 'value' in a ? a.value : undefined) as T;
      },
      isTensor: (i) => call.args[i] !== undefined && 'tensor' in call.args[i]!,
      value: (i) => values[tensorArg(i)]!,
      input: (i) => this.use(tensorArg(i)),
      inputList: (i) => listArg(i).map((id) => this.use(id)),
      valueList: (i) => listArg(i).map((id) => values[id]!),
      output: (k = 0) => this.nameOf(call.outputs[k]!),
      outValue: (k = 0) => values[call.outputs[k]!]!,
      altShape: (v) => this.alt.values[v.id]!.shape,
      node: (opType, inputs, attributes, outputs) => this.node(opType, inputs, attributes, outputs, base),
      ints: (v) => this.constant([v.length], 'int64', BigInt64Array.from(v, (x) => BigInt(x))),
      floats: (v) => this.constant([v.length], 'float32', Float32Array.from(v)),
      scalar: (value, dtype) => this.constant([], dtype, scalarData(value, dtype)),
      initializer: (dims, dtype, data) => this.constant(dims, dtype, data),
    };
  }

  private node(opType: string, inputs: string[], attributes: Record<string, AttrValue> | undefined, outputs: string[] | undefined, base: string): string {
    const outs = outputs ?? [this.claimName(`${base}/${opType}_${this.temp++}`)];
    this.nodes.push({ name: `${base}/${opType}_${this.nodes.length}`, opType, input: inputs, output: outs, ...(attributes ? { attributes } : {}) });
    return outs[0]!;
  }

  /** The ONNX name of a traced value, registering a parameter or constant as an initializer. */
  private use(id: number): string {
    const v = this.trace.values[id]!;
    const name = this.nameOf(id);
    if ((v.source === 'param' || v.source === 'const') && !this.initialized.has(name)) {
      if (!v.data) throw new Error(`constant ${name} was traced without its data`);
      this.initialized.add(name);
      this.initializers.push(tensorProto(name, v.shape, v.dtype, v.data));
    }
    return name;
  }

  private nameOf(id: number): string {
    const known = this.names.get(id);
    if (known) return known;
    const v = this.trace.values[id]!;
    const call = this.producer.get(id);
    const name =
      v.source === 'input' ? (this.norm ? `${this.inputName}_normalized` : this.inputName) : v.source === 'param' ? v.name! : call ? `${call.module || 'model'}/${call.name.replace(/^aten::/, '')}_${id}` : `const_${id}`;
    return this.claim(id, name);
  }

  private claim(id: number, name: string): string {
    const unique = this.claimName(name);
    this.names.set(id, unique);
    return unique;
  }

  private claimName(name: string): string {
    let unique = name;
    for (let k = 1; this.usedNames.has(unique); k++) unique = `${name}_${k}`;
    this.usedNames.add(unique);
    return unique;
  }

  private constant(dims: readonly number[], dtype: DType, data: Float32Array | BigInt64Array | Float64Array | Int32Array | Uint8Array): string {
    const name = this.claimName(`const_${this.initializers.length}`);
    this.initialized.add(name);
    this.initializers.push(tensorProto(name, dims, dtype, data));
    return name;
  }

  /** Every node input is the graph input, an initializer or another node's output; every output is made. */
  private checkWired(outputs: string[]): void {
    const made = new Set<string>([this.inputName, ...this.initialized]);
    for (const n of this.nodes) {
      for (const i of n.input) if (i && !made.has(i)) throw new Error(`ONNX export: node ${n.name} reads ${i}, which nothing before it writes (a mapping left a result out)`);
      for (const o of n.output) made.add(o);
    }
    for (const o of outputs) if (!made.has(o)) throw new Error(`ONNX export: output ${o} is not written by any node`);
  }
}

function scalarData(value: number, dtype: DType): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array {
  switch (dtype) {
    case 'float32':
      return Float32Array.of(value);
    case 'float64':
      return Float64Array.of(value);
    case 'int64':
      return BigInt64Array.of(BigInt(Math.trunc(value)));
    case 'int32':
      return Int32Array.of(value);
    case 'bool':
    case 'uint8':
      return Uint8Array.of(Number(value));
    default:
      throw new Error(`a ${dtype} constant is not supported`);
  }
}

