/**
 * Checking a merged pipeline against the node type registry: known types,
 * params valid under each type's JSON Schema (defaults applied), inputs that
 * name existing outputs of the same artifact kind, nothing required left
 * unconnected, no cycles. Every problem becomes a diagnostic with the YAML
 * location of the offending key or value and the node id.
 */
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { getNodeType, nodeTypeNames } from '../nodes/index.ts';
import { Diagnostics, type Loc } from './errors.ts';
import { isPlainObject } from './merge.ts';
import type { LocTable } from './yaml-source.ts';
import type { NodeType } from './types.ts';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
const compiled = new WeakMap<NodeType, ValidateFunction>();

export interface InputRef {
  node: string;
  port: string;
  loc?: Loc;
}

export interface PipelineNode {
  id: string;
  type: NodeType;
  /** Validated params with the schema's defaults applied. */
  params: Record<string, unknown>;
  /** Single-artifact ports. */
  inputs: Record<string, InputRef>;
  /** Ports declared `multiple`, in the order written. */
  inputLists: Record<string, InputRef[]>;
  /** Upstream node ids, each once. */
  deps: string[];
  loc?: Loc;
}

/** Ids of the nodes feeding `port` of `n` (one, or the list in order). */
export function portNodes(n: PipelineNode, port: string): string[] {
  if (n.inputs[port]) return [n.inputs[port].node];
  return (n.inputLists[port] ?? []).map((r) => r.node);
}

const NODE_FIELDS = ['type', 'params', 'inputs', 'description'];
const ID = /^[A-Za-z_][\w-]*$/;

function validatorFor(t: NodeType): ValidateFunction {
  let v = compiled.get(t);
  if (!v) {
    v = ajv.compile(t.params as object);
    compiled.set(t, v);
  }
  return v;
}

/** Validate `params` of one node in place (defaults are written into it). */
export function checkParams(
  id: string,
  t: NodeType,
  params: Record<string, unknown>,
  locs: LocTable,
  diags: Diagnostics,
): void {
  const base = ['nodes', id, 'params'];
  const schema = t.params as Record<string, any>;
  const props = schema.properties as Record<string, unknown> | undefined;
  if (props && schema.additionalProperties === undefined) {
    // A schema that does not forbid extra keys still should: a misspelt
    // param silently ignored is the worst kind of ablation bug.
    for (const k of Object.keys(params)) {
      if (!(k in props)) diags.add(locs.key([...base, k]), unknownParam(k, t), id);
    }
  }
  const validate = validatorFor(t);
  if (validate(params)) return;
  for (const e of validate.errors ?? []) {
    const segs = e.instancePath.split('/').slice(1).map(decodeURIComponent);
    diags.add(...paramError(e, segs, base, t, params, locs), id);
  }
}

function unknownParam(k: string, t: NodeType): string {
  const known = Object.keys((t.params as any).properties ?? {}).join(', ') || 'none';
  return `unknown param "${k}" for type "${t.type}" (params: ${known})`;
}

function paramError(
  e: ErrorObject,
  segs: string[],
  base: string[],
  t: NodeType,
  params: Record<string, unknown>,
  locs: LocTable,
): [Loc | undefined, string] {
  const name = segs.join('.');
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    const full = [...segs, extra].join('.');
    const m = segs.length ? `unknown param "${full}"` : unknownParam(extra, t);
    return [locs.key([...base, ...segs, extra]), m];
  }
  if (e.keyword === 'required') {
    const miss = String((e.params as { missingProperty: string }).missingProperty);
    return [
      locs.key(['nodes', ...base.slice(1, 2)]),
      `missing required param "${[...segs, miss].join('.')}" for type "${t.type}"`,
    ];
  }
  let got: unknown = params;
  for (const s of segs) got = (got as Record<string, unknown>)?.[s];
  const detail =
    e.keyword === 'enum'
      ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')}`
      : (e.message ?? 'is invalid');
  return [locs.value([...base, ...segs]), `param "${name}" ${detail} (got ${JSON.stringify(got)})`];
}

/** Build and check all nodes; returns them in topological order. */
export function checkNodes(nodesRaw: unknown, locs: LocTable, diags: Diagnostics): PipelineNode[] {
  if (!isPlainObject(nodesRaw) || Object.keys(nodesRaw).length === 0) {
    diags.add(
      locs.value(['nodes']),
      'a pipeline needs a `nodes:` map of node id -> {type, params, inputs}',
    );
    return [];
  }
  const nodes = new Map<string, PipelineNode>();
  for (const [id, raw] of Object.entries(nodesRaw)) {
    const n = checkNode(id, raw, locs, diags);
    if (n) nodes.set(id, n);
  }
  for (const n of nodes.values()) checkEdges(n, nodes, locs, diags);
  return topoOrder(nodes, diags);
}

function checkNode(
  id: string,
  raw: unknown,
  locs: LocTable,
  diags: Diagnostics,
): PipelineNode | undefined {
  const at = ['nodes', id];
  if (!ID.test(id)) {
    diags.add(
      locs.key(at),
      `node id "${id}" must be letters, digits, _ or - (no dots: inputs use <node>.<port>)`,
    );
  }
  if (!isPlainObject(raw)) {
    diags.add(
      locs.value(at),
      'a node must be a map with `type:` (and optional params, inputs)',
      id,
    );
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!NODE_FIELDS.includes(k)) {
      diags.add(
        locs.key([...at, k]),
        `unknown field "${k}" (expected ${NODE_FIELDS.join(', ')})`,
        id,
      );
    }
  }
  if (typeof raw.type !== 'string') {
    diags.add(
      locs.key(at),
      `missing "type:" (known types: ${nodeTypeNames().join(', ') || 'none registered'})`,
      id,
    );
    return undefined;
  }
  const t = getNodeType(raw.type);
  if (!t) {
    diags.add(
      locs.value([...at, 'type']),
      `unknown node type "${raw.type}" (known types: ${nodeTypeNames().join(', ') || 'none registered'})`,
      id,
    );
    return undefined;
  }
  let params: Record<string, unknown> = {};
  if (raw.params !== undefined && !isPlainObject(raw.params)) {
    diags.add(locs.value([...at, 'params']), '`params` must be a map of name: value', id);
  } else params = structuredClone((raw.params ?? {}) as Record<string, unknown>);
  checkParams(id, t, params, locs, diags);

  const node: PipelineNode = {
    id,
    type: t,
    params,
    inputs: {},
    inputLists: {},
    deps: [],
    loc: locs.key(at),
  };
  const inputs = raw.inputs ?? {};
  if (!isPlainObject(inputs)) {
    diags.add(locs.value([...at, 'inputs']), '`inputs` must be a map of port: <node>.<port>', id);
    return node;
  }
  for (const [port, v] of Object.entries(inputs)) {
    const spec = t.inputs[port];
    const ploc = [...at, 'inputs', port];
    if (!spec) {
      const ports = Object.keys(t.inputs).join(', ') || 'none';
      diags.add(
        locs.key(ploc),
        `type "${t.type}" has no input port "${port}" (ports: ${ports})`,
        id,
      );
      continue;
    }
    if (spec.multiple) {
      const list = Array.isArray(v) ? v : [v];
      node.inputLists[port] = list.flatMap((x, i) =>
        parseRef(x, Array.isArray(v) ? [...ploc, i] : ploc, id, locs, diags),
      );
    } else if (Array.isArray(v)) {
      diags.add(locs.value(ploc), `input "${port}" takes one artifact, not a list`, id);
    } else {
      const r = parseRef(v, ploc, id, locs, diags);
      if (r.length) node.inputs[port] = r[0];
    }
  }
  for (const [port, spec] of Object.entries(t.inputs)) {
    if (spec.optional || port in inputs) continue;
    diags.add(
      locs.key(at),
      `missing input "${port}" (kind ${spec.kind}); connect it as inputs: { ${port}: <node>.<port> }`,
      id,
    );
  }
  return node;
}

function parseRef(
  v: unknown,
  at: (string | number)[],
  id: string,
  locs: LocTable,
  diags: Diagnostics,
): InputRef[] {
  const m = typeof v === 'string' ? /^([^.\s]+)\.([^.\s]+)$/.exec(v) : null;
  if (!m) {
    diags.add(
      locs.value(at),
      `input ${JSON.stringify(v)} must be written <node>.<output port>`,
      id,
    );
    return [];
  }
  return [{ node: m[1], port: m[2], loc: locs.value(at) }];
}

function checkEdges(
  n: PipelineNode,
  nodes: Map<string, PipelineNode>,
  locs: LocTable,
  diags: Diagnostics,
): void {
  const refs: [string, InputRef][] = [
    ...Object.entries(n.inputs),
    ...Object.entries(n.inputLists).flatMap(([p, l]) => l.map((r) => [p, r] as [string, InputRef])),
  ];
  const deps = new Set<string>();
  for (const [port, r] of refs) {
    const up = nodes.get(r.node);
    if (!up) {
      const have = [...nodes.keys()].join(', ');
      diags.add(
        r.loc,
        `input "${port}" names node "${r.node}", which is not in the pipeline (nodes: ${have})`,
        n.id,
      );
      continue;
    }
    const out = up.type.outputs[r.port];
    if (!out) {
      const ports = Object.keys(up.type.outputs).join(', ') || 'none';
      diags.add(
        r.loc,
        `input "${port}" names output "${r.node}.${r.port}", but type "${up.type.type}" has outputs: ${ports}`,
        n.id,
      );
      continue;
    }
    const want = n.type.inputs[port].kind;
    if (out.kind !== want) {
      diags.add(
        r.loc,
        `input "${port}" expects kind ${want}, but ${r.node}.${r.port} is kind ${out.kind}`,
        n.id,
      );
      continue;
    }
    deps.add(r.node);
  }
  n.deps = [...deps];
}

/** Kahn's algorithm, ties broken by the order nodes were written. */
function topoOrder(nodes: Map<string, PipelineNode>, diags: Diagnostics): PipelineNode[] {
  const indeg = new Map<string, number>();
  const down = new Map<string, string[]>();
  for (const n of nodes.values()) {
    indeg.set(n.id, n.deps.length);
    for (const d of n.deps) down.set(d, [...(down.get(d) ?? []), n.id]);
  }
  const ready = [...nodes.keys()].filter((id) => indeg.get(id) === 0);
  const out: PipelineNode[] = [];
  while (ready.length) {
    const id = ready.shift()!;
    out.push(nodes.get(id)!);
    for (const c of down.get(id) ?? []) {
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) ready.push(c);
    }
  }
  if (out.length < nodes.size) {
    const left = new Set([...nodes.keys()].filter((id) => !out.some((n) => n.id === id)));
    const cycle = findCycle(left, nodes);
    const first = nodes.get(cycle[0])!;
    const edge = [...Object.values(first.inputs), ...Object.values(first.inputLists).flat()].find(
      (r) => r.node === cycle[1],
    );
    diags.add(
      edge?.loc ?? first.loc,
      `cycle: ${[...cycle].reverse().join(' -> ')} (a node cannot depend on its own output)`,
      first.id,
    );
  }
  return out;
}

/** A cycle among `left`, as [a, b, ..., a] following input edges upstream. */
function findCycle(left: Set<string>, nodes: Map<string, PipelineNode>): string[] {
  const start = [...left][0];
  const path: string[] = [];
  const seen = new Map<string, number>();
  let cur = start;
  while (!seen.has(cur)) {
    seen.set(cur, path.length);
    path.push(cur);
    cur = nodes.get(cur)!.deps.find((d) => left.has(d))!;
  }
  return [...path.slice(seen.get(cur)!), cur];
}
