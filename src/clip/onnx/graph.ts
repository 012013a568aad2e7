/**
 * A small builder for ONNX graphs: named values, nodes, fp32/int64
 * initializers, and serialisation to a ModelProto (opset 17, which has
 * LayerNormalization; IR version 8).
 *
 * Every value gets a unique name from a running counter, so a graph built
 * twice from the same inputs serialises to the same bytes. Initializer data
 * is kept as views and copied only once, by the protobuf writer.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

// onnx-proto is CommonJS: its namespace arrives as the default export.
const { onnx } = onnxProto;

export const OPSET = 17;
const IR_VERSION = 8;

/** Integers become INT attributes; wrap floats as `{ float: x }`. */
type AttrValue = number | number[] | string | { float: number };

interface Initializer {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly inits: Initializer[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Declare a float32 graph input; string dims are symbolic (e.g. batch). */
  input(name: string, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  /** Expose `value` as graph output `name` (an Identity keeps names free). */
  output(name: string, value: string, dims: (number | string)[]): void {
    this.node('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, dims));
  }

  /** A float32 initializer (the data is viewed, not copied). */
  f32(prefix: string, data: Float32Array, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) {
      throw new Error(`onnx graph: initializer ${prefix} has ${data.length} values for shape [${dims}]`);
    }
    const name = this.fresh(prefix);
    const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.inits.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData });
    return name;
  }

  /** A float32 scalar constant (shape []). */
  scalar(prefix: string, value: number): string {
    return this.f32(prefix, Float32Array.of(value), []);
  }

  /** An int64 1-D constant (shapes, axes, indices). */
  i64(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    const rawData = new Uint8Array(data.buffer);
    this.inits.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData });
    return name;
  }

  /** Add a node; returns the name of its (first) output. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const output = out ?? this.fresh(op.toLowerCase());
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs,
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return output;
  }

  /** Add a node with several outputs (e.g. Split). */
  nodeN(op: string, inputs: string[], nOut: number, attrs: Record<string, AttrValue> = {}): string[] {
    const outputs = Array.from({ length: nOut }, () => this.fresh(op.toLowerCase()));
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** Serialise the model. */
  encode(graphName: string, docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'entroad',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.inits.map((t) => ({
          name: t.name,
          dims: t.dims,
          dataType: t.dataType,
          rawData: t.rawData,
        })),
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'object') return { name, type: T.FLOAT, f: v.float };
  if (!Number.isInteger(v)) {
    throw new Error(`onnx graph: attribute ${name}=${v} is not an integer; wrap floats as { float }`);
  }
  return { name, type: T.INT, i: v };
}
