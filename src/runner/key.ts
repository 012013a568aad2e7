/**
 * A node's cache key: sha256 over the canonical JSON (RFC 8785: sorted keys,
 * fixed number format) of its ingredients. Two nodes with equal ingredients
 * compute the same thing, wherever and whenever they run; anything that does
 * not change the output (paths, mtimes, node ids, the pipeline's name) is
 * deliberately left out so it cannot cause a needless re-run.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import type { NodeType, RuntimeOptions } from './types.ts';

/** Bump when the shape of `KeyIngredients` changes: every old key is then void. */
export const KEY_FORMAT = 1;

export interface KeyIngredients {
  /** The layout of this record itself; see KEY_FORMAT. */
  keyFormat: number;
  /** Another type computes something else from the same params. */
  type: string;
  /** The implementation changed; its author bumped it because outputs may differ. */
  version: string;
  /**
   * Resolved params (schema defaults applied, so writing a default out and
   * leaving it implicit give one key), or what the type's `keyParams` maps
   * them to (a weights file's digest instead of its path). Volatile types
   * leave params out: their content key already says what they produced.
   */
  params?: unknown;
  /** Runtime settings the type declares as output-changing (the tfjs backend). */
  runtime: Record<string, unknown>;
  /**
   * Keys of the upstream artifacts by port (lists keep their order): a
   * change anywhere upstream reaches every descendant through these.
   */
  inputs: Record<string, string | string[]>;
  /** Volatile types: sha256 of the `contentKey` the node reported. */
  content?: string;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// The package is CommonJS with an ESM-style declaration file; under nodenext
// the default import is the module object, whose `default` is the function.
const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ??
  canonicalizeModule) as (v: unknown) => string | undefined;

export function canonical(v: unknown): string {
  return canonicalize(v) ?? 'null';
}

export function keyOf(ing: KeyIngredients): string {
  return sha256(canonical(ing));
}

/** Ingredients of a (non-volatile) node, or of a volatile one before it ran. */
export async function ingredientsOf(
  t: NodeType,
  params: Record<string, unknown>,
  runtime: RuntimeOptions,
  inputs: Record<string, string | string[]>,
): Promise<KeyIngredients> {
  const ing: KeyIngredients = {
    keyFormat: KEY_FORMAT,
    type: t.type,
    version: t.version,
    runtime: t.keyRuntime ? t.keyRuntime(runtime, params) : {},
    inputs: t.volatile ? {} : inputs,
  };
  if (t.keyParams) ing.params = await t.keyParams(params);
  else if (!t.volatile) ing.params = params;
  // JSON round trip: undefined fields vanish exactly as they will on disk.
  return JSON.parse(JSON.stringify(ing));
}

export function withContent(ing: KeyIngredients, contentKey: unknown): KeyIngredients {
  return { ...ing, content: sha256(canonical(contentKey ?? null)) };
}
