/**
 * Memory retrieval (EntroAD Eq. 4, MRAD Stage 1) and its quantile filter.
 *
 *   s = P_q(q) P_k(K)^T        projections as torch Linear (x W^T + b), outputs not re-normalised
 *   w = softmax(s) over the memory (no temperature)
 *   o = w V                    V one-hot [normal, anomaly]; o[:, 1] is the anomaly probability
 *
 * The quantile filter (training only) drops, per query, the keys whose RAW
 * similarity q.K is strictly above the query's q-quantile (linear
 * interpolation, as torch.quantile): a training image is in the memory it
 * retrieves from, and without the filter it would simply find itself. The
 * raw similarities do not depend on anything trained, so the filter is a
 * constant additive mask (-inf) on s; gradients pass through s untouched.
 * Because the smallest raw similarity never exceeds the threshold, at least
 * one key always survives and no row of the softmax is all -inf.
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d } from './stage1-matmul.ts';

/** A torch-layout Linear: weight [out,in], bias [out]. */
export interface Projection {
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** x [R,in] -> x W^T + b [R,out], written with an explicit transpose (fast 2-D matMuls on wasm, backward included). */
export function project(x: tf.Tensor2D, p: Projection): tf.Tensor2D {
  return tf.tidy(() => tf.add(matMul2d(x, tf.transpose(p.weight)), p.bias) as tf.Tensor2D);
}

/** raw = q K^T [Q,M] from q [Q,C] and K [M,C] (float64 sums, rounded to float32). */
export function rawSimilarity(q: Float32Array, K: Float32Array, C: number): Float32Array {
  const Q = q.length / C;
  const M = K.length / C;
  const out = new Float32Array(Q * M);
  for (let i = 0; i < Q; i++) {
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += q[i * C + c] * K[j * C + c];
      out[i * M + j] = s;
    }
  }
  return out;
}

/** Per-row q-quantile of raw [Q,M] with linear interpolation (torch.quantile's default). */
export function quantileThresholds(raw: Float32Array, Q: number, M: number, qq: number): Float64Array {
  if (!(qq >= 0 && qq <= 1)) throw new Error(`quantile filter: q must lie in [0,1], got ${qq}`);
  if (raw.length !== Q * M) throw new Error(`quantile filter: ${raw.length} similarities, expected ${Q}x${M}`);
  const thr = new Float64Array(Q);
  const pos = qq * (M - 1);
  const lo = Math.floor(pos);
  const frac = pos - lo;
  const row = new Float32Array(M);
  for (let i = 0; i < Q; i++) {
    row.set(raw.subarray(i * M, (i + 1) * M));
    const sLo = selectKth(row, lo); // row[lo] is the lo-th smallest, row[lo+1..] are >= it
    let sHi = sLo;
    if (lo + 1 < M) {
      sHi = row[lo + 1];
      for (let j = lo + 2; j < M; j++) if (row[j] < sHi) sHi = row[j];
    }
    thr[i] = sLo + frac * (sHi - sLo);
  }
  return thr;
}

/**
 * The k-th smallest value (0-based) of `a`, partially reordering `a` in place
 * so that a[k] holds it, a[..k] <= a[k] <= a[k+1..] (Hoare quickselect; the
 * memory has thousands of keys per query, so sorting each row would dominate).
 */
export function selectKth(a: Float32Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const mid = (left + right) >> 1; // median of three as the pivot
    if (a[mid] < a[left]) swap(a, mid, left);
    if (a[right] < a[left]) swap(a, right, left);
    if (a[right] < a[mid]) swap(a, right, mid);
    const pivot = a[mid];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** 1 where a key is dropped: raw strictly greater than its row's threshold. [Q,M] */
export function quantileDropMask(raw: Float32Array, Q: number, M: number, qq: number): Uint8Array {
  const thr = quantileThresholds(raw, Q, M, qq);
  const drop = new Uint8Array(Q * M);
  for (let i = 0; i < Q; i++) {
    for (let j = 0; j < M; j++) drop[i * M + j] = raw[i * M + j] > thr[i] ? 1 : 0;
  }
  return drop;
}

export interface RetrievalResult {
  /** s after the filter (-inf where dropped) [Q,M] */
  sim: tf.Tensor2D;
  /** softmax weights [Q,M] */
  w: tf.Tensor2D;
  /** w V [Q,2] */
  o: tf.Tensor2D;
  /** o[:, 1], the anomaly probability [Q] */
  anomaly: tf.Tensor1D;
}

/**
 * Eq. 4 on projected queries [Q,E] and keys [M,E] with values V [M,2];
 * `drop` [Q,M] (from `quantileDropMask`) applies the training filter.
 */
export function retrieve(
  qProj: tf.Tensor2D,
  kProj: tf.Tensor2D,
  V: tf.Tensor2D,
  drop?: Uint8Array,
): RetrievalResult {
  return tf.tidy(() => {
    const [Q] = qProj.shape;
    const [M] = kProj.shape;
    let sim = matMul2d(qProj, tf.transpose(kProj)); // [Q,M]
    if (drop) {
      if (drop.length !== Q * M) throw new Error(`retrieve: drop mask has ${drop.length} entries, expected ${Q}x${M}`);
      const additive = new Float32Array(Q * M);
      for (let k = 0; k < additive.length; k++) if (drop[k]) additive[k] = -Infinity;
      sim = tf.add(sim, tf.tensor2d(additive, [Q, M]));
    }
    const w = tf.softmax(sim, 1) as tf.Tensor2D;
    const o = matMul2d(w, V); // [Q,2]
    const anomaly = o.slice([0, 1], [Q, 1]).reshape([Q]) as tf.Tensor1D;
    return { sim, w, o, anomaly };
  });
}
