/**
 * Resizing the vision position table for inputs other than the native size.
 *
 * The class row is kept; the g0 x g0 patch rows are resized to g x g per
 * feature channel exactly as `torch.nn.functional.interpolate(size=(g,g),
 * align_corners=False)` does:
 * - bilinear (the method's default): src = max(0, (dst+0.5)*in/out - 0.5),
 *   taps floor(src) and min(floor+1, in-1);
 * - bicubic (HF's interpolate_pos_encoding): cubic convolution A = -0.75,
 *   src unclamped, the 4 taps' indices clamped to the edge.
 * Always resize the checkpoint's own table, never an already resized one.
 * Plain JavaScript in float64: it runs once per input size.
 */

export type PosInterp = 'bilinear' | 'bicubic';

interface Taps {
  index: number[];
  weight: number[];
}

function bilinearTaps(inSize: number, outSize: number): Taps[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const src = Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.floor(src);
    const t = src - i0;
    return { index: [i0, Math.min(i0 + 1, inSize - 1)], weight: [1 - t, t] };
  });
}

function bicubicTaps(inSize: number, outSize: number): Taps[] {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const src = (o + 0.5) * scale - 0.5;
    const f = Math.floor(src);
    const t = src - f;
    const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
    return {
      index: [clamp(f - 1), clamp(f), clamp(f + 1), clamp(f + 2)],
      weight: [far(t + 1), near(t), near(1 - t), far(2 - t)],
    };
  });
}

/**
 * `table` is [1 + g0*g0, D] row-major (class row first, then grid rows);
 * returns [1 + g*g, D].
 */
export function resizePosTable(table: Float32Array, width: number, g: number, mode: PosInterp = 'bilinear'): Float32Array {
  const g0 = Math.round(Math.sqrt(table.length / width - 1));
  if ((1 + g0 * g0) * width !== table.length) {
    throw new Error(`position table of ${table.length / width} rows is not 1 + a square grid`);
  }
  if (g === g0) return table.slice();
  const taps = mode === 'bicubic' ? bicubicTaps(g0, g) : bilinearTaps(g0, g);
  const out = new Float32Array((1 + g * g) * width);
  out.set(table.subarray(0, width));
  const acc = new Float64Array(width);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      acc.fill(0);
      const ty = taps[r];
      const tx = taps[c];
      for (let a = 0; a < ty.index.length; a++) {
        for (let b = 0; b < tx.index.length; b++) {
          const w = ty.weight[a] * tx.weight[b];
          const row = 1 + ty.index[a] * g0 + tx.index[b];
          for (let d = 0; d < width; d++) acc[d] += w * table[row * width + d];
        }
      }
      out.set(acc, (1 + r * g + c) * width);
    }
  }
  return out;
}
