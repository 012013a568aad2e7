/**
 * What the ONNX engine reads from a loaded CLIP checkpoint: the vision
 * geometry, a content digest (for the graph cache) and tensors by their
 * Hugging Face names. Every `ClipWeights` (src/clip/weights.ts) is one; the
 * bench passes a random vision-only model.
 */

import type { ClipConfig, ClipWeights } from '../weights.ts';

export type VisionConfig = ClipConfig['vision'];

/** The part of ClipWeights the vision graph needs (any ClipWeights fits). */
export interface VisionWeightsSource extends Pick<ClipWeights, 'digest' | 'get' | 'has'> {
  config: { vision: VisionConfig; embedDim: number };
  name?: string;
}

/** Fetch a tensor and check its shape, naming the tensor when it differs. */
export function tensorOf(w: VisionWeightsSource, name: string, shape: number[]): Float32Array {
  const model = w.name ? `CLIP weights ${w.name}` : 'CLIP weights';
  if (!w.has(name)) {
    throw new Error(`${model}: missing tensor "${name}" (is this a Hugging Face CLIPModel checkpoint?)`);
  }
  const t = w.get(name);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(
      `${model}: tensor "${name}" has shape [${t.shape}], expected [${shape}] from the config`,
    );
  }
  return t.data;
}

/**
 * [rows, cols] row-major -> [cols, rows]: HF linear weights are [out, in].
 * Walks 64x64 tiles so both sides stay in cache (a ViT-L/14 tower is 300 M
 * values to transpose once per graph build).
 */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  const TILE = 64;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, cols);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = a[base + c];
      }
    }
  }
  return out;
}
