/**
 * On-disk cache of built vision graphs:
 * `${ENTROAD_CACHE_DIR ?? '.entroad/cache'}/onnx/<hash>.onnx`.
 *
 * Building a ViT-L/14 graph means transposing and serialising 1.2 GB of
 * weights, so a graph is built once per (weights, spec) and reused. Files
 * are written to a temporary name and renamed into place, so a concurrent
 * reader never sees half a file; two processes building the same graph at
 * once both write complete files and the last rename wins.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GraphSpec } from './spec.ts';

/**
 * Bumped whenever vit.ts changes the graph it emits for the same inputs, so
 * stale graphs from an older builder are never reused.
 */
export const GRAPH_FORMAT = 1;

export function cacheRoot(): string {
  return path.resolve(process.env.ENTROAD_CACHE_DIR ?? '.entroad/cache', 'onnx');
}

/** The cache key: everything that changes the graph's bytes. */
export function graphKey(digest: string, spec: GraphSpec): string {
  const key = {
    format: GRAPH_FORMAT, // a new builder emits a different graph
    digest, // other weights, other initializers
    size: spec.size, // grid size and the resized position table
    posInterp: spec.posInterp, // a different position table
    tokenLayers: spec.tokenLayers, // the graph's outputs
    attnLayers: spec.attnLayers,
    vvFrom: spec.vvFrom, // where the V-V stream starts changes its values
    vvLayers: spec.vvLayers,
    globalLnPost: spec.globalLnPost, // the `global` output's definition
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32);
}

/** Path of the cached graph, building and writing it first when absent. */
export function cachedGraph(digest: string, spec: GraphSpec, build: () => Uint8Array): string {
  const dir = cacheRoot();
  const file = path.join(dir, `${graphKey(digest, spec)}.onnx`);
  if (existsSync(file)) return file;

  const bytes = build();
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(
      `onnx engine: cannot write the graph cache ${file}: ${(e as Error).message} ` +
        '(set ENTROAD_CACHE_DIR to a writable folder)',
    );
  }
  return file;
}
