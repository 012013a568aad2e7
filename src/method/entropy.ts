/**
 * Structural entropy of a q-k attention map (EntroAD Eq. 1-3).
 *
 * The class row and column are dropped, each patch row is renormalised over
 * the patches, and its Shannon entropy is taken. eps enters both the row
 * normalisation and the log, so a row whose patch part is all zero (all mass
 * on the class token) gets entropy exactly 0 instead of NaN.
 */

/**
 * Eq. 1-2. `attn` is [T,T] row-major, rows = queries, token 0 = class.
 * Returns e [N], N = T - 1.
 */
export function structuralEntropy(attn: Float32Array, T: number, eps = 1e-8): Float32Array {
  if (attn.length !== T * T) {
    throw new Error(`structuralEntropy: attention has ${attn.length} values, expected T*T = ${T * T}`);
  }
  const N = T - 1;
  const e = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const row = (i + 1) * T + 1; // query patch i, keys from patch 0
    let rowSum = 0;
    for (let j = 0; j < N; j++) rowSum += attn[row + j];
    const inv = 1 / (rowSum + eps); // Eq. 1
    let h = 0;
    for (let j = 0; j < N; j++) {
      const a = attn[row + j] * inv;
      h -= a * Math.log(a + eps); // Eq. 2
    }
    e[i] = h;
  }
  return e;
}

/** Eq. 3: mean of the per-layer entropies over the chosen layers. */
export function meanEntropy(perLayer: Float32Array[]): Float32Array {
  if (perLayer.length === 0) throw new Error('meanEntropy: no layers given');
  const N = perLayer[0].length;
  const out = new Float32Array(N);
  for (const e of perLayer) {
    if (e.length !== N) throw new Error(`meanEntropy: layers disagree on N (${N} vs ${e.length})`);
    for (let i = 0; i < N; i++) out[i] += e[i];
  }
  for (let i = 0; i < N; i++) out[i] /= perLayer.length;
  return out;
}
