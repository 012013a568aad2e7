/**
 * Gaussian smoothing of the final anomaly map (EntroAD inference, sigma 4),
 * matching `scipy.ndimage.gaussian_filter(x, sigma, mode='reflect',
 * truncate=4)`: a normalised 1-D kernel of radius round(truncate * sigma)
 * (16 taps each side for sigma 4, 33 in all), applied along axis 0 and then
 * axis 1, with the half-sample symmetric border (d c b a | a b c d | d c b a).
 *
 * Each 1-D pass accumulates in float64. With `precision: 'f32'` the result
 * of the first pass is rounded to float32 before the second, as scipy does
 * for a float32 input; with 'f64' it is not.
 */

/** Normalised kernel k[t], t = -radius..radius, in float64. */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  if (!(sigma > 0)) throw new Error(`gaussianKernel: sigma must be > 0, got ${sigma}`);
  // scipy: radius = int(truncate * sigma + 0.5)
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let t = -radius; t <= radius; t++) {
    const v = Math.exp((-0.5 * t * t) / (sigma * sigma));
    k[t + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Index into [0, n) for scipy's 'reflect' mode, for any distance outside. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - 1 - m;
}

export interface GaussianOptions {
  sigma?: number;
  truncate?: number;
  /** 'f32' rounds between the two passes (scipy on float32 input). */
  precision?: 'f32' | 'f64';
}

/** Smooth an [H,W] row-major map; returns a new Float32Array [H,W]. */
export function gaussianFilter(
  x: ArrayLike<number>,
  H: number,
  W: number,
  opts: GaussianOptions = {},
): Float32Array {
  const { sigma = 4, truncate = 4, precision = 'f32' } = opts;
  if (x.length !== H * W) {
    throw new Error(`gaussianFilter: map has ${x.length} values, expected H*W = ${H * W}`);
  }
  const k = gaussianKernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  const mid = precision === 'f32' ? new Float32Array(H * W) : new Float64Array(H * W);

  // Pass 1: along axis 0 (down each column)
  const rowIdx = Array.from({ length: H + 2 * r }, (_, i) => reflectIndex(i - r, H));
  for (let c = 0; c < W; c++) {
    for (let i = 0; i < H; i++) {
      let acc = 0;
      for (let t = 0; t < k.length; t++) acc += k[t] * x[rowIdx[i + t] * W + c];
      mid[i * W + c] = acc;
    }
  }

  // Pass 2: along axis 1 (across each row)
  const out = new Float32Array(H * W);
  const colIdx = Array.from({ length: W + 2 * r }, (_, j) => reflectIndex(j - r, W));
  for (let i = 0; i < H; i++) {
    const base = i * W;
    for (let j = 0; j < W; j++) {
      let acc = 0;
      for (let t = 0; t < k.length; t++) acc += k[t] * mid[base + colIdx[j + t]];
      out[base + j] = acc;
    }
  }
  return out;
}
