/**
 * The contract between the runner and every node type.
 *
 * A node type is registered in code (see `src/nodes/index.ts`). It declares
 * its parameters as a JSON Schema (validated with ajv, defaults applied), its
 * typed input and output ports, and an implementation version. The runner
 * derives each node's cache key from exactly these declarations, so a node's
 * `run` must be a pure function of (params, inputs, runtime fields listed by
 * `keyRuntime`).
 */
import type { JSONSchemaType } from 'ajv';

/**
 * What flows along an edge. A port of kind K only connects to a port of
 * kind K; the loader rejects anything else with the YAML location.
 */
export type ArtifactKind =
  | 'folder' //          a directory tree (e.g. a generated benchmark)
  | 'dataset' //         samples.json: images, labels, mask paths
  | 'features' //        per-image CLIP features (global, patch maps, memory tokens)
  | 'attention-entropy' // per-image, per-layer structural entropy
  | 'memory-bank' //     image and patch memories of the auxiliary set
  | 'model' //           trained parameters (Stage 1 or Stage 2)
  | 'retrieval' //       a_ret and patch evidence p_i per image
  | 'routed-tokens' //   t_n, t_a (and the gate) per image
  | 'anomaly-maps' //    per-image anomaly maps
  | 'scores' //          per-image anomaly scores
  | 'metrics' //         metrics.json
  | 'report'; //         human-facing tables / plots

export interface PortSpec {
  kind: ArtifactKind;
  /** An optional input may be left unconnected. */
  optional?: boolean;
  /**
   * An input that takes a list of artifacts (YAML: `port: [a.out, b.out]`).
   * They arrive in `ctx.inputLists[port]`, in the order written.
   */
  multiple?: boolean;
  description?: string;
}

/** A finished artifact handed to a downstream node. */
export interface Artifact {
  kind: ArtifactKind;
  /** Directory holding the port's files (read-only for consumers). */
  dir: string;
  /** Cache key of the producing node (hex sha256). */
  key: string;
}

export interface ProgressReporter {
  /** Declare (or re-declare) the amount of work. */
  total(n: number, label?: string): void;
  /** Advance by `n` units (default 1). */
  tick(n?: number): void;
}

export interface NodeLogger {
  /** Structured record for log.jsonl; `msg` is also shown with --verbose. */
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Machine-oriented record (loss per step, timings) - log.jsonl only. */
  data(event: string, fields: Record<string, unknown>): void;
}

/** Settings of this invocation that are not pipeline params. */
export interface RuntimeOptions {
  /** tfjs backend actually in use: 'wasm' | 'tensorflow' | 'cpu'. */
  backend: string;
  /** Frozen-encoder engine: 'tfjs' | 'onnx'. */
  engine: string;
  /** Max concurrent nodes (-j). */
  jobs: number;
  /** Worker threads a heavy node may use. */
  workers: number;
  verbose: boolean;
}

export interface NodeContext<P = Record<string, unknown>> {
  nodeId: string;
  /** Validated params with defaults applied. */
  params: P;
  /** Connected inputs by port name (optional ports may be absent). */
  inputs: Record<string, Artifact>;
  /** Inputs of ports declared `multiple`, in the order written. */
  inputLists: Record<string, Artifact[]>;
  /**
   * Output directories by port name. They live in a private staging area;
   * the runner commits them atomically to the cache only after `run`
   * resolves, so a node that throws leaves nothing behind.
   */
  outputs: Record<string, string>;
  /** Scratch directory, deleted after the node finishes. */
  tmpDir: string;
  runtime: RuntimeOptions;
  log: NodeLogger;
  progress: ProgressReporter;
  /** Aborted on Ctrl-C or when the run is stopped. */
  signal: AbortSignal;
  /** This node's cache key. */
  key: string;
}

export interface NodeResult {
  /**
   * For `volatile` node types only: a JSON value describing the output's
   * content (e.g. relative paths and file hashes of a dataset). The node's
   * key is derived from it, so equal content gives equal keys wherever the
   * files live.
   */
  contentKey?: unknown;
  /** Short human summary for the run record (e.g. "120 images"). */
  summary?: string;
}

export interface NodeType<P = any> {
  /** Name used as `type:` in YAML. */
  type: string;
  /**
   * Implementation version. Bump it whenever a change could alter outputs:
   * it is part of every cache key of this type.
   */
  version: string;
  description: string;
  /** JSON Schema of `params`; `default`s are applied before hashing. */
  params: JSONSchemaType<P> | Record<string, unknown>;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  /**
   * Volatile nodes are never stored in the cache: they run every time
   * (cheaply) and report a `contentKey`. Used for dataset listing, where
   * the params hold a path that must not enter the key.
   */
  volatile?: boolean;
  /**
   * What of the params enters the key (default: all resolved params). A
   * node whose params name a file (model weights) returns the file's content
   * digest in its place, so moving the file re-runs nothing.
   */
  keyParams?: (params: P) => unknown | Promise<unknown>;
  /**
   * Runtime fields that change this node's numbers and so must be part of
   * its key (e.g. the tfjs backend for feature extraction).
   */
  keyRuntime?: (runtime: RuntimeOptions, params: P) => Record<string, unknown>;
  /**
   * The node uses TensorFlow.js: the runner initialises the backend
   * (`--backend`) once, before the first key is computed, only when some
   * node of the plan sets this; otherwise run.json records backend "none".
   */
  needsTf?: boolean;
  /** Rough weight for scheduling/progress: 'light' nodes may share a slot. */
  heavy?: boolean;
  run(ctx: NodeContext<P>): Promise<NodeResult | void>;
}
