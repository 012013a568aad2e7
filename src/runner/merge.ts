/**
 * `extends`: a pipeline written as a patch on another one.
 *
 * Rules (documented in docs/PIPELINES.md): maps merge key by key, all the
 * way down; a list in the child replaces the parent's list whole (merging
 * lists by position surprises everyone); a `null` in the child deletes the
 * key. Locations follow the data: a value written by the child points into
 * the child file, an inherited one into the parent.
 */
import { LocTable, type PathSeg } from './yaml-source.ts';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merge `child` onto `base`; `locs` starts as the base's table, is updated. */
export function mergeInto(
  base: unknown,
  child: unknown,
  locs: LocTable,
  childLocs: LocTable,
  path: PathSeg[] = [],
): unknown {
  if (!isPlainObject(base) || !isPlainObject(child)) {
    locs.dropBelow(path);
    copyLocs(childLocs, locs, path);
    return child;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(child)) {
    const p = [...path, k];
    if (v === null) {
      delete out[k];
      locs.dropBelow(p);
      continue;
    }
    out[k] = k in base ? mergeInto(base[k], v, locs, childLocs, p) : v;
    if (!(k in base)) copyLocs(childLocs, locs, p);
    else {
      const own = childLocs.map.get(LocTable.keyOf(p));
      if (own) locs.set(p, own);
    }
  }
  return out;
}

function copyLocs(from: LocTable, to: LocTable, path: PathSeg[]): void {
  const k = LocTable.keyOf(path);
  for (const [key, v] of from.map) {
    if (key === k || key.startsWith(k + '\u0001')) to.map.set(key, v);
  }
}
