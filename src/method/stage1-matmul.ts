/**
 * A 2-D matMul whose gradient is also written with plain 2-D matMuls.
 *
 * The wasm backend runs `matMul(a, b)` fast only without transpose flags;
 * tfjs's own gradient of matMul uses `transposeA` / `transposeB`, which
 * fall to a naive loop about ten times slower. Stage-1 training multiplies
 * ten thousand patch queries by thousands of keys per step, so the backward
 * pass would dominate. Here the transposes are explicit instead.
 */
import * as tf from '@tensorflow/tfjs';

const fast = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), // dL/da = dy b^T
        tf.matMul(tf.transpose(sa), dy as tf.Tensor2D), // dL/db = a^T dy
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** a [m,k] x b [k,n] -> [m,n], fast forward and backward on wasm. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return fast(a, b) as tf.Tensor2D;
}
