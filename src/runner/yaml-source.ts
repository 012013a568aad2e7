/**
 * Reading one YAML file into plain data plus a table of source locations.
 *
 * The yaml library keeps every node's character range; a LineCounter turns
 * ranges into line and column. We walk the document once and remember, for
 * every path (`nodes/feat/params/alpha`), where its key and its value were
 * written, so later stages (merging, validation) can point at the exact spot
 * even after the data has become plain JSON. Anchors, aliases and `<<` merge
 * keys resolve as in YAML 1.1; a duplicate key is an error.
 */
import { readFileSync } from 'node:fs';
import {
  LineCounter,
  parseDocument,
  isMap,
  isSeq,
  isScalar,
  isAlias,
  isPair,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { Diagnostics, type Loc } from './errors.ts';

export type PathSeg = string | number;

export interface SourceLoc {
  key?: Loc;
  value: Loc;
}

/** Locations by path; a path that is absent takes its parent's location. */
export class LocTable {
  readonly map = new Map<string, SourceLoc>();

  static keyOf(path: readonly PathSeg[]): string {
    return path.join('\u0001');
  }

  set(path: readonly PathSeg[], loc: SourceLoc): void {
    this.map.set(LocTable.keyOf(path), loc);
  }

  /** Location of the value at `path`, or of its nearest written ancestor. */
  value(path: readonly PathSeg[]): Loc | undefined {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.map.get(LocTable.keyOf(path.slice(0, n)));
      if (hit) return hit.value;
    }
    return undefined;
  }

  /** Location of the key that introduces `path` (falls back to the value). */
  key(path: readonly PathSeg[]): Loc | undefined {
    const hit = this.map.get(LocTable.keyOf(path));
    return hit?.key ?? this.value(path);
  }

  /** Forget `path` and everything below it (a list replaced, a key deleted). */
  dropBelow(path: readonly PathSeg[]): void {
    const k = LocTable.keyOf(path);
    for (const key of [...this.map.keys()]) {
      if (key === k || key.startsWith(k + '\u0001')) this.map.delete(key);
    }
  }

  /** Copy every location of `other` in, overriding ours. */
  absorb(other: LocTable): void {
    for (const [k, v] of other.map) this.map.set(k, v);
  }
}

export interface YamlSource {
  file: string;
  data: unknown;
  locs: LocTable;
}

/** Parse `file` (displayed as `shown`); throws PipelineError on bad YAML. */
export function readYamlFile(file: string, shown: string = file): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const d = new Diagnostics();
    d.add({ file: shown, line: 1, col: 1 }, `cannot read pipeline file: ${(e as Error).message}`);
    d.throwIfAny();
    throw e;
  }
  return parseYamlText(text, shown);
}

/*
 * `params: { seed: ${seed} }` is how everyone writes a reference, but in a
 * YAML flow map `{` and `}` are syntax. Before parsing, the braces of every
 * `${name}` are swapped for two private-use characters (one UTF-16 unit
 * each, so every line and column stays where it was) and swapped back in
 * the parsed strings.
 */
const REF_OPEN = '\uE000';
const REF_CLOSE = '\uE001';
const REF = /\$\{([\w.-]+)\}/g;

function restoreRefs(v: unknown): unknown {
  if (typeof v === 'string') {
    return v.includes(REF_OPEN) ? v.replaceAll(REF_OPEN, '{').replaceAll(REF_CLOSE, '}') : v;
  }
  if (Array.isArray(v)) return v.map(restoreRefs);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[restoreRefs(k) as string] = restoreRefs(x);
    return out;
  }
  return v;
}

export function parseYamlText(source: string, shown: string): YamlSource {
  const text = source.replace(REF, (_m, name: string) => `$${REF_OPEN}${name}${REF_CLOSE}`);
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    merge: true,
    uniqueKeys: true,
    prettyErrors: false,
  });
  const at = (offset: number): Loc => {
    const { line, col } = lc.linePos(offset);
    return { file: shown, line, col };
  };

  const diags = new Diagnostics();
  // Syntax errors cascade (one bad token makes the rest of the file
  // unreadable): report the first, plus every duplicate key.
  let syntax = false;
  for (const err of doc.errors) {
    if (err.code === 'DUPLICATE_KEY') {
      diags.add(
        at(err.pos[0]),
        'duplicate key (each key may appear once in a map; remove or rename one)',
      );
    } else if (!syntax) {
      syntax = true;
      diags.add(at(err.pos[0]), `YAML syntax: ${err.message.split('\n')[0]}`);
    }
  }
  diags.throwIfAny();

  const locs = new LocTable();
  if (doc.contents) {
    locs.set([], { value: at(doc.contents.range?.[0] ?? 0) });
    walk(doc, doc.contents as YamlNode, [], locs, at, new Set());
  }
  let data: unknown;
  try {
    data = restoreRefs(doc.toJS({ maxAliasCount: 10000 }) ?? {});
  } catch (e) {
    diags.add(at(0), (e as Error).message);
    diags.throwIfAny();
  }
  return { file: shown, data, locs };
}

function walk(
  doc: Document,
  node: YamlNode | null | undefined,
  path: PathSeg[],
  locs: LocTable,
  at: (offset: number) => Loc,
  seen: Set<YamlNode>,
): void {
  if (!node) return;
  if (isAlias(node)) {
    // An alias points at its anchor's node: locations inside it are the
    // anchor's (that is where the text is), but keyed under this path.
    const target = node.resolve(doc);
    if (!target || seen.has(target as YamlNode)) return;
    seen.add(target as YamlNode);
    walk(doc, target as YamlNode, path, locs, at, seen);
    seen.delete(target as YamlNode);
    return;
  }
  if (isMap(node)) {
    const explicit = new Set<string>();
    const merges: YamlNode[] = [];
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = pair.key as YamlNode | null;
      const keyValue = isScalar(k) ? k.value : k;
      if (isMergeKey(keyValue)) {
        merges.push(pair.value as YamlNode);
        continue;
      }
      const name = restoreRefs(String(keyValue)) as string;
      explicit.add(name);
      const child = [...path, name];
      const v = pair.value as YamlNode | null;
      const keyLoc = k?.range ? at(k.range[0]) : undefined;
      const valueLoc = v?.range ? at(v.range[0]) : (keyLoc ?? at(0));
      locs.set(child, { key: keyLoc, value: valueLoc });
      walk(doc, v, child, locs, at, seen);
    }
    // `<<: *base` - keys merged in are located where the anchor wrote them,
    // unless this map overrides them explicitly.
    for (const m of merges) {
      const sources = isSeq(m) ? m.items : [m];
      for (const s of sources as YamlNode[]) {
        const target = isAlias(s) ? (s.resolve(doc) as YamlNode | undefined) : s;
        if (!target || !isMap(target)) continue;
        const sub = new LocTable();
        walk(doc, target, path, sub, at, seen);
        for (const [k, v] of sub.map) {
          const first = k.split('\u0001')[path.length];
          if (first !== undefined && !explicit.has(first) && !locs.map.has(k)) locs.map.set(k, v);
        }
      }
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const it = item as YamlNode | null;
      const child = [...path, i];
      locs.set(child, { value: it?.range ? at(it.range[0]) : at(node.range?.[0] ?? 0) });
      walk(doc, it, child, locs, at, seen);
    });
  }
}

function isMergeKey(v: unknown): boolean {
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}
