/**
 * Resize CLIP's position table to another patch grid, as the method's
 * backbone section says: the class row (row 0) is kept, the g0 x g0 patch
 * rows are resized to g x g with half-pixel centres (corners not aligned),
 * and the original table is always the source (a resized table is never
 * resized again).
 *
 * The two kernels follow torch.nn.functional.interpolate(align_corners=False,
 * size=(g, g)) with antialias off:
 * - bilinear: source coordinate (dst + 0.5) * in/out - 0.5, clamped at 0;
 *   taps floor and floor + 1 (the upper one clamped to in - 1).
 * - bicubic: the same coordinate, not clamped; cubic convolution with
 *   A = -0.75 over taps floor - 1 .. floor + 2, each index clamped to the edge.
 *
 * The sums run in float64 and are rounded once to float32, which is within
 * 1e-7 of torch's float32 arithmetic at these sizes.
 */

export type PosInterp = 'bilinear' | 'bicubic';

/** Weights of one output coordinate: source indices and their weights. */
interface Taps {
  index: number[];
  weight: number[];
}

function bilinearTaps(dst: number, inSize: number, outSize: number): Taps {
  const src = Math.max(0, (dst + 0.5) * (inSize / outSize) - 0.5);
  const i0 = Math.min(Math.floor(src), inSize - 1);
  const i1 = Math.min(i0 + 1, inSize - 1);
  const l1 = src - i0;
  return { index: [i0, i1], weight: [1 - l1, l1] };
}

const A = -0.75;
function cubicNear(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
}
function cubicFar(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
}

function bicubicTaps(dst: number, inSize: number, outSize: number): Taps {
  const src = (dst + 0.5) * (inSize / outSize) - 0.5;
  const f = Math.floor(src);
  const t = src - f;
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  return {
    index: [clamp(f - 1), clamp(f), clamp(f + 1), clamp(f + 2)],
    weight: [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)],
  };
}

/**
 * `table` is [1 + g0*g0, D] row-major (row 0 = class); returns [1 + g*g, D].
 * When g equals g0 the table is returned unchanged (copied).
 */
export function resizePositionTable(
  table: Float32Array,
  g0: number,
  g: number,
  width: number,
  interp: PosInterp,
): Float32Array {
  if (table.length !== (1 + g0 * g0) * width) {
    throw new Error(
      `position table has ${table.length / width} rows; expected 1 + ${g0}x${g0} for a native ${g0}x${g0} grid`,
    );
  }
  if (g === g0) return table.slice();

  const tapsOf = interp === 'bicubic' ? bicubicTaps : bilinearTaps;
  const taps = Array.from({ length: g }, (_, i) => tapsOf(i, g0, g));
  const out = new Float32Array((1 + g * g) * width);
  out.set(table.subarray(0, width)); // class row kept
  const acc = new Float64Array(width);

  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      acc.fill(0);
      const tr = taps[r];
      const tc = taps[c];
      for (let a = 0; a < tr.index.length; a++) {
        for (let b = 0; b < tc.index.length; b++) {
          const w = tr.weight[a] * tc.weight[b];
          const row = 1 + tr.index[a] * g0 + tc.index[b]; // patch (r, c) -> 1 + r*g0 + c
          const base = row * width;
          for (let d = 0; d < width; d++) acc[d] += w * table[base + d];
        }
      }
      out.set(acc, (1 + r * g + c) * width);
    }
  }
  return out;
}
