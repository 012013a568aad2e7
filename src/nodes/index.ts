/**
 * The registry of node types. A pipeline's `type:` must name one of these.
 *
 * `ENTROAD_EXTRA_NODES` (absolute module paths, separated by the platform's
 * path delimiter) adds modules that register more types: how tests give a
 * child process (a second concurrent run, a run killed with -9) their
 * test-only node types, and how a researcher tries a node type out without
 * editing this list. `ENTROAD_BUILTIN_NODES=0` loads only those extra modules.
 */
import { delimiter, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NodeType } from '../runner/types.ts';

const registry = new Map<string, NodeType>();

export function registerNodeType(t: NodeType): void {
  if (registry.has(t.type)) throw new Error(`node type "${t.type}" registered twice`);
  registry.set(t.type, t);
}

/** Remove a type (tests that register throwaway types use it). */
export function unregisterNodeType(name: string): boolean {
  return registry.delete(name);
}

export function getNodeType(name: string): NodeType | undefined {
  return registry.get(name);
}

export function nodeTypeNames(): string[] {
  return [...registry.keys()].sort();
}

/** Modules of the built-in node types, relative to this file. */
export const BUILTIN_MODULES: readonly string[] = [
  './dataset.ts',
  './synthetic-benchmark.ts',
  './metrics.ts',
  './method/index.ts',
];

/** Import every built-in node type module once (each registers itself). */
let loaded: Promise<void> | null = null;
export function loadBuiltinNodeTypes(): Promise<void> {
  loaded ??= (async () => {
    // ENTROAD_BUILTIN_NODES=0 skips the built-in modules (tests of the runner
    // itself, which register their own throwaway types and should not pay
    // for importing tfjs and sharp in every child process).
    const builtin = process.env.ENTROAD_BUILTIN_NODES !== '0';
    const modules = builtin ? BUILTIN_MODULES : [];
    for (const m of modules) await import(m);
    const extra = (process.env.ENTROAD_EXTRA_NODES ?? '').split(delimiter).filter(Boolean);
    for (const m of extra) {
      await import(pathToFileURL(isAbsolute(m) ? m : resolve(m)).href);
    }
  })();
  return loaded;
}
