/**
 * The Stage-2 branch loss of one layer (EntroAD Eq. 14, 15, 18), fused:
 *
 *   L^l = focal(U, Y) + lambda_d dice(U, Y) + lambda_d dice(1 - U, 1 - Y),
 *   U = S_a upsampled from the g x g grid to the loss size (bilinear).
 *
 * Written as one custom-gradient op because the plain tfjs graph keeps about
 * twenty [B,518,518] intermediates per layer and branch for the backward
 * pass, which overflows the 4 GB wasm heap at the paper's batch of 8. Here
 * the loss and its gradient are computed together in float64 on the CPU, U
 * lives only during the call, and the gradient is carried back to the grid
 * through the adjoint of the bilinear resize (same taps as `bilinear.ts`).
 * Focal is the mean over all pixels, dice the per-image value averaged over
 * the batch, eps 1e-5 in both, as in `losses.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { bilinearMatrix, resizeBilinear } from './bilinear.ts';

export interface SegLossOptions {
  alphaF?: number;
  gamma?: number;
  eps?: number;
  /** lambda_d of Eq. 18 [ours: 1]. */
  lambdaDice?: number;
}

/** The (at most two) non-zero taps of each row of a bilinear matrix [out,in]. */
function sparseRows(inSize: number, outSize: number): { idx: Int32Array; w: Float64Array } {
  const R = bilinearMatrix(inSize, outSize);
  const idx = new Int32Array(outSize * 2);
  const w = new Float64Array(outSize * 2);
  for (let o = 0; o < outSize; o++) {
    let k = 0;
    for (let i = 0; i < inSize && k < 2; i++) {
      const v = R[o * inSize + i];
      if (v !== 0) {
        idx[o * 2 + k] = i;
        w[o * 2 + k] = v;
        k++;
      }
    }
  }
  return { idx, w };
}

/** Adjoint of the g -> S bilinear resize: dX = Rh^T dU Rw for one [S,S] gradient. */
function resizeAdjoint(dU: Float64Array, g: number, S: number, rows: ReturnType<typeof sparseRows>): Float64Array {
  const tmp = new Float64Array(S * g); // [S,g] = dU Rw
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const v = dU[y * S + x];
      if (v === 0) continue;
      tmp[y * g + rows.idx[x * 2]] += v * rows.w[x * 2];
      tmp[y * g + rows.idx[x * 2 + 1]] += v * rows.w[x * 2 + 1];
    }
  }
  const out = new Float64Array(g * g); // [g,g] = Rh^T tmp
  for (let y = 0; y < S; y++) {
    for (let k = 0; k < 2; k++) {
      const i = rows.idx[y * 2 + k];
      const wy = rows.w[y * 2 + k];
      if (wy === 0) continue;
      for (let j = 0; j < g; j++) out[i * g + j] += wy * tmp[y * g + j];
    }
  }
  return out;
}

/**
 * Loss value and its gradient w.r.t. the grid maps. sa [B,g,g] (S_a), y
 * [B,S,S] (0/1 mask at the loss size). Returns the scalar and dL/dsa.
 */
export function segLossAndGrad(
  sa: Float32Array,
  y: Float32Array,
  B: number,
  g: number,
  S: number,
  opts: SegLossOptions = {},
): { loss: number; grad: Float32Array } {
  const { alphaF = 0.5, gamma = 2, eps = 1e-5, lambdaDice = 1 } = opts;
  if (sa.length !== B * g * g) throw new Error(`Stage-2 loss: S_a has ${sa.length} values, expected B*g*g = ${B * g * g}`);
  if (y.length !== B * S * S) throw new Error(`Stage-2 loss: mask has ${y.length} values, expected B*S*S = ${B * S * S}`);
  const rows = sparseRows(g, S);
  const nPix = B * S * S;
  const P = S * S;
  const pow = (x: number, p: number) => (p === 2 ? x * x : Math.pow(x, p));
  let focal = 0;
  let dice = 0;
  let diceNormal = 0;
  const grad = new Float32Array(B * g * g);
  const dU = new Float64Array(P);

  for (let b = 0; b < B; b++) {
    const U = resizeBilinear(sa.subarray(b * g * g, (b + 1) * g * g), g, g, S, S); // [S,S]
    const Y = y.subarray(b * P, (b + 1) * P);
    // per-image sums for both dice terms (Eq. 15)
    let sumM = 0;
    let sumY = 0;
    let inter = 0;
    for (let k = 0; k < P; k++) {
      sumM += U[k];
      sumY += Y[k];
      inter += U[k] * Y[k];
    }
    const den = sumM + sumY + eps;
    const num = 2 * inter + eps;
    dice += 1 - num / den;
    // the S_n term: M' = 1 - U, Y' = 1 - Y
    const sumMn = P - sumM;
    const sumYn = P - sumY;
    const interN = P - sumM - sumY + inter;
    const denN = sumMn + sumYn + eps;
    const numN = 2 * interN + eps;
    diceNormal += 1 - numN / denN;

    for (let k = 0; k < P; k++) {
      const m = U[k];
      const yk = Y[k];
      const lp = Math.log(m + eps);
      const ln = Math.log(1 - m + eps);
      // Eq. 14, one pixel
      focal += alphaF * yk * pow(1 - m, gamma) * lp + (1 - alphaF) * (1 - yk) * pow(m, gamma) * ln;
      const dFocal =
        alphaF * yk * (-gamma * pow(1 - m, gamma - 1) * lp + pow(1 - m, gamma) / (m + eps)) +
        (1 - alphaF) * (1 - yk) * (gamma * pow(m, gamma - 1) * ln - pow(m, gamma) / (1 - m + eps));
      const dDice = (-2 * yk) / den + num / (den * den);
      const dDiceN = (2 * (1 - yk)) / denN - numN / (denN * denN);
      dU[k] = -dFocal / nPix + (lambdaDice * (dDice + dDiceN)) / B;
    }
    grad.set(resizeAdjoint(dU, g, S, rows), b * g * g);
  }
  const loss = -focal / nPix + (lambdaDice * (dice + diceNormal)) / B;
  return { loss, grad };
}

/**
 * Eq. 18 for one layer as a differentiable tfjs op on S_a [B,N] (N = g*g),
 * with Y [B,S,S] given as a plain array (it needs no gradient).
 */
export function layerLoss(Sa: tf.Tensor2D, Y: Float32Array, grid: number, lossSize: number, opts: SegLossOptions = {}): tf.Scalar {
  const B = Sa.shape[0];
  const op = tf.customGrad<tf.Scalar>((...args) => {
    const sa = args[0] as tf.Tensor;
    const { loss, grad } = segLossAndGrad(sa.dataSync() as Float32Array, Y, B, grid, lossSize, opts);
    return {
      value: tf.scalar(loss),
      // the gradient was computed with the value; dy scales it
      gradFunc: (dy: tf.Scalar) => tf.mul(dy, tf.tensor(grad, sa.shape)),
    };
  });
  return op(Sa);
}
