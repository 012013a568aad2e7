/**
 * Why a node's key changed: compare the key ingredients recorded by the
 * last run of a pipeline (kept in `<cache>/index/<name>.json`) with the ones
 * computed now, and name the ingredient that differs.
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonical, type KeyIngredients } from './key.ts';
import { isPlainObject } from './merge.ts';

export interface IndexEntry {
  key: string;
  ingredients: KeyIngredients;
  at: string;
  /** Volatile nodes only: their params and input keys (canonical JSON). */
  params?: string;
}

export interface RunIndex {
  pipeline: string;
  nodes: Record<string, IndexEntry>;
}

const fileOf = (cacheDir: string, name: string) =>
  join(cacheDir, 'index', `${name.replace(/[^\w.-]/g, '_')}.json`);

export async function readIndex(cacheDir: string, name: string): Promise<RunIndex | undefined> {
  try {
    return JSON.parse(await readFile(fileOf(cacheDir, name), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The last key of a volatile node with these params and ingredients
 * (content aside) in any pipeline's index: an ablation that never ran lists
 * the same dataset as its parent did, so its dry run can say what is cached
 * below it.
 */
export async function lastVolatileKey(
  cacheDir: string,
  identity: string,
  ing: { content?: unknown },
): Promise<{ key: string; pipeline: string } | undefined> {
  const { content: _c, ...want } = ing;
  const wanted = canonical(want);
  let files: string[];
  try {
    files = await readdir(join(cacheDir, 'index'));
  } catch {
    return undefined;
  }
  for (const f of files.filter((x) => x.endsWith('.json')).sort()) {
    let idx: RunIndex;
    try {
      idx = JSON.parse(await readFile(join(cacheDir, 'index', f), 'utf8'));
    } catch {
      continue;
    }
    for (const e of Object.values(idx.nodes ?? {})) {
      if (e.params !== identity) continue;
      const { content: _x, ...have } = (e.ingredients ?? {}) as { content?: unknown };
      if (canonical(have) === wanted) return { key: e.key, pipeline: idx.pipeline };
    }
  }
  return undefined;
}

/** Record this run's ingredients (nodes not in this run are kept). */
export async function writeIndex(
  cacheDir: string,
  name: string,
  pipeline: string,
  nodes: Record<string, IndexEntry>,
): Promise<void> {
  const prev = await readIndex(cacheDir, name);
  const next: RunIndex = { pipeline, nodes: { ...(prev?.nodes ?? {}), ...nodes } };
  const f = fileOf(cacheDir, name);
  const tmp = `${f}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(next, null, 1));
  await rename(tmp, f);
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? 'unset' : s.length > 60 ? s.slice(0, 57) + '...' : s;
};

/** Leaf-level differences of two JSON values, as `path: a -> b`. */
function diffValues(a: unknown, b: unknown, path: string, out: string[]): void {
  if (canonical(a) === canonical(b)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diffValues(a[k], b[k], path ? `${path}.${k}` : k, out);
    }
    return;
  }
  out.push(`${path} ${show(a)} -> ${show(b)}`);
}

/**
 * Human lines naming each changed ingredient; `inputNodes` gives the nodes
 * feeding a port, so an input change names where to look next.
 */
export function diffIngredients(
  prev: KeyIngredients,
  cur: KeyIngredients,
  inputNodes: (port: string) => string[] = () => [],
): string[] {
  const out: string[] = [];
  if (prev.keyFormat !== cur.keyFormat)
    out.push(`key format ${prev.keyFormat} -> ${cur.keyFormat} (runner upgraded)`);
  if (prev.type !== cur.type) out.push(`type ${prev.type} -> ${cur.type}`);
  if (prev.version !== cur.version)
    out.push(`implementation version ${prev.version} -> ${cur.version}`);
  const p: string[] = [];
  diffValues(prev.params, cur.params, '', p);
  out.push(...p.map((d) => `param ${d}`));
  const r: string[] = [];
  diffValues(prev.runtime, cur.runtime, '', r);
  out.push(...r.map((d) => `runtime ${d}`));
  const ports = [
    ...new Set([...Object.keys(prev.inputs ?? {}), ...Object.keys(cur.inputs ?? {})]),
  ].sort();
  for (const port of ports) {
    if (canonical(prev.inputs?.[port]) === canonical(cur.inputs?.[port])) continue;
    const a = prev.inputs?.[port];
    const b = cur.inputs?.[port];
    let from = inputNodes(port);
    // A list port: name only the positions whose key moved.
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
      from = from.filter((_, i) => a[i] !== b[i]);
    const who =
      from.length === 1
        ? `upstream node ${from[0]} has a new key`
        : `upstream nodes ${from.join(', ')} have new keys`;
    out.push(`input ${port} changed${from.length ? ` (${who})` : ''}`);
  }
  if (prev.content !== cur.content) out.push('content changed (the files it lists differ)');
  return out;
}
