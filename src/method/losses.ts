/**
 * Segmentation losses of EntroAD (Eq. 14-15), written in tfjs so that they
 * are differentiable for Stage 1 (on M_base) and Stage 2 (on S_a / S_n).
 *
 * M is an anomaly probability map and Y a binary mask, both [B,H,W]
 * (any rank >= 2 works: axis 0 is the batch, the rest are pixels).
 *
 * Focal is the single-probability form of Eq. 14, not the two-class form
 * of the parent code (which is about twice as large); dice is computed per
 * image and then averaged over the batch, so an all-normal image counts as
 * one image, not as its pixel share.
 */
import * as tf from '@tensorflow/tfjs';

/** Eq. 14: mean over all B*H*W pixels. */
export function focalLoss(
  M: tf.Tensor,
  Y: tf.Tensor,
  alphaF = 0.5,
  gamma = 2,
  eps = 1e-5,
): tf.Scalar {
  return tf.tidy(() => {
    // pow(x, 2) is written as a square so its gradient at x = 0 is exactly 0
    const powG = (x: tf.Tensor) => (gamma === 2 ? tf.square(x) : tf.pow(x, gamma));
    const oneMinusM = tf.sub(1, M);
    const anomalyTerm = tf.mul(
      tf.mul(Y, powG(oneMinusM)),
      tf.log(tf.add(M, eps)),
    ).mul(alphaF);
    const normalTerm = tf.mul(
      tf.mul(tf.sub(1, Y), powG(M)),
      tf.log(tf.add(oneMinusM, eps)),
    ).mul(1 - alphaF);
    return tf.neg(tf.mean(tf.add(anomalyTerm, normalTerm))) as tf.Scalar;
  });
}

/** Eq. 15: 1 - (2 sum MY + eps) / (sum M + sum Y + eps) per image, then the batch mean. */
export function diceLoss(M: tf.Tensor, Y: tf.Tensor, eps = 1e-5): tf.Scalar {
  return tf.tidy(() => {
    const pixelAxes = Array.from({ length: M.rank - 1 }, (_, i) => i + 1);
    const inter = tf.sum(tf.mul(M, Y), pixelAxes); // [B]
    const denom = tf.add(tf.sum(M, pixelAxes), tf.sum(Y, pixelAxes)); // [B]
    const perImage = tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), eps), tf.add(denom, eps)));
    return tf.mean(perImage) as tf.Scalar;
  });
}

/** Binary cross-entropy of probabilities p against 0/1 labels y (mean); p clipped to [eps, 1-eps]. */
export function bceLoss(p: tf.Tensor, y: tf.Tensor, eps = 1e-7): tf.Scalar {
  return tf.tidy(() => {
    const pc = tf.clipByValue(p, eps, 1 - eps);
    const ll = tf.add(tf.mul(y, tf.log(pc)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, pc))));
    return tf.neg(tf.mean(ll)) as tf.Scalar;
  });
}
