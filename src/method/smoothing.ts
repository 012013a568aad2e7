/**
 * Neighbour smoothing of patch features on the g x g grid (MRAD's choice,
 * kept by EntroAD): the mean of average pools of size 1, 3 and 5 with
 * stride 1 and zero padding, the padded zeros counting in the average (the
 * divisor is always k*k, as torch's `count_include_pad=True`). Border cells
 * therefore shrink towards zero; that is the parent's behaviour.
 *
 * Plain typed arrays: the smoothing runs once per image on frozen features
 * and never needs a gradient.
 */

/** x is [g,g,C] (grid row, grid column, channel) = token order [N,C]; returns the same shape. */
export function neighbourSmooth(x: Float32Array, g: number, C: number): Float32Array {
  if (x.length !== g * g * C) {
    throw new Error(`neighbourSmooth: ${x.length} values, expected g*g*C = ${g}*${g}*${C}`);
  }
  const box3 = boxSum(x, g, C, 1);
  const box5 = boxSum(x, g, C, 2);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    out[i] = (x[i] + box3[i] / 9 + box5[i] / 25) / 3;
  }
  return out;
}

/** Sum over the (2r+1)x(2r+1) window around each cell, zeros outside the grid (separable). */
function boxSum(x: Float32Array, g: number, C: number, r: number): Float64Array {
  const rows = new Float64Array(x.length); // horizontal pass
  for (let y = 0; y < g; y++) {
    for (let c0 = 0; c0 < g; c0++) {
      const o = (y * g + c0) * C;
      for (let dx = -r; dx <= r; dx++) {
        const xx = c0 + dx;
        if (xx < 0 || xx >= g) continue;
        const s = (y * g + xx) * C;
        for (let c = 0; c < C; c++) rows[o + c] += x[s + c];
      }
    }
  }
  const out = new Float64Array(x.length); // vertical pass
  for (let y = 0; y < g; y++) {
    for (let dy = -r; dy <= r; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= g) continue;
      const o = y * g * C;
      const s = yy * g * C;
      for (let k = 0; k < g * C; k++) out[o + k] += rows[s + k];
    }
  }
  return out;
}

/** Rows of [N,C] scaled to unit L2 norm (a zero row stays zero). */
export function l2NormalizeRows(x: Float32Array, C: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += C) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[o + c] * x[o + c];
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * inv;
  }
  return out;
}
