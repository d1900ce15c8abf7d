// The part of ONNX's protobuf schema (onnx/onnx.proto) the exporter writes and reads, as a
// protobufjs JSON descriptor with the official field numbers, and the encode/decode of a model.
// Only what a model of plain tensors needs: no sparse tensors, functions, training info or
// external data.
import protobuf from 'protobufjs';
import type { DType, TypedArray } from '../torch/dtype.js';

const int64 = (id: number): { type: string; id: number } => ({ type: 'int64', id });
const repeated = (type: string, id: number): { rule: string; type: string; id: number } => ({ rule: 'repeated', type, id });

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            docString: { type: 'string', id: 13 },
            type: { type: 'AttributeType', id: 20 },
            f: { type: 'float', id: 2 },
            i: int64(3),
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            strings: repeated('bytes', 9),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('GraphProto', 11),
          },
          nested: {
            AttributeType: {
              values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 },
            },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } },
        },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: repeated('AttributeProto', 5),
            docString: { type: 'string', id: 6 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: int64(1),
            opsetImport: repeated('OperatorSetIdProto', 8),
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: int64(5),
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: repeated('StringStringEntryProto', 14),
          },
        },
        StringStringEntryProto: {
          fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } },
        },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: { type: 'string', id: 2 },
            initializer: repeated('TensorProto', 5),
            docString: { type: 'string', id: 10 },
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
            valueInfo: repeated('ValueInfoProto', 13),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            dataType: { type: 'int32', id: 2 },
            floatData: repeated('float', 4),
            int32Data: repeated('int32', 5),
            stringData: repeated('bytes', 6),
            int64Data: repeated('int64', 7),
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
            doubleData: repeated('double', 10),
            uint64Data: repeated('uint64', 11),
          },
          nested: {
            DataType: {
              values: { UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16 },
            },
          },
        },
        TensorShapeProto: {
          fields: { dim: repeated('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: int64(1), dimParam: { type: 'string', id: 2 }, denotation: { type: 'string', id: 3 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: { tensorType: { type: 'Tensor', id: 1 }, denotation: { type: 'string', id: 6 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: 'string', id: 1 }, version: int64(2) },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);
const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX's TensorProto.DataType codes of finprint's dtypes. */
export const ONNX_DTYPE: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16 };

/** AttributeProto.AttributeType codes. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Little-endian element bytes. */
  rawData: Uint8Array;
}

/** An attribute value, tagged with its ONNX type. */
export type AttrValue = { f: number } | { i: number } | { s: string } | { t: OnnxTensor } | { floats: number[] } | { ints: number[] };

export const attr = {
  float: (f: number): AttrValue => ({ f }),
  int: (i: number | boolean): AttrValue => ({ i: Number(i) }),
  str: (s: string): AttrValue => ({ s }),
  tensor: (t: OnnxTensor): AttrValue => ({ t }),
  floats: (floats: readonly number[]): AttrValue => ({ floats: [...floats] }),
  ints: (ints: readonly number[]): AttrValue => ({ ints: [...ints] }),
};

export interface OnnxNode {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attributes?: Record<string, AttrValue>;
  docString?: string;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** A number per fixed dim, a name (e.g. 'batch') per symbolic one. */
  shape: (number | string)[];
}

export interface OnnxModel {
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: { name: string; nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] };
  metadata: Record<string, string>;
}

/** An initializer from a typed array (raw little-endian bytes, as ONNX Runtime reads them fastest). */
export function tensorProto(name: string, dims: readonly number[], dtype: DType, data: TypedArray): OnnxTensor {
  return { name, dims: [...dims], dataType: ONNX_DTYPE[dtype], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function attributeProto(name: string, v: AttrValue): Record<string, unknown> {
  if ('f' in v) return { name, type: ATTR.FLOAT, f: v.f };
  if ('i' in v) return { name, type: ATTR.INT, i: v.i };
  if ('s' in v) return { name, type: ATTR.STRING, s: new TextEncoder().encode(v.s) };
  if ('t' in v) return { name, type: ATTR.TENSOR, t: v.t };
  if ('floats' in v) return { name, type: ATTR.FLOATS, floats: v.floats };
  return { name, type: ATTR.INTS, ints: v.ints };
}

function valueInfoProto(v: OnnxValueInfo): Record<string, unknown> {
  const dim = v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: v.elemType, shape: { dim } } } };
}

/** The model as ONNX protobuf bytes. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const message = {
    irVersion: m.irVersion,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    ...(m.docString ? { docString: m.docString } : {}),
    opsetImport: [{ domain: '', version: m.opset }],
    graph: {
      name: m.graph.name,
      node: m.graph.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: n.input,
        output: n.output,
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attributeProto(k, v)),
        ...(n.docString ? { docString: n.docString } : {}),
      })),
      initializer: m.graph.initializers,
      input: m.graph.inputs.map(valueInfoProto),
      output: m.graph.outputs.map(valueInfoProto),
    },
    metadataProps: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
  };
  const err = ModelProto.verify(message);
  if (err) throw new Error(`ONNX model does not fit the schema: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

export interface OnnxSummary {
  irVersion: number;
  opset: number;
  producer: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Node count per op type. */
  opTypes: Record<string, number>;
  initializers: number;
  metadata: Record<string, string>;
}

interface DecodedModel {
  irVersion?: number;
  producerName?: string;
  opsetImport?: { domain?: string; version?: number }[];
  metadataProps?: { key: string; value: string }[];
  graph?: {
    node?: { opType: string }[];
    initializer?: unknown[];
    input?: DecodedValueInfo[];
    output?: DecodedValueInfo[];
  };
}
interface DecodedValueInfo {
  name: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } };
}

const decodedInfo = (v: DecodedValueInfo): OnnxValueInfo => ({
  name: v.name,
  elemType: v.type?.tensorType?.elemType ?? 0,
  shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam ?? d.dimValue ?? '?'),
});

/** Reads an ONNX file's header: opset, inputs and outputs, op types, metadata_props. */
export function readModelSummary(bytes: Uint8Array): OnnxSummary {
  const m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as DecodedModel;
  const opTypes: Record<string, number> = {};
  for (const n of m.graph?.node ?? []) opTypes[n.opType] = (opTypes[n.opType] ?? 0) + 1;
  return {
    irVersion: m.irVersion ?? 0,
    opset: m.opsetImport?.find((o) => !o.domain)?.version ?? 0,
    producer: m.producerName ?? '',
    inputs: (m.graph?.input ?? []).map(decodedInfo),
    outputs: (m.graph?.output ?? []).map(decodedInfo),
    opTypes,
    initializers: m.graph?.initializer?.length ?? 0,
    metadata: Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key, p.value])),
  };
}
