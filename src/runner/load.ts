/**
 * Loading a pipeline: read the YAML (following `extends`), apply overrides,
 * resolve `${param}` references, validate every node against its type, and
 * return the nodes in topological order with their locations.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, normalize, resolve } from 'node:path';
import { loadBuiltinNodeTypes, getNodeType } from '../nodes/index.ts';
import { Diagnostics, type Loc } from './errors.ts';
import { isPlainObject, mergeInto } from './merge.ts';
import {
  coerce,
  dataPath,
  getAt,
  schemaAt,
  setAt,
  type Override,
  type Schema,
} from './overrides.ts';
import { resolveRefs, wholeRef } from './refs.ts';
import { yamlSweep, type SweepPoint } from './sweep.ts';
import { checkNodes, type PipelineNode } from './validate.ts';
import { LocTable, readYamlFile } from './yaml-source.ts';

export interface Pipeline {
  /** The path as given (shown in messages and run records). */
  file: string;
  name: string;
  /** Resolved top-level params. */
  params: Record<string, unknown>;
  /** Nodes in topological order. */
  nodes: PipelineNode[];
  byId: Map<string, PipelineNode>;
  /** What overrides set, typed: `{ "params.alpha": 0.7 }`. */
  overrides: Record<string, unknown>;
  /** The output whose metrics.json is copied into the run record. */
  metrics?: { node: string; port: string };
  /** Points of the file's `sweep:` block (empty when none). */
  sweep: SweepPoint[];
  /** Fully merged, overridden, resolved data (defaults applied). */
  resolved: Record<string, unknown>;
  locs: LocTable;
}

export interface LoadOptions {
  overrides?: Override[];
}

const TOP_FIELDS = ['name', 'description', 'extends', 'params', 'nodes', 'sweep', 'metrics'];

interface Raw {
  data: Record<string, unknown>;
  locs: LocTable;
}

function loadRaw(abs: string, shown: string, chain: string[], diags: Diagnostics): Raw {
  const src = readYamlFile(abs, shown);
  if (!isPlainObject(src.data)) {
    diags.add(src.locs.value([]), 'a pipeline file must be a map with a `nodes:` field');
    diags.throwIfAny();
  }
  const data = src.data as Record<string, unknown>;
  if (data.extends === undefined) return { data, locs: src.locs };

  const extLoc = src.locs.value(['extends']);
  if (typeof data.extends !== 'string') {
    diags.add(extLoc, '`extends` must be a path to another pipeline file');
    diags.throwIfAny();
  }
  const ext = data.extends as string;
  const parentAbs = resolve(dirname(abs), ext);
  // an absolute `extends` is shown as written, a relative one next to its file
  const parentShown = isAbsolute(ext) ? normalize(ext) : normalize(join(dirname(shown), ext));
  if (chain.includes(parentAbs) || parentAbs === abs) {
    diags.add(
      extLoc,
      `extends ${ext} makes a loop (${[...chain, abs, parentAbs].map((p) => basename(p)).join(' -> ')})`,
    );
    diags.throwIfAny();
  }
  if (!existsSync(parentAbs)) {
    diags.add(extLoc, `extends: cannot find ${parentShown} (paths are relative to this file)`);
    diags.throwIfAny();
  }
  const parent = loadRaw(parentAbs, parentShown, [...chain, abs], diags);
  const child = { ...data };
  delete child.extends;
  // A name names the file that declares it; an ablation does not inherit it.
  const parentData = { ...parent.data };
  delete parentData.name;
  const locs = new LocTable();
  locs.absorb(parent.locs);
  const merged = mergeInto(parentData, child, locs, src.locs) as Record<string, unknown>;
  return { data: merged, locs };
}

/** Read, merge, override, resolve and validate; throws PipelineError. */
export async function loadPipeline(file: string, opts: LoadOptions = {}): Promise<Pipeline> {
  await loadBuiltinNodeTypes();
  const diags = new Diagnostics();
  const abs = resolve(file);
  const { data, locs } = loadRaw(abs, file, [], diags);

  for (const k of Object.keys(data)) {
    if (!TOP_FIELDS.includes(k)) {
      diags.add(
        locs.key([k]),
        `unknown top-level field "${k}" (expected ${TOP_FIELDS.join(', ')})`,
      );
    }
  }
  const sweep = yamlSweep(data.sweep, locs, diags);
  const overrides = applyOverrides(data, locs, opts.overrides ?? [], diags);
  diags.throwIfAny();

  resolveRefs(data, locs, diags);
  const nodes = checkNodes(data.nodes, locs, diags);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const metrics = pickMetrics(data.metrics, nodes, byId, locs, diags);
  diags.throwIfAny();

  const name = typeof data.name === 'string' ? data.name : basename(file, extname(file));
  const params = (isPlainObject(data.params) ? data.params : {}) as Record<string, unknown>;
  const resolved: Record<string, unknown> = { name, params, nodes: {} };
  for (const n of nodes) {
    const raw = (data.nodes as Record<string, Record<string, unknown>>)[n.id];
    (resolved.nodes as Record<string, unknown>)[n.id] = {
      type: n.type.type,
      ...(raw.inputs !== undefined ? { inputs: raw.inputs } : {}),
      params: n.params,
    };
  }
  if (data.metrics !== undefined) resolved.metrics = data.metrics;
  return { file, name, params, nodes, byId, overrides, metrics, sweep, resolved, locs };
}

/** The schema a value at `segs` must satisfy, for typing command-line text. */
function targetSchema(data: Record<string, unknown>, segs: string[]): Schema | undefined {
  if (segs[0] === 'nodes' && segs[2] === 'params') {
    const type = getAt(data, ['nodes', segs[1], 'type']);
    const t = typeof type === 'string' ? getNodeType(type) : undefined;
    return t ? schemaAt(t.params as Schema, segs.slice(3)) : undefined;
  }
  if (segs[0] === 'params' && segs.length >= 2) {
    // A top-level param has no schema of its own: it takes the schema of a
    // node param that uses it whole (`alpha: ${alpha}`).
    const name = segs.slice(1).join('.');
    for (const [, n] of Object.entries((data.nodes ?? {}) as Record<string, any>)) {
      const t = typeof n?.type === 'string' ? getNodeType(n.type) : undefined;
      if (!t || !isPlainObject(n.params)) continue;
      for (const [k, v] of Object.entries(n.params)) {
        if (wholeRef(v) === name) return schemaAt(t.params as Schema, [k]);
      }
    }
  }
  return undefined;
}

function applyOverrides(
  data: Record<string, unknown>,
  locs: LocTable,
  list: Override[],
  diags: Diagnostics,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nodeIds = Object.keys(isPlainObject(data.nodes) ? data.nodes : {});
  for (const o of list) {
    const flag: Loc = {
      file: '',
      line: 0,
      col: 0,
      flag: o.loc ? `${o.source} (${o.loc.file}:${o.loc.line}:${o.loc.col})` : o.source,
    };
    let segs: string[];
    try {
      segs = dataPath(o.path, nodeIds);
    } catch (e) {
      diags.add(flag, (e as Error).message);
      continue;
    }
    const params = isPlainObject(data.params) ? data.params : {};
    if (segs[0] === 'params' && segs.length > 1 && !(segs[1] in params)) {
      // Setting a top-level param nothing declares is almost always a typo
      // that would leave the run unchanged.
      const known = Object.keys(params).join(', ') || 'none';
      diags.add(
        flag,
        `no top-level param "${segs[1]}" (params: ${known}); declare it under params: first`,
      );
      continue;
    }
    const node = segs[0] === 'nodes' ? segs[1] : undefined;
    if (node !== undefined && !nodeIds.includes(node)) {
      diags.add(flag, `no node "${node}" in the pipeline (nodes: ${nodeIds.join(', ')})`);
      continue;
    }
    let value = o.value;
    if (o.text !== undefined) {
      try {
        value = coerce(o.text, targetSchema(data, segs), getAt(data, segs));
      } catch (e) {
        const what = node ? `param "${segs.slice(3).join('.')}"` : `"${o.path}"`;
        diags.add(flag, `${what}: ${(e as Error).message}`, node);
        continue;
      }
    }
    setAt(data, segs, value);
    locs.dropBelow(segs);
    locs.set(segs, { key: flag, value: flag });
    out[o.path] = value;
  }
  return out;
}

function pickMetrics(
  spec: unknown,
  nodes: PipelineNode[],
  byId: Map<string, PipelineNode>,
  locs: LocTable,
  diags: Diagnostics,
): { node: string; port: string } | undefined {
  if (spec !== undefined) {
    const m = typeof spec === 'string' ? /^([^.]+)\.([^.]+)$/.exec(spec) : null;
    const n = m ? byId.get(m[1]) : undefined;
    if (!m || !n || n.type.outputs[m[2]]?.kind !== 'metrics') {
      diags.add(
        locs.value(['metrics']),
        '`metrics` must name an output of kind metrics as <node>.<port>',
      );
      return undefined;
    }
    return { node: m[1], port: m[2] };
  }
  let found: { node: string; port: string } | undefined;
  for (const n of nodes) {
    for (const [port, spec] of Object.entries(n.type.outputs)) {
      if (spec.kind === 'metrics') found = { node: n.id, port };
    }
  }
  return found;
}
