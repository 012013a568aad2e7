/**
 * `${name}` references from node params (and from other top-level params)
 * to top-level params. A value that is exactly `${name}` takes the
 * referenced value with its type (a number stays a number, a list a list);
 * inside a longer string the value is interpolated as text. `$${` writes a
 * literal `${`. Dotted names (`${encoder.layers}`) walk into maps.
 */
import { Diagnostics } from './errors.ts';
import { isPlainObject } from './merge.ts';
import type { LocTable, PathSeg } from './yaml-source.ts';

const WHOLE = /^\$\{([A-Za-z_][\w.-]*)\}$/;
const ANY = /\$\$\{|\$\{([^}]*)\}/g;

export function resolveRefs(
  data: Record<string, unknown>,
  locs: LocTable,
  diags: Diagnostics,
): void {
  const params = isPlainObject(data.params) ? data.params : {};
  const resolving = new Set<string>();
  const done = new Map<string, unknown>();

  const lookup = (name: string, at: PathSeg[], node?: string): unknown => {
    if (done.has(name)) return done.get(name);
    let cur: unknown = params;
    for (const seg of name.split('.')) {
      if (!isPlainObject(cur) || !(seg in cur)) {
        const known = Object.keys(params).join(', ') || 'none';
        diags.add(
          locs.value(at),
          `unknown parameter reference \${${name}} (top-level params: ${known})`,
          node,
        );
        return undefined;
      }
      cur = cur[seg];
    }
    if (resolving.has(name)) {
      diags.add(locs.value(at), `parameter \${${name}} refers to itself`, node);
      return undefined;
    }
    resolving.add(name);
    const v = subst(cur, ['params', ...name.split('.')], undefined);
    resolving.delete(name);
    done.set(name, v);
    return v;
  };

  const subst = (v: unknown, at: PathSeg[], node: string | undefined): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) return structuredClone(lookup(whole[1], at, node));
      if (!v.includes('${')) return v;
      return v.replace(ANY, (m, name: string | undefined) => {
        if (m === '$${') return '${';
        const x = lookup(String(name), at, node);
        return typeof x === 'string' ? x : JSON.stringify(x);
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => subst(x, [...at, i], node));
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = subst(x, [...at, k], node);
      return out;
    }
    return v;
  };

  for (const k of Object.keys(params)) params[k] = lookup(k, ['params', k]);
  if (isPlainObject(data.nodes)) {
    for (const [id, n] of Object.entries(data.nodes)) {
      if (isPlainObject(n) && n.params !== undefined) {
        n.params = subst(n.params, ['nodes', id, 'params'], id);
      }
    }
  }
}

/** Names of top-level params that a node param takes whole (`x: ${name}`). */
export function wholeRef(v: unknown): string | undefined {
  return typeof v === 'string' ? WHOLE.exec(v)?.[1] : undefined;
}
