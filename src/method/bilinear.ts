/**
 * Bilinear resizing exactly as torch's `interpolate(mode='bilinear',
 * align_corners=False)` without antialias: half-pixel centres, the source
 * coordinate clamped at 0 and the upper neighbour clamped at the last row.
 * Downsampling therefore samples (does not average): at 518 -> 37 each cell
 * is the mean of the 2x2 pixels at offsets 6 and 7 of its 14x14 block.
 *
 * The resize is separable and linear, so it is written as two interpolation
 * matrices: `Rh [H,h]` and `Rw [W,w]` with out = Rh x Rw^T. The typed-array
 * version loops over the taps; the tfjs version multiplies by the matrices
 * with plain 2-D matMuls, which is differentiable on every backend (Stage 1
 * upsamples p_i to the input size inside the loss).
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d } from './stage1-matmul.ts';

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float64Array;
}

/** Per output index: the two source indices and the weight of the second. */
function taps(inSize: number, outSize: number): Taps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = Math.max(0, (d + 0.5) * scale - 0.5);
    const lo = Math.floor(src);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    w1[d] = src - lo;
  }
  return { i0, i1, w1 };
}

/** The [outSize, inSize] matrix R with resized = R x (along one axis). */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const { i0, i1, w1 } = taps(inSize, outSize);
  const R = new Float32Array(outSize * inSize);
  for (let d = 0; d < outSize; d++) {
    R[d * inSize + i0[d]] += 1 - w1[d];
    R[d * inSize + i1[d]] += w1[d];
  }
  return R;
}

/** Resize one [h,w] map to [H,W]. */
export function resizeBilinear(x: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  if (x.length !== h * w) throw new Error(`resizeBilinear: ${x.length} values, expected ${h}x${w}`);
  const ty = taps(h, H);
  const tx = taps(w, W);
  const out = new Float32Array(H * W);
  for (let Y = 0; Y < H; Y++) {
    const r0 = ty.i0[Y] * w;
    const r1 = ty.i1[Y] * w;
    const wy = ty.w1[Y];
    for (let X = 0; X < W; X++) {
      const c0 = tx.i0[X];
      const c1 = tx.i1[X];
      const wx = tx.w1[X];
      const top = x[r0 + c0] * (1 - wx) + x[r0 + c1] * wx;
      const bottom = x[r1 + c0] * (1 - wx) + x[r1 + c1] * wx;
      out[Y * W + X] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/**
 * Differentiable resize of a batch of maps [B,h,w] -> [B,H,W] as
 * Rh x_b Rw^T, with 2-D matMuls only (fast on wasm, gradients everywhere).
 */
export function resizeBilinearTf(x: tf.Tensor3D, H: number, W: number): tf.Tensor3D {
  const [B, h, w] = x.shape;
  return tf.tidy(() => {
    const RwT = tf.tensor2d(bilinearMatrix(w, W), [W, w]).transpose() as tf.Tensor2D; // [w,W]
    const Rh = tf.tensor2d(bilinearMatrix(h, H), [H, h]);
    const cols = matMul2d(x.reshape([B * h, w]), RwT); // [B*h, W]
    const byRow = cols.reshape([B, h, W]).transpose([1, 0, 2]).reshape([h, B * W]) as tf.Tensor2D; // [h, B*W]
    const rows = matMul2d(Rh, byRow); // [H, B*W]
    return rows.reshape([H, B, W]).transpose([1, 0, 2]) as tf.Tensor3D; // [B,H,W]
  });
}
