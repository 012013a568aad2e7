/**
 * CLIP's ViT image tower in TensorFlow.js, with the method's extras: per-layer
 * residual tokens and head-averaged q-k attention, and the V-V attention
 * stream (see the method description, "Backbone").
 *
 * Layout: tokens are kept as a 2-D [B*T, D] matrix (batch-major, class token
 * first in each image) so every linear layer is one plain 2-D matMul.
 * Attention runs per image and per head as 2-D matMuls against an explicit
 * transpose, the only form the wasm backend runs fast.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionOutputs, VisionRequest, Tensor } from '../engine.ts';
import type { ClipConfig } from '../weights.ts';
import { resizePosTable, type PosInterp } from '../pos-embed.ts';
import {
  disposeBlock, disposeLayerNorm, disposeLinear, layerNorm, linear, makeBlock, makeLayerNorm,
  makeLinear, mlp, type BlockParams, type LayerNormParams, type Linear,
} from './ops.ts';

/** What the tower needs from a weights object (also what workers receive). */
export interface WeightSource {
  config: ClipConfig;
  get(name: string): { data: Float32Array; shape: number[] };
}

/** Names of the tensors the vision tower reads. */
export function visionTensorNames(c: ClipConfig): string[] {
  const names = [
    'vision_model.embeddings.class_embedding',
    'vision_model.embeddings.patch_embedding.weight',
    'vision_model.embeddings.position_embedding.weight',
    'vision_model.pre_layrnorm.weight', 'vision_model.pre_layrnorm.bias',
    'vision_model.post_layernorm.weight', 'vision_model.post_layernorm.bias',
    'visual_projection.weight',
  ];
  for (let i = 0; i < c.vision.layers; i++) {
    const p = `vision_model.encoder.layers.${i}`;
    for (const n of ['layer_norm1', 'layer_norm2', 'self_attn.q_proj', 'self_attn.k_proj',
      'self_attn.v_proj', 'self_attn.out_proj', 'mlp.fc1', 'mlp.fc2']) {
      names.push(`${p}.${n}.weight`, `${p}.${n}.bias`);
    }
  }
  return names;
}

/**
 * Multi-head attention softmax(q k^T hd^-0.5) v over [B*T, D] inputs, per
 * image and head with 2-D matMuls. Returns the concatenated head outputs
 * [B*T, D] (before out_proj) and, if asked, the head-mean probabilities
 * [B*T, T] (rows = queries).
 */
export function attention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D,
  batch: number, T: number, heads: number, wantMean: boolean,
): { o: tf.Tensor2D; mean: tf.Tensor2D | null } {
  const D = q.shape[1];
  const hd = D / heads;
  const qs = tf.mul(q, hd ** -0.5) as tf.Tensor2D; // scale q once, as torch does
  const outs: tf.Tensor2D[] = [];
  const means: tf.Tensor2D[] = [];
  for (let b = 0; b < batch; b++) {
    const qb = qs.slice([b * T, 0], [T, D]);
    const kbT = k.slice([b * T, 0], [T, D]).transpose() as tf.Tensor2D; // [D, T]
    const vb = v.slice([b * T, 0], [T, D]);
    const headOut: tf.Tensor2D[] = [];
    let pSum: tf.Tensor2D | null = null;
    for (let h = 0; h < heads; h++) {
      const scores = tf.matMul(qb.slice([0, h * hd], [T, hd]), kbT.slice([h * hd, 0], [hd, T])); // [T, T]
      const p = tf.softmax(scores) as tf.Tensor2D;
      headOut.push(tf.matMul(p, vb.slice([0, h * hd], [T, hd]))); // [T, hd]
      if (wantMean) pSum = pSum ? (tf.add(pSum, p) as tf.Tensor2D) : p;
    }
    outs.push(tf.concat(headOut, 1)); // heads in order -> [T, D]
    if (pSum) means.push(tf.div(pSum, heads));
  }
  return { o: tf.concat(outs, 0), mean: wantMean ? tf.concat(means, 0) : null };
}

/** Reject requests this tower cannot serve, naming the parameter. */
export function checkVisionRequest(config: ClipConfig, req: VisionRequest): void {
  const L = config.vision.layers;
  const check = (what: string, layers: number[] | undefined, lo = 1) => {
    for (const l of layers ?? []) {
      if (!Number.isInteger(l) || l < lo || l > L) {
        throw new Error(`${what}: layer ${l} is outside ${lo}..${L} (blocks are 1-indexed; this tower has ${L})`);
      }
    }
  };
  check('tokenLayers', req.tokenLayers);
  check('attnLayers', req.attnLayers);
  if (req.vvFrom !== undefined) {
    check('vvFrom', [req.vvFrom]);
    check(`vvLayers (vvFrom ${req.vvFrom})`, req.vvLayers, req.vvFrom);
  } else if (req.vvLayers?.length) {
    throw new Error('vvLayers given without vvFrom: say from which block the V-V stream starts');
  }
  const { patchSize: p } = config.vision;
  if (req.size % p !== 0) throw new Error(`input size ${req.size} is not a multiple of the patch size ${p}`);
}

function download(t: tf.Tensor, shape: number[]): Tensor {
  return { data: t.dataSync() as Float32Array, shape };
}

export class VisionTower {
  readonly config: ClipConfig;
  private readonly patchKernel: tf.Tensor4D; // HWIO
  private readonly classEmbedding: tf.Tensor2D; // [1, D]
  private readonly posTable: Float32Array; // checkpoint table [1 + g0*g0, D]
  private readonly posCache = new Map<string, tf.Tensor2D>();
  private readonly lnPre: LayerNormParams;
  private readonly lnPost: LayerNormParams;
  private readonly proj: Linear;
  private readonly blocks: BlockParams[] = [];

  constructor(weights: WeightSource) {
    const c = (this.config = weights.config);
    const v = c.vision;
    const get = (n: string) => weights.get(n);
    const pk = get('vision_model.embeddings.patch_embedding.weight');
    // OIHW -> HWIO for tf.conv2d
    this.patchKernel = tf.tidy(() => tf.tensor4d(pk.data, pk.shape as [number, number, number, number]).transpose([2, 3, 1, 0]));
    this.classEmbedding = tf.tensor2d(get('vision_model.embeddings.class_embedding').data, [1, v.width]);
    this.posTable = get('vision_model.embeddings.position_embedding.weight').data;
    this.lnPre = makeLayerNorm(get, 'vision_model.pre_layrnorm', v.eps);
    this.lnPost = makeLayerNorm(get, 'vision_model.post_layernorm', v.eps);
    this.proj = makeLinear(get('visual_projection.weight'), undefined, false);
    for (let i = 0; i < v.layers; i++) this.blocks.push(makeBlock(get, `vision_model.encoder.layers.${i}`, v.eps, false));
  }

  /** Position table for a grid of g x g patches, resized once per (g, mode) from the checkpoint's. */
  posEmbed(g: number, mode: PosInterp): tf.Tensor2D {
    const key = `${g}:${mode}`;
    let t = this.posCache.get(key);
    if (!t) {
      const table = resizePosTable(this.posTable, this.config.vision.width, g, mode);
      t = tf.keep(tf.tensor2d(table, [1 + g * g, this.config.vision.width])); // cached across tidy scopes
      this.posCache.set(key, t);
    }
    return t;
  }

  /** Patch convolution, class token and positions: [B*T, D] before pre-LN. */
  embed(pixels: tf.Tensor4D, g: number, mode: PosInterp): tf.Tensor2D {
    const { width: D, patchSize: p } = this.config.vision;
    const B = pixels.shape[0];
    const nhwc = pixels.transpose([0, 2, 3, 1]) as tf.Tensor4D; // [B, S, S, 3]
    const patches = tf.conv2d(nhwc, this.patchKernel, p, 'valid').reshape([B, g * g, D]); // row-major grid
    const cls = tf.broadcastTo(this.classEmbedding.reshape([1, 1, D]), [B, 1, D]);
    const tokens = tf.add(tf.concat([cls, patches], 1), this.posEmbed(g, mode)); // [B, T, D]
    return tokens.reshape([B * (1 + g * g), D]);
  }

  /** Run [B,3,size,size] normalised pixels through the tower. */
  forward(pixels: Float32Array, batch: number, req: VisionRequest): VisionOutputs {
    checkVisionRequest(this.config, req);
    const { width: D, heads: H, patchSize: p, layers: L } = this.config.vision;
    const E = this.config.embedDim;
    const S = req.size;
    if (pixels.length !== batch * 3 * S * S) {
      throw new Error(`pixels: ${pixels.length} values, expected ${batch}x3x${S}x${S}`);
    }
    const g = S / p;
    const T = 1 + g * g;
    const mode = req.posInterp ?? 'bilinear';
    const tokenLayers = new Set(req.tokenLayers ?? []);
    const attnLayers = new Set(req.attnLayers ?? []);
    const vvLayers = new Set(req.vvLayers ?? []);
    const out: VisionOutputs = { imageEmbeds: { data: new Float32Array(0), shape: [] }, tokens: new Map(), attn: new Map(), vvTokens: new Map(), vvTokensLnPost: new Map() };

    let x = tf.tidy(() => layerNorm(this.embed(tf.tensor4d(pixels, [batch, 3, S, S]), g, mode), this.lnPre));
    let xvv: tf.Tensor2D | null = null;

    for (let l = 1; l <= L; l++) {
      const blk = this.blocks[l - 1];
      // The V-V stream starts as this block's input (Backbone, V-V attention).
      if (req.vvFrom === l) xvv = tf.clone(x);
      const [nx, nvv] = tf.tidy(() => {
        const y = layerNorm(x, blk.ln1);
        const v = linear(y, blk.v);
        const qk = attention(linear(y, blk.q), linear(y, blk.k), v, batch, T, H, attnLayers.has(l));
        if (qk.mean) out.attn.set(l, download(qk.mean, [batch, T, T]));
        const h = tf.add(x, linear(qk.o, blk.out)) as tf.Tensor2D;
        const next = tf.add(h, mlp(h, blk));
        if (tokenLayers.has(l)) out.tokens.set(l, download(next, [batch, T, D]));
        let vvNext: tf.Tensor2D | null = null;
        const xvvIn = xvv;
        if (xvvIn) {
          // V-V: softmax(v v^T hd^-0.5) v from ln_1 of the ORIGINAL stream; no MLP.
          const vv = attention(v, v, v, batch, T, H, false);
          vvNext = tf.add(xvvIn, linear(vv.o, blk.out)) as tf.Tensor2D;
          if (vvLayers.has(l)) {
            const lnp = layerNorm(vvNext, this.lnPost);
            out.vvTokensLnPost.set(l, download(lnp, [batch, T, D]));
            out.vvTokens.set(l, download(linear(lnp, this.proj), [batch, T, E]));
          }
        }
        return vvNext ? [next, vvNext] : [next];
      });
      x.dispose();
      xvv?.dispose();
      x = nx as tf.Tensor2D;
      xvv = (nvv as tf.Tensor2D | undefined) ?? null;
    }

    tf.tidy(() => {
      const cls = tf.concat(Array.from({ length: batch }, (_, b) => x.slice([b * T, 0], [1, D])), 0); // [B, D]
      out.imageEmbeds = download(linear(layerNorm(cls, this.lnPost), this.proj), [batch, E]);
      const gcls = req.globalLnPost ? layerNorm(cls, this.lnPost) : cls;
      out.global = download(linear(gcls, this.proj), [batch, E]);
    });
    x.dispose();
    xvv?.dispose();
    return out;
  }

  dispose(): void {
    this.patchKernel.dispose();
    this.classEmbedding.dispose();
    for (const t of this.posCache.values()) t.dispose();
    this.posCache.clear();
    disposeLayerNorm(this.lnPre);
    disposeLayerNorm(this.lnPost);
    disposeLinear(this.proj);
    for (const b of this.blocks) disposeBlock(b);
  }
}
