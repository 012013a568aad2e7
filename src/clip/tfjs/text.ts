/**
 * CLIP's causal text transformer in TensorFlow.js: frozen weights, inputs
 * given as embeddings so a prompt learner can put learnable vectors in place
 * of tokens, deep prompts that overwrite token positions before chosen
 * blocks, and EOT pooling -> ln_final -> projection.
 *
 * Prompts are short (about 17 tokens): attention runs as batched [S*H,T,T]
 * matMuls, because per-head 2-D matMuls would mean thousands of tiny ops per
 * step and the naive batched kernel costs little at this T. The linear
 * layers, where the work is, stay plain 2-D matMuls (see ops.ts).
 *
 * The token embedding table stays in JavaScript: ids are looked up on the
 * host (tfjs-wasm has no gradient for gather, and the table is frozen).
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipConfig, ClipWeights } from '../weights.ts';
import { eotIndices } from '../tokenizer.ts';
import { initTf } from '../backend.ts';
import {
  disposeBlock, disposeLayerNorm, disposeLinear, layerNorm, linear, makeBlock, makeLayerNorm,
  makeLinear, mlp, type BlockParams, type LayerNormParams, type Linear,
} from './ops.ts';

export interface TextCollect {
  /** block (1-indexed) -> [S,T,D] residual stream after it */
  blockOut?: Map<number, Float32Array>;
  /** block (1-indexed) -> [S,T,T] head-mean causal attention */
  attnMean?: Map<number, Float32Array>;
}

export class TextTower {
  readonly config: ClipConfig;
  private readonly tokenTable: Float32Array; // [V, D], host side
  private readonly posTable: Float32Array; // [77, D]
  private readonly blocks: BlockParams[] = [];
  private readonly lnFinal: LayerNormParams;
  private readonly proj: Linear;
  private readonly masks = new Map<number, tf.Tensor2D>();

  constructor(weights: ClipWeights) {
    const c = (this.config = weights.config);
    const get = (n: string) => weights.get(n);
    this.tokenTable = get('text_model.embeddings.token_embedding.weight').data;
    this.posTable = get('text_model.embeddings.position_embedding.weight').data;
    for (let i = 0; i < c.text.layers; i++) this.blocks.push(makeBlock(get, `text_model.encoder.layers.${i}`, c.text.eps, true));
    this.lnFinal = makeLayerNorm(get, 'text_model.final_layer_norm', c.text.eps);
    this.proj = makeLinear(get('text_projection.weight'), undefined, true);
  }

  get width(): number {
    return this.config.text.width;
  }

  /** Token embeddings of `ids` (no positions): [ids.length, D]. */
  tokenEmbeddings(ids: ArrayLike<number>): Float32Array {
    const D = this.width;
    const out = new Float32Array(ids.length * D);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= this.config.text.vocabSize) throw new Error(`token id ${id} outside the vocabulary`);
      out.set(this.tokenTable.subarray(id * D, (id + 1) * D), i * D);
    }
    return out;
  }

  /** The first T rows of the position table: [T, D]. */
  positions(T: number): tf.Tensor2D {
    return tf.tensor2d(this.posTable.subarray(0, T * this.width), [T, this.width]);
  }

  /** Additive causal mask [T,T]: -inf above the diagonal. */
  private causalMask(T: number): tf.Tensor2D {
    let m = this.masks.get(T);
    if (!m) {
      const d = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) d[i * T + j] = -Infinity;
      m = tf.keep(tf.tensor2d(d, [T, T])); // cached across tidy scopes
      this.masks.set(T, m);
    }
    return m;
  }

  /** Causal multi-head self-attention of one block on [S*T, D] -> [S*T, D]. */
  private attention(y: tf.Tensor2D, S: number, T: number, blk: BlockParams, meanOut?: (m: tf.Tensor) => void): tf.Tensor2D {
    const D = this.width;
    const H = this.config.text.heads;
    const hd = D / H;
    const split = (t: tf.Tensor2D) => t.reshape([S, T, H, hd]).transpose([0, 2, 1, 3]).reshape([S * H, T, hd]);
    const q = split(tf.mul(linear(y, blk.q), hd ** -0.5) as tf.Tensor2D);
    const kT = tf.transpose(split(linear(y, blk.k)), [0, 2, 1]); // [S*H, hd, T]
    const v = split(linear(y, blk.v));
    const p = tf.softmax(tf.add(tf.matMul(q, kT), this.causalMask(T))); // [S*H, T, T]
    if (meanOut) meanOut(p.reshape([S, H, T, T]).mean(1));
    const o = tf.matMul(p, v).reshape([S, H, T, hd]).transpose([0, 2, 1, 3]).reshape([S * T, D]); // heads concatenated in order
    return linear(o as tf.Tensor2D, blk.out);
  }

  /**
   * Run the blocks on input embeddings x [S,T,D] (positions already added).
   * `deep` maps a block (1-indexed) to [len, D] vectors that overwrite token
   * positions 1..len of that block's input, in every sequence.
   * Returns the residual stream after the last block, [S*T, D].
   */
  encodeEmbeddings(x: tf.Tensor3D, deep: Map<number, tf.Tensor2D> = new Map(), collect?: TextCollect): tf.Tensor2D {
    const [S, T, D] = x.shape;
    let h: tf.Tensor3D = x;
    for (let l = 1; l <= this.blocks.length; l++) {
      const blk = this.blocks[l - 1];
      const d = deep.get(l);
      if (d) {
        const len = d.shape[0];
        h = tf.concat([h.slice([0, 0, 0], [S, 1, D]), tf.broadcastTo(d.reshape([1, len, D]), [S, len, D]), h.slice([0, 1 + len, 0], [S, T - 1 - len, D])], 1);
      }
      const x2 = h.reshape([S * T, D]) as tf.Tensor2D;
      const mean = collect?.attnMean ? (m: tf.Tensor) => collect.attnMean!.set(l, m.dataSync() as Float32Array) : undefined;
      const a = tf.add(x2, this.attention(layerNorm(x2, blk.ln1), S, T, blk, mean)) as tf.Tensor2D;
      const next = tf.add(a, mlp(a, blk)) as tf.Tensor2D;
      collect?.blockOut?.set(l, next.dataSync() as Float32Array);
      h = next.reshape([S, T, D]);
    }
    return h.reshape([S * T, D]);
  }

  /** ln_final at all positions of the stream [S*T, D]. */
  finalLn(x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(x, this.lnFinal);
  }

  /** EOT pooling: ln_final of row eot[s] of each sequence, then the projection: [S, E]. */
  pool(x: tf.Tensor2D, T: number, eot: number[]): tf.Tensor2D {
    const rows = eot.map((e, s) => x.slice([s * T + e, 0], [1, this.width]));
    return linear(layerNorm(tf.concat(rows, 0), this.lnFinal), this.proj);
  }

  dispose(): void {
    for (const b of this.blocks) disposeBlock(b);
    disposeLayerNorm(this.lnFinal);
    disposeLinear(this.proj);
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/**
 * CLIP's encode_text on [S,77] ids (0- or EOT-padded): [S,E] embeddings, not
 * normalised. Only the first (max EOT index + 1) positions are run: with the
 * causal mask, later positions cannot change the pooled token.
 */
export function textEmbedsWithTower(tower: TextTower, ids: Int32Array, collect?: TextCollect & { finalLn?: Float32Array[] }): Float32Array {
  const L = tower.config.text.contextLength;
  const S = ids.length / L;
  const eot = eotIndices(ids, L);
  const T = collect ? L : Math.max(...eot) + 1;
  const D = tower.width;
  return tf.tidy(() => {
    const emb = new Float32Array(S * T * D);
    for (let s = 0; s < S; s++) emb.set(tower.tokenEmbeddings(ids.subarray(s * L, s * L + T)), s * T * D);
    const x = tf.add(tf.tensor3d(emb, [S, T, D]), tower.positions(T)) as tf.Tensor3D;
    const out = tower.encodeEmbeddings(x, new Map(), collect);
    if (collect?.finalLn) collect.finalLn.push(tower.finalLn(out).dataSync() as Float32Array);
    return tower.pool(out, T, eot).dataSync() as Float32Array;
  });
}

/** Text embeddings [S,E] of token ids [S,77] (`clip embed --text`), on `backend` if given. */
export async function encodeText(weights: ClipWeights, ids: Int32Array, backend?: string): Promise<Float32Array> {
  if (backend) await initTf(backend); // else the backend already in use
  const tower = new TextTower(weights);
  try {
    return textEmbedsWithTower(tower, ids);
  } finally {
    tower.dispose();
  }
}
