/**
 * The mask rule of the patch memory (MRAD Stage 1): the mask is resized to
 * the patch grid with torch-style bilinear interpolation (no antialias);
 * cells whose value is exactly 0 are normal, exactly 1 anomalous, anything
 * in between is ambiguous and ignored. Each class present gives one
 * prototype: the mean of its cells' features, then L2-normalised. An image
 * without an exact-1 cell (a defect too small to fill a sampled 2x2) adds no
 * anomaly key; an image without an exact-0 cell adds no normal key.
 */
import { resizeBilinear } from './bilinear.ts';

/** Resize a [h,w] mask to the [g,g] grid. */
export function maskToGrid(mask: Float32Array, h: number, w: number, g: number): Float32Array {
  return resizeBilinear(mask, h, w, g, g);
}

export interface Prototype {
  /** Mean of the selected cells' features [C]. */
  mean: Float32Array;
  /** The same, L2-normalised [C]: the memory key. */
  key: Float32Array;
  /** Number of cells averaged. */
  cells: number;
}

export interface MaskPrototypes {
  normal?: Prototype;
  anomaly?: Prototype;
}

/** features [N,C] in grid order, gridMask [N] from `maskToGrid`. */
export function maskPrototypes(features: Float32Array, C: number, gridMask: Float32Array): MaskPrototypes {
  const N = gridMask.length;
  if (features.length !== N * C) {
    throw new Error(`maskPrototypes: features have ${features.length} values, expected N*C = ${N}*${C}`);
  }
  const out: MaskPrototypes = {};
  const normal = prototype(features, C, gridMask, 0);
  const anomaly = prototype(features, C, gridMask, 1);
  if (normal) out.normal = normal;
  if (anomaly) out.anomaly = anomaly;
  return out;
}

function prototype(features: Float32Array, C: number, gridMask: Float32Array, value: 0 | 1): Prototype | undefined {
  const acc = new Float64Array(C);
  let cells = 0;
  for (let i = 0; i < gridMask.length; i++) {
    if (gridMask[i] !== value) continue; // exact 0 / exact 1 only
    cells++;
    for (let c = 0; c < C; c++) acc[c] += features[i * C + c];
  }
  if (cells === 0) return undefined;
  const mean = new Float32Array(C);
  let ss = 0;
  for (let c = 0; c < C; c++) {
    mean[c] = acc[c] / cells;
    ss += (acc[c] / cells) ** 2;
  }
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  const key = new Float32Array(C);
  for (let c = 0; c < C; c++) key[c] = (acc[c] / cells) * inv;
  return { mean, key, cells };
}
