/** Shared paths and comparisons for the CLIP tests. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from '../../src/util/safetensors.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CLIP_TINY = path.resolve(here, '../fixtures/clip-tiny');
export const METHOD = path.resolve(here, '../fixtures/method');
export const clipGolden = () => readSafetensors(path.join(CLIP_TINY, 'golden.safetensors'));
export const methodGolden = () => readSafetensors(path.join(METHOD, 'golden.safetensors'));

/** Largest |a - b| - rtol*|b| over all elements (<= atol means "close"). */
export function excess(a: ArrayLike<number>, b: ArrayLike<number>, rtol = 0): number {
  if (a.length !== b.length) return Infinity;
  let worst = -Infinity;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) - rtol * Math.abs(b[i]));
  return worst;
}

/** Slice [:, j] of a row-major tensor of shape [B, n, ...rest]. */
export function pick(data: Float32Array, shape: number[], j: number): Float32Array {
  const [B, n] = shape;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(B * inner);
  for (let b = 0; b < B; b++) out.set(data.subarray((b * n + j) * inner, (b * n + j + 1) * inner), b * inner);
  return out;
}
