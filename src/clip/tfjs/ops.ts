/**
 * The transformer pieces shared by the vision and text towers, in
 * TensorFlow.js. Weights are frozen: a linear layer keeps W^T for the
 * forward and, where input gradients are needed, W as well, so that every
 * matMul is a plain 2-D one without transpose flags: on the wasm backend
 * only those run at full speed (transposed or batched matMuls fall to a
 * naive loop several times slower).
 */
import * as tf from '@tensorflow/tfjs';

export interface Linear {
  /** [in, out]: y = x @ wT + b */
  wT: tf.Tensor2D;
  /** [out, in]: dx = dy @ w; null where no gradient is needed (vision tower) */
  w: tf.Tensor2D | null;
  b: tf.Tensor1D | null;
}

export interface LayerNormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  eps: number;
}

type Host = { data: Float32Array; shape: number[] };

/**
 * A frozen HF linear layer from its [out,in] weight and optional bias.
 * `backward` keeps the untransposed weight too, for input gradients; the
 * vision tower (inference only) skips it, halving its weight memory, which
 * matters for ViT-L in the 4 GB wasm heap.
 */
export function makeLinear(w: Host, b: Host | undefined, backward: boolean): Linear {
  const weight = tf.tensor2d(w.data, w.shape as [number, number]);
  const wT = weight.transpose() as tf.Tensor2D;
  if (!backward) weight.dispose();
  return { w: backward ? weight : null, wT, b: b ? tf.tensor1d(b.data) : null };
}

export function disposeLinear(l: Linear): void {
  l.w?.dispose();
  l.wT.dispose();
  l.b?.dispose();
}

/**
 * x [N, in] -> [N, out]. The gradient flows to x only (weights are frozen)
 * and uses the stored untransposed W, a plain 2-D matMul.
 */
export function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  const w = l.w;
  let y: tf.Tensor2D;
  if (w) {
    const f = tf.customGrad(((xi: tf.Tensor) => {
      const value = tf.matMul(xi as tf.Tensor2D, l.wT);
      return { value, gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, w) };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    y = f(x) as tf.Tensor2D;
  } else {
    y = tf.matMul(x, l.wT);
  }
  return l.b ? tf.add(y, l.b) : y;
}

/** LayerNorm over the last axis (biased variance, as torch). */
export function layerNorm(x: tf.Tensor2D, p: LayerNormParams): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, p.eps))), p.gamma), p.beta);
}

/** QuickGELU: x * sigmoid(1.702 x), CLIP's activation. */
export function quickGelu(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

export function makeLayerNorm(
  get: (n: string) => { data: Float32Array; shape: number[] },
  prefix: string,
  eps: number,
): LayerNormParams {
  return { gamma: tf.tensor1d(get(`${prefix}.weight`).data), beta: tf.tensor1d(get(`${prefix}.bias`).data), eps };
}

export function disposeLayerNorm(p: LayerNormParams): void {
  p.gamma.dispose();
  p.beta.dispose();
}

export interface BlockParams {
  ln1: LayerNormParams;
  ln2: LayerNormParams;
  q: Linear;
  k: Linear;
  v: Linear;
  out: Linear;
  fc1: Linear;
  fc2: Linear;
}

export function makeBlock(
  get: (n: string) => { data: Float32Array; shape: number[] },
  prefix: string,
  eps: number,
  backward: boolean,
): BlockParams {
  const lin = (n: string) => makeLinear(get(`${prefix}.${n}.weight`), get(`${prefix}.${n}.bias`), backward);
  return {
    ln1: makeLayerNorm(get, `${prefix}.layer_norm1`, eps),
    ln2: makeLayerNorm(get, `${prefix}.layer_norm2`, eps),
    q: lin('self_attn.q_proj'),
    k: lin('self_attn.k_proj'),
    v: lin('self_attn.v_proj'),
    out: lin('self_attn.out_proj'),
    fc1: lin('mlp.fc1'),
    fc2: lin('mlp.fc2'),
  };
}

export function disposeBlock(b: BlockParams): void {
  disposeLayerNorm(b.ln1);
  disposeLayerNorm(b.ln2);
  for (const l of [b.q, b.k, b.v, b.out, b.fc1, b.fc2]) disposeLinear(l);
}

/** The MLP half of a block: fc2(quick_gelu(fc1(ln_2(x)))). */
export function mlp(x: tf.Tensor2D, p: BlockParams): tf.Tensor2D {
  return linear(quickGelu(linear(layerNorm(x, p.ln2), p.fc1)), p.fc2);
}
