/**
 * The registry of node types. A pipeline's `type:` must name one of these.
 */
import type { NodeType } from '../runner/types.ts';

const registry = new Map<string, NodeType>();

export function registerNodeType(t: NodeType): void {
  if (registry.has(t.type)) throw new Error(`node type "${t.type}" registered twice`);
  registry.set(t.type, t);
}

export function getNodeType(name: string): NodeType | undefined {
  return registry.get(name);
}

export function nodeTypeNames(): string[] {
  return [...registry.keys()].sort();
}

/** Import every built-in node type module once (each registers itself). */
let loaded: Promise<void> | null = null;
export function loadBuiltinNodeTypes(): Promise<void> {
  loaded ??= (async () => {
    const modules = [
      './dataset.ts',
      './synthetic-benchmark.ts',
      './metrics.ts',
      './method/index.ts',
    ];
    for (const m of modules) {
      try {
        await import(m);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
        // A module that is not written yet simply contributes no types.
        // (Only while the project is being assembled; the test suite checks
        // that every listed module exists.)
        if (!String((e as Error).message).includes(m.slice(2))) throw e;
      }
    }
  })();
  return loaded;
}
