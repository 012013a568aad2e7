/**
 * Stage 1 of EntroAD: memory-guided retrieval (MRAD), its four learned
 * projections, the loss of Eq. 17 and the training loop.
 *
 *   image level:  a_ret = Eq. 4 with P_q^img(q_img), P_k^img(K_img), V_img      q_img = L2-normalised global
 *   patch level:  p_i   = Eq. 4 with P_q^pat(q_i),  P_k^pat(K_pat), V_pat       q_i   = smoothed ln_post token i
 *   M_base = p on the g x g grid, bilinear to the input size
 *   L_stage1 = focal(M_base, Y) + dice(M_base, Y) + BCE(a_ret, label)     (Eq. 17)
 *
 * Only the four projections are tf.Variables; features and memories enter as
 * constants, so nothing frozen can move. The quantile filter (training only)
 * is computed from raw similarities before the gradient tape starts.
 *
 * Choices not fixed by the paper or its parents [ours]:
 * - patch queries are L2-normalised before projection (the keys are unit
 *   prototypes, so both sides live on the same sphere); a switch,
 *   recorded in the model so retrieval uses what training used;
 * - the three loss terms are summed with weight 1;
 * - a_ret is clipped to [1e-7, 1 - 1e-7] inside the BCE.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { project, quantileDropMask, retrieve, type Projection } from './retrieval.ts';
import { resizeBilinearTf } from './bilinear.ts';
import { l2NormalizeRows } from './smoothing.ts';
import { bceLoss, diceLoss, focalLoss } from './losses.ts';
import { STAGE1_NAMES, type MemoryBank, type Stage1Params } from './stage1-io.ts';

let modelCounter = 0;

/** The four projections as tf.Variables (torch Linear layout). */
export class Stage1Model {
  readonly vars: Map<string, tf.Variable>;

  private constructor(params: Stage1Params, trainable: boolean) {
    const id = modelCounter++;
    this.vars = new Map();
    for (const [name, p] of Object.entries(params)) {
      // tfjs variable names are process-global; the id keeps two models apart
      this.vars.set(name, tf.variable(tf.tensor(p.data, p.shape), trainable, `stage1_${id}/${name}`));
    }
  }

  /** torch's default Linear init: weight and bias uniform in +-1/sqrt(in). */
  static init(E: number, D: number, seed: number): Stage1Model {
    const rng = new Rng(seed);
    const params: Stage1Params = {};
    const inDims: Record<string, number> = { img_q: E, img_k: E, pat_q: D, pat_k: D };
    for (const name of STAGE1_NAMES) {
      const fanIn = inDims[name];
      const bound = 1 / Math.sqrt(fanIn);
      const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-bound, bound));
      params[`${name}.weight`] = { data: uniform(E * fanIn), shape: [E, fanIn] };
      params[`${name}.bias`] = { data: uniform(E), shape: [E] };
    }
    return new Stage1Model(params, true);
  }

  static fromParams(params: Stage1Params): Stage1Model {
    return new Stage1Model(params, false);
  }

  proj(name: (typeof STAGE1_NAMES)[number]): Projection {
    return {
      weight: this.vars.get(`${name}.weight`) as unknown as tf.Tensor2D,
      bias: this.vars.get(`${name}.bias`) as unknown as tf.Tensor1D,
    };
  }

  toParams(): Stage1Params {
    const out: Stage1Params = {};
    for (const [name, v] of this.vars) out[name] = { data: v.dataSync() as Float32Array, shape: v.shape };
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
  }
}

/** The memory bank as constant tensors (keys are projected anew each step). */
export class MemoryTensors {
  readonly Kimg: tf.Tensor2D;
  readonly Vimg: tf.Tensor2D;
  readonly Kpat: tf.Tensor2D;
  readonly Vpat: tf.Tensor2D;
  readonly M1: number;
  readonly M2: number;

  constructor(readonly bank: MemoryBank) {
    this.M1 = bank.ownerImg.length;
    this.M2 = bank.ownerPat.length;
    if (this.M2 === 0) throw new Error('memory bank has no patch keys (every auxiliary image lacked exact-0 and exact-1 cells)');
    this.Kimg = tf.tensor2d(bank.Kimg, [this.M1, bank.E]);
    this.Vimg = tf.tensor2d(bank.Vimg, [this.M1, 2]);
    this.Kpat = tf.tensor2d(bank.Kpat, [this.M2, bank.D]);
    this.Vpat = tf.tensor2d(bank.Vpat, [this.M2, 2]);
  }

  dispose(): void {
    for (const t of [this.Kimg, this.Vimg, this.Kpat, this.Vpat]) t.dispose();
  }
}

/** One batch of queries, in the layout the forward pass wants. */
export interface QueryBatch {
  B: number;
  /** Patches per image, g*g. */
  N: number;
  /** L2-normalised global features [B,E]. */
  qImg: Float32Array;
  /** Patch queries [B*N,D] (normalised per `patchQueries`). */
  qPat: Float32Array;
}

/** Patch queries from smoothed ln_post tokens [N,D]. */
export function patchQueries(mem: Float32Array, D: number, normalize: boolean): Float32Array {
  return normalize ? l2NormalizeRows(mem, D) : mem;
}

export interface DropMasks {
  img?: Uint8Array; // [B,M1]
  pat?: Uint8Array; // [B*N,M2]
}

/** The training filter: raw similarities of the unprojected queries and keys, then the quantiles. */
export function quantileFilter(mem: MemoryTensors, batch: QueryBatch, qImage: number, qPatch: number): DropMasks {
  // read back outside tidy: a returned typed array would be walked as a tensor container
  const rawImgT = tf.tidy(() => tf.matMul(tf.tensor2d(batch.qImg, [batch.B, mem.bank.E]), tf.transpose(mem.Kimg)));
  const rawPatT = tf.tidy(() =>
    tf.matMul(tf.tensor2d(batch.qPat, [batch.B * batch.N, mem.bank.D]), tf.transpose(mem.Kpat)),
  );
  const rawImg = rawImgT.dataSync() as Float32Array; // [B,M1]
  const rawPat = rawPatT.dataSync() as Float32Array; // [B*N,M2]
  tf.dispose([rawImgT, rawPatT]);
  return {
    img: quantileDropMask(rawImg, batch.B, mem.M1, qImage),
    pat: quantileDropMask(rawPat, batch.B * batch.N, mem.M2, qPatch),
  };
}

/** Projected memory keys P_k(K) of both levels; constant at inference, so computed once there. */
export interface ProjectedKeys {
  kImg: tf.Tensor2D; // [M1,E]
  kPat: tf.Tensor2D; // [M2,E]
}

export function projectKeys(model: Stage1Model, mem: MemoryTensors): ProjectedKeys {
  return tf.tidy(() => ({
    kImg: project(mem.Kimg, model.proj('img_k')),
    kPat: project(mem.Kpat, model.proj('pat_k')),
  }));
}

/** Eq. 4 at both levels: a_ret [B] and p [B,N]. Keys are projected here unless given. */
export function stage1Forward(
  model: Stage1Model,
  mem: MemoryTensors,
  batch: QueryBatch,
  drops: DropMasks = {},
  keys?: ProjectedKeys,
): { aRet: tf.Tensor1D; p: tf.Tensor2D } {
  return tf.tidy(() => {
    const { B, N } = batch;
    const { kImg, kPat } = keys ?? projectKeys(model, mem);
    const qImg = project(tf.tensor2d(batch.qImg, [B, mem.bank.E]), model.proj('img_q'));
    const aRet = retrieve(qImg, kImg, mem.Vimg, drops.img).anomaly; // [B]

    const qPat = project(tf.tensor2d(batch.qPat, [B * N, mem.bank.D]), model.proj('pat_q'));
    const p = retrieve(qPat, kPat, mem.Vpat, drops.pat).anomaly.reshape([B, N]) as tf.Tensor2D;
    return { aRet, p };
  });
}

export interface LossParts {
  focal: tf.Scalar;
  dice: tf.Scalar;
  bce: tf.Scalar;
  total: tf.Scalar;
}

/** Eq. 17 on one batch. `masks` is [B,S,S] 0/1, `labels` [B]. */
export function stage1Loss(
  model: Stage1Model,
  mem: MemoryTensors,
  batch: QueryBatch,
  targets: { masks: Float32Array; labels: Float32Array; size: number },
  drops: DropMasks,
): LossParts {
  return tf.tidy(() => {
    const { aRet, p } = stage1Forward(model, mem, batch, drops);
    const g = Math.round(Math.sqrt(batch.N));
    const S = targets.size;
    const Mbase = resizeBilinearTf(p.reshape([batch.B, g, g]) as tf.Tensor3D, S, S); // [B,S,S]
    const Y = tf.tensor3d(targets.masks, [batch.B, S, S]);
    const focal = focalLoss(Mbase, Y);
    const dice = diceLoss(Mbase, Y);
    const bce = bceLoss(aRet, tf.tensor1d(targets.labels));
    const total = tf.addN([focal, dice, bce]) as tf.Scalar;
    return { focal, dice, bce, total };
  });
}

export interface Stage1Hyper {
  lr: number;
  beta1: number;
  beta2: number;
  batchSize: number;
  epochs: number;
  seed: number;
  qImage: number;
  qPatch: number;
}

export interface TrainingBatch extends QueryBatch {
  masks: Float32Array;
  labels: Float32Array;
  /** Sample indices of the batch (for self-retrieval diagnostics). */
  indices: number[];
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  focal: number;
  dice: number;
  bce: number;
  /** Image queries whose own key survived the filter (should be 0). */
  selfKept: number;
}

/**
 * Adam over the four projections; batches in a seeded random order, the
 * last one possibly smaller. Throws on a non-finite loss, naming the step,
 * before that step's update is applied.
 */
export async function trainStage1(
  model: Stage1Model,
  mem: MemoryTensors,
  count: number,
  loadBatch: (indices: number[]) => Promise<TrainingBatch>,
  h: Stage1Hyper,
  size: number,
  onStep: (r: StepRecord) => void = () => {},
  signal?: AbortSignal,
): Promise<StepRecord[]> {
  const rng = new Rng(h.seed).fork(1); // the order stream is independent of the init stream
  const optimizer = tf.train.adam(h.lr, h.beta1, h.beta2, 1e-8);
  const varList = [...model.vars.values()];
  const records: StepRecord[] = [];
  let step = 0;
  try {
    for (let epoch = 0; epoch < h.epochs; epoch++) {
      const order = rng.permutation(count);
      for (let start = 0; start < count; start += h.batchSize) {
        signal?.throwIfAborted();
        const batch = await loadBatch(order.slice(start, start + h.batchSize));
        const drops = quantileFilter(mem, batch, h.qImage, h.qPatch);
        let parts: tf.Scalar[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const l = stage1Loss(model, mem, batch, { masks: batch.masks, labels: batch.labels, size }, drops);
          parts = [tf.keep(l.focal), tf.keep(l.dice), tf.keep(l.bce)];
          return l.total;
        }, varList);
        const loss = value.dataSync()[0];
        const [focal, dice, bce] = parts.map((t) => t.dataSync()[0]);
        tf.dispose([value, ...parts]);
        if (!Number.isFinite(loss)) {
          tf.dispose(grads);
          throw new Error(`stage1-train: loss is ${loss} at step ${step} (epoch ${epoch}); no model was written`);
        }
        optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
        tf.dispose(grads);
        const rec = { step, epoch, loss, focal, dice, bce, selfKept: selfKept(mem, batch, drops) };
        records.push(rec);
        onStep(rec);
        step++;
      }
    }
  } finally {
    optimizer.dispose();
  }
  return records;
}

/** How many image queries of the batch can still see their own memory key. */
function selfKept(mem: MemoryTensors, batch: TrainingBatch, drops: DropMasks): number {
  let kept = 0;
  const owners = mem.bank.ownerImg;
  batch.indices.forEach((sample, b) => {
    for (let j = 0; j < mem.M1; j++) {
      if (owners[j] === sample && !drops.img![b * mem.M1 + j]) kept++;
    }
  });
  return kept;
}
