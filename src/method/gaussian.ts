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

/**
 * Axis-1 pass over H rows of length W: each row is copied into a reflected
 * line buffer so the inner loop reads contiguous float64 values.
 */
function rowPass(src: Float64Array, dst: Float64Array, H: number, W: number, k: Float64Array): void {
  const r = (k.length - 1) / 2;
  const buf = new Float64Array(W + 2 * r);
  const srcIdx = Int32Array.from({ length: W + 2 * r }, (_, j) => reflectIndex(j - r, W));
  for (let i = 0; i < H; i++) {
    const base = i * W;
    for (let j = 0; j < buf.length; j++) buf[j] = src[base + srcIdx[j]];
    for (let j = 0; j < W; j++) {
      let acc = 0;
      for (let t = 0; t < k.length; t++) acc += k[t] * buf[j + t];
      dst[base + j] = acc;
    }
  }
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
  const input = Float64Array.from(x);
  const r = (k.length - 1) / 2;

  // axis 0: output row i = sum_t k[t] * input row reflect(i + t - r), whole rows at a time
  const mid = new Float64Array(H * W);
  for (let i = 0; i < H; i++) {
    const o = i * W;
    for (let t = 0; t < k.length; t++) {
      const kt = k[t];
      const s = reflectIndex(i + t - r, H) * W;
      for (let c = 0; c < W; c++) mid[o + c] += kt * input[s + c];
    }
  }
  if (precision === 'f32') for (let i = 0; i < mid.length; i++) mid[i] = Math.fround(mid[i]);

  // axis 1: along each row
  const out64 = new Float64Array(H * W);
  rowPass(mid, out64, H, W, k);
  return Float32Array.from(out64);
}
