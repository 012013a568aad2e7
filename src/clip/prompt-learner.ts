/**
 * The learnable text prompts of Stage 2 (method description, "Dual-branch
 * prompt adaptation"; AnomalyCLIP-style prompt learner):
 *
 *   normal  = [SOT] ctx_n(1..nCtx) "object."         [EOT]
 *   anomaly = [SOT] ctx_a(1..nCtx) "damaged object." [EOT]
 *
 * Per image b, the bias biasN[b] (biasA[b]) is added to every context vector
 * of the normal (anomaly) prompt (Eq. 9-12). Deep prompts: before each text
 * block l in `deepLayers` (1-indexed), token positions 1..deepLength of both
 * prompts are overwritten by that block's learnable vectors. Text features:
 * EOT pooling, ln_final, projection, L2-normalised.
 *
 * Only the context vectors and deep prompts are variables; the frozen tower
 * is plain tensors, so gradients reach the variables and the biases only.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { ClipTokenizer, SOT, EOT } from './tokenizer.ts';
import { TextTower } from './tfjs/text.ts';
import type { ClipWeights } from './weights.ts';

export interface PromptLearnerOptions {
  /** Learnable context vectors per prompt (method: 12). */
  nCtx: number;
  /** 1-indexed text blocks with deep prompts (method: 2..9); clipped to the tower's depth. */
  deepLayers: number[];
  /** Token positions 1..deepLength overwritten by deep prompts (method: 4). */
  deepLength: number;
  normalWords: string;
  anomalyWords: string;
  seed: number;
  /** Std of the N(0, std^2) initialisation (method: 0.02). */
  initStd?: number;
}

interface PromptTemplate {
  /** [T, D] fixed embeddings (SOT, words, EOT, 0-padding) with zero rows where the context goes. */
  fixed: tf.Tensor2D;
  /** Position of the EOT token. */
  eot: number;
}

export class PromptLearner {
  readonly variables: tf.Variable[];
  readonly textWidth: number;
  readonly embedDim: number;
  private readonly ctxNormal: tf.Variable<tf.Rank.R2>; // [nCtx, D]
  private readonly ctxAnomaly: tf.Variable<tf.Rank.R2>; // [nCtx, D]
  private readonly deep: Map<number, tf.Variable>; // block -> [deepLength, D]
  private readonly normal: PromptTemplate;
  private readonly anomaly: PromptTemplate;
  /** Positions run through the tower: max EOT index + 1 (see encode). */
  private readonly T: number;
  private readonly positions: tf.Tensor2D;

  private constructor(
    private readonly tower: TextTower,
    private readonly opts: PromptLearnerOptions,
    tokenizer: ClipTokenizer,
  ) {
    const D = (this.textWidth = tower.width);
    this.embedDim = tower.config.embedDim;
    const rng = new Rng(opts.seed);
    const std = opts.initStd ?? 0.02;
    const init = (rows: number) =>
      tf.tidy(() => tf.variable(tf.tensor2d(rng.normalArray(rows * D, std), [rows, D]), true)) as tf.Variable<tf.Rank.R2>;
    this.ctxNormal = init(opts.nCtx);
    this.ctxAnomaly = init(opts.nCtx);
    const layers = [...new Set(opts.deepLayers)].filter((l) => l >= 1 && l <= tower.config.text.layers).sort((a, b) => a - b);
    if (layers.length && opts.deepLength > opts.nCtx) {
      throw new Error(`prompt learner: deepLength ${opts.deepLength} exceeds nCtx ${opts.nCtx}; deep prompts overwrite context positions 1..deepLength`);
    }
    this.deep = new Map(layers.map((l) => [l, init(opts.deepLength)]));
    this.variables = [this.ctxNormal, this.ctxAnomaly, ...this.deep.values()];

    const nIds = tokenizer.encode(opts.normalWords);
    const aIds = tokenizer.encode(opts.anomalyWords);
    // Both prompts are run at the same length; with the causal mask nothing
    // after a prompt's EOT can change its pooled feature, so the tower only
    // needs the first (max EOT index + 1) positions, not all 77.
    this.T = 1 + opts.nCtx + Math.max(nIds.length, aIds.length) + 1;
    if (this.T > tower.config.text.contextLength) {
      throw new Error(`prompt learner: ${this.T} tokens exceed the text context of ${tower.config.text.contextLength}`);
    }
    this.normal = this.template(nIds);
    this.anomaly = this.template(aIds);
    this.positions = tower.positions(this.T);
  }

  static create(weights: ClipWeights, opts: PromptLearnerOptions): PromptLearner {
    return new PromptLearner(new TextTower(weights), opts, ClipTokenizer.fromDir(weights.dir));
  }

  private template(words: number[]): PromptTemplate {
    const { nCtx } = this.opts;
    const D = this.textWidth;
    const ids = new Array(this.T).fill(0); // clip.tokenize pads with 0
    ids[0] = SOT;
    words.forEach((id, i) => (ids[1 + nCtx + i] = id));
    const eot = 1 + nCtx + words.length;
    ids[eot] = EOT;
    const emb = this.tower.tokenEmbeddings(ids);
    emb.fill(0, D, (1 + nCtx) * D); // context slots are filled per call
    return { fixed: tf.tensor2d(emb, [this.T, D]), eot };
  }

  /** [B, T, D] prompt embeddings with ctx + bias at positions 1..nCtx. */
  private prompts(t: PromptTemplate, ctx: tf.Tensor2D, bias: tf.Tensor2D): tf.Tensor3D {
    const B = bias.shape[0];
    const { nCtx } = this.opts;
    const D = this.textWidth;
    const ctxB = tf.add(ctx.reshape([1, nCtx, D]), bias.reshape([B, 1, D])); // [B, nCtx, D]
    const pad = (n: number) => tf.zeros([B, n, D]);
    const placed = tf.concat([pad(1), ctxB, pad(this.T - 1 - nCtx)], 1); // [B, T, D]
    return tf.add(tf.add(placed, t.fixed), this.positions) as tf.Tensor3D;
  }

  /**
   * L2-normalised text features [B, E] of the normal and the anomaly prompt
   * for per-image biases biasN, biasA [B, D]. Differentiable w.r.t. the
   * variables and the biases.
   */
  encode(biasN: tf.Tensor2D, biasA: tf.Tensor2D): { normal: tf.Tensor2D; anomaly: tf.Tensor2D } {
    const B = biasN.shape[0];
    if (biasA.shape[0] !== B || biasN.shape[1] !== this.textWidth || biasA.shape[1] !== this.textWidth) {
      throw new Error(`prompt learner: biases must both be [B, ${this.textWidth}], got [${biasN.shape}] and [${biasA.shape}]`);
    }
    return tf.tidy(() => {
      const x = tf.concat([this.prompts(this.normal, this.ctxNormal, biasN), this.prompts(this.anomaly, this.ctxAnomaly, biasA)], 0); // [2B, T, D]
      const out = this.tower.encodeEmbeddings(x, this.deep as Map<number, tf.Tensor2D>);
      const eot = [...Array(B).fill(this.normal.eot), ...Array(B).fill(this.anomaly.eot)];
      const feats = this.tower.pool(out, this.T, eot); // [2B, E]
      const unit = tf.div(feats, tf.norm(feats, 'euclidean', 1, true)) as tf.Tensor2D;
      return { normal: unit.slice([0, 0], [B, this.embedDim]), anomaly: unit.slice([B, 0], [B, this.embedDim]) };
    });
  }

  private named(): [string, tf.Variable][] {
    return [
      ['ctx_normal', this.ctxNormal],
      ['ctx_anomaly', this.ctxAnomaly],
      ...[...this.deep].map(([l, v]) => [`deep.${l}`, v] as [string, tf.Variable]),
    ];
  }

  /** The learnable tensors by name, for saving. */
  state(): Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
    const out: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
    for (const [n, v] of this.named()) out[n] = { dtype: 'F32', shape: v.shape.slice(), data: v.dataSync().slice() as Float32Array };
    return out;
  }

  load(state: Record<string, { data: Float32Array; shape: number[] }>): void {
    for (const [n, v] of this.named()) {
      const s = state[n];
      if (!s) throw new Error(`prompt learner state: tensor "${n}" is missing`);
      if (s.shape.join(',') !== v.shape.join(',')) {
        throw new Error(`prompt learner state: tensor "${n}" has shape [${s.shape}], expected [${v.shape}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(s.data, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.normal.fixed.dispose();
    this.anomaly.fixed.dispose();
    this.positions.dispose();
    this.tower.dispose();
  }
}
