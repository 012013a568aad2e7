/**
 * Entropy-guided routing of patch features into a normal and an anomaly
 * token (EntroAD Eq. 5-7), per image.
 *
 * Patches that retrieval calls anomalous (high p_i) and whose attention is
 * spread out (high entropy) feed the anomaly token; confidently normal,
 * focused patches feed the normal token. The softmax over the N patches
 * subtracts the maximum first: at T = 0.01 the logits reach 100, whose exp
 * overflows float32, so float64 is used throughout and only results are
 * rounded to float32.
 */

export const ROUTING_EPS = 1e-8;

export interface RoutingOptions {
  /** Routing temperature T (Eq. 6). */
  T: number;
  /** false = the "w/o entropy routing" ablation: r^a = p/T, r^n = (1-p)/T. */
  useEntropy: boolean;
  eps?: number;
}

export interface Routed {
  eHat: Float32Array; // [N]
  ra: Float32Array; // [N]
  rn: Float32Array; // [N]
  wa: Float32Array; // [N]
  wn: Float32Array; // [N]
  tN: Float32Array; // [E]
  tARaw: Float32Array; // [E]
  /** Population std of e^ (feeds the gate, Eq. 8). */
  sigmaE: number;
  pMax: number;
}

/** Eq. 5: e^ = (e - min e) / (max e - min e + eps) within the image. */
export function normaliseEntropy(e: ArrayLike<number>, eps = ROUTING_EPS): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < e.length; i++) {
    if (e[i] < lo) lo = e[i];
    if (e[i] > hi) hi = e[i];
  }
  const out = new Float64Array(e.length);
  for (let i = 0; i < e.length; i++) out[i] = (e[i] - lo) / (hi - lo + eps);
  return out;
}

/** Softmax over all entries, max-subtracted (float64). */
export function stableSoftmax(r: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < r.length; i++) if (r[i] > m) m = r[i];
  const out = new Float64Array(r.length);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out[i] = Math.exp(r[i] - m);
  for (let i = 0; i < r.length; i++) out[i] /= s;
  return out;
}

/** Population standard deviation (divide by N). */
export function populationStd(x: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - mean) ** 2;
  return Math.sqrt(v / x.length);
}

/**
 * Route one image. p [N] patch anomaly evidence, e [N] structural entropy,
 * z [N,E] row-major smoothed L2-normalised patch features (used as given).
 */
export function routeTokens(
  p: ArrayLike<number>,
  e: ArrayLike<number>,
  z: ArrayLike<number>,
  opts: RoutingOptions,
): Routed {
  const N = p.length;
  if (e.length !== N) throw new Error(`routeTokens: p has ${N} patches but e has ${e.length}`);
  if (N === 0 || z.length % N !== 0) {
    throw new Error(`routeTokens: z has ${z.length} values, not a multiple of N = ${N}`);
  }
  if (!(opts.T > 0)) throw new Error(`routeTokens: temperature T must be > 0, got ${opts.T}`);
  const E = z.length / N;
  const eHat = normaliseEntropy(e, opts.eps ?? ROUTING_EPS); // Eq. 5

  const ra = new Float64Array(N);
  const rn = new Float64Array(N);
  let pMax = -Infinity;
  for (let i = 0; i < N; i++) {
    const pa = opts.useEntropy ? p[i] * eHat[i] : p[i]; // Eq. 6 (anomaly)
    const pn = opts.useEntropy ? (1 - p[i]) * (1 - eHat[i]) : 1 - p[i]; // Eq. 6 (normal)
    ra[i] = pa / opts.T;
    rn[i] = pn / opts.T;
    if (p[i] > pMax) pMax = p[i];
  }
  const wa = stableSoftmax(ra); // Eq. 7
  const wn = stableSoftmax(rn); // Eq. 7

  // t = sum_i w_i z_i: [N] x [N,E] -> [E]
  const tN = new Float64Array(E);
  const tARaw = new Float64Array(E);
  for (let i = 0; i < N; i++) {
    const row = i * E;
    for (let d = 0; d < E; d++) {
      tN[d] += wn[i] * z[row + d];
      tARaw[d] += wa[i] * z[row + d];
    }
  }

  return {
    eHat: Float32Array.from(eHat),
    ra: Float32Array.from(ra),
    rn: Float32Array.from(rn),
    wa: Float32Array.from(wa),
    wn: Float32Array.from(wn),
    tN: Float32Array.from(tN),
    tARaw: Float32Array.from(tARaw),
    sigmaE: populationStd(eHat),
    pMax,
  };
}
