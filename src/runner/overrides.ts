/**
 * `-S/--set path=value` and `--sweep path=v1,v2,...`.
 *
 * Paths: `params.X[.Y]` is a top-level param; `<nodeId>.X` and
 * `nodes.<nodeId>.params.X` are a node's param; other `nodes.<id>.<field>`
 * paths are taken literally. Values are typed by the JSON Schema of the field
 * they land in, so `-S run_name=001` stays the string "001" when the field is
 * a string, `-S gating.enabled=false` is a boolean, `-S layers=[6,12]` (or
 * `6,12`) a list. A top-level param takes the schema of the node params that
 * reference it whole (`x: ${name}`), else the type of its current value.
 * Quotes keep a comma inside one value: `-S tags='["a,b", c]'`.
 */
import { parse as parseYaml } from 'yaml';
import { isPlainObject } from './merge.ts';
import type { Loc } from './errors.ts';

export type Schema = Record<string, any>;

/** A requested change to the merged pipeline data. */
export interface Override {
  /** The path as the user wrote it (`params.alpha`, `feat.layers`). */
  path: string;
  /** Raw text from the command line, typed later by the target's schema. */
  text?: string;
  /** An already typed value (from a YAML sweep block). */
  value?: unknown;
  /** How to name it in messages: `--set alpha=0.5`, `sweep params.alpha`. */
  source: string;
  loc?: Loc;
}

/** `a.b=c` -> Override; the flag name is used in messages. */
export function parseSetFlag(arg: string, flag = '--set'): Override {
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    throw new Error(`${flag} ${arg}: expected path=value, e.g. ${flag} params.alpha=0.5`);
  }
  return { path: arg.slice(0, eq).trim(), text: arg.slice(eq + 1), source: `${flag} ${arg}` };
}

/** Data path of an override: ['params','alpha'] or ['nodes',id,'params',...]. */
export function dataPath(path: string, nodeIds: string[]): string[] {
  const segs = path.split('.');
  if (segs[0] === 'params' || segs[0] === 'nodes' || segs[0] === 'name') return segs;
  if (nodeIds.includes(segs[0]) && segs.length > 1) {
    return ['nodes', segs[0], 'params', ...segs.slice(1)];
  }
  const hint = nodeIds.length ? `nodes: ${nodeIds.join(', ')}` : 'the pipeline has no nodes';
  throw new Error(`"${path}" is neither params.<name> nor <node>.<param> (${hint})`);
}

/** The sub-schema at `segs` below `schema` (properties / items). */
export function schemaAt(schema: Schema | undefined, segs: string[]): Schema | undefined {
  let cur = schema;
  for (const s of segs) {
    if (!cur) return undefined;
    if (cur.properties && s in cur.properties) cur = cur.properties[s];
    else if (cur.items && /^\d+$/.test(s)) cur = cur.items;
    else return undefined;
  }
  return cur;
}

function typesOf(schema: Schema | undefined, current: unknown): string[] {
  if (schema?.type) return ([] as string[]).concat(schema.type);
  const ex = schema?.enum ?? (schema && 'const' in schema ? [schema.const] : undefined);
  if (ex) return [...new Set(ex.map((x: unknown) => jsonType(x)))] as string[];
  if (current !== undefined && current !== null) return [jsonType(current)];
  return [];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v === 'number' ? 'number' : typeof v;
}

export function describeSchema(schema: Schema | undefined, current?: unknown): string {
  if (schema?.enum)
    return `one of ${schema.enum.map((x: unknown) => JSON.stringify(x)).join(', ')}`;
  const types = typesOf(schema, current);
  const one = (t: string): string => {
    switch (t) {
      case 'boolean':
        return 'a boolean (true or false)';
      case 'integer':
        return 'an integer';
      case 'number':
        return 'a number';
      case 'string':
        return 'a string';
      case 'null':
        return 'null';
      case 'object':
        return 'a map like {a: 1}';
      case 'array': {
        const it = schema?.items ? typesOf(schema.items, undefined)[0] : undefined;
        return it
          ? `a list of ${it === 'integer' ? 'integers' : it + 's'} like [6,12]`
          : 'a list like [6,12]';
      }
      default:
        return t;
    }
  };
  return types.length ? types.map(one).join(' or ') : 'a value';
}

const unquote = (s: string): string | undefined => {
  const m = /^(["'])(.*)\1$/s.exec(s.trim());
  return m ? m[2] : undefined;
};

/** Split on commas that are outside quotes and brackets. */
export function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Turn command-line text into a value of the schema's type, or throw. */
export function coerce(text: string, schema: Schema | undefined, current?: unknown): unknown {
  const types = typesOf(schema, current);
  const t = text.trim();
  if (!types.length) {
    const q = unquote(t);
    if (q !== undefined) return q;
    try {
      return parseYaml(t);
    } catch {
      return t;
    }
  }
  for (const type of ['null', 'boolean', 'integer', 'number', 'array', 'object', 'string']) {
    if (!types.includes(type)) continue;
    const v = tryType(type, t, schema);
    if (v !== NO) {
      if (
        schema?.enum &&
        !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))
      ) {
        continue;
      }
      return v;
    }
  }
  throw new Error(`expected ${describeSchema(schema, current)}, got "${text}"`);
}

const NO = Symbol('no');

function tryType(type: string, t: string, schema: Schema | undefined): unknown {
  switch (type) {
    case 'null':
      return t === 'null' || t === '~' ? null : NO;
    case 'boolean':
      return /^true$/i.test(t) ? true : /^false$/i.test(t) ? false : NO;
    case 'integer':
      return /^[+-]?\d+$/.test(t) ? Number(t) : NO;
    case 'number':
      return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : NO;
    case 'string': {
      const q = unquote(t);
      return q ?? t;
    }
    case 'array': {
      const inner = t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
      if (inner.trim() === '') return [];
      const out: unknown[] = [];
      for (const item of splitTopLevel(inner)) {
        try {
          out.push(coerce(item, schema?.items));
        } catch {
          return NO;
        }
      }
      return out;
    }
    case 'object': {
      try {
        const v = parseYaml(t);
        return isPlainObject(v) ? v : NO;
      } catch {
        return NO;
      }
    }
  }
  return NO;
}

/** Write `value` at `segs` inside `data`, creating maps on the way. */
export function setAt(data: Record<string, unknown>, segs: string[], value: unknown): void {
  let cur: Record<string, unknown> = data;
  for (const s of segs.slice(0, -1)) {
    if (!isPlainObject(cur[s])) cur[s] = {};
    cur = cur[s] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]] = value;
}

export function getAt(data: unknown, segs: string[]): unknown {
  let cur = data;
  for (const s of segs) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[s];
  }
  return cur;
}
