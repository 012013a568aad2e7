/**
 * The Stage-2 training loop: Adam over exactly the prompt learner and the
 * branch MLPs (backbone and Stage 1 stay frozen), seeded batch order, the
 * loss of Eq. 19 per step, and a hard stop on a non-finite loss.
 *
 * Memory: the gradient of one step is accumulated branch by branch and,
 * with `microBatch`, over slices of the batch. The loss is a sum over images
 * (focal: mean over all pixels; dice: mean over images), so a slice of m of
 * the B images contributes (m / B) times its own loss and the accumulated
 * gradient is the full batch's (up to float rounding). Only one branch's
 * text-tower activations for one slice are alive at a time, which keeps a
 * ViT-L/14 step inside the 4 GB wasm heap.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { branchLoss, branchWeights, type LossOptions, type Stage2Batch, type Stage2Model } from './stage2-model.ts';

export interface Stage2TrainOptions extends LossOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  /** Seeds the batch order (the model is seeded where it is created). */
  seed: number;
  tauS: number;
  lambdaA: number;
  lambdaB: number;
  /** Images per gradient slice (default: the whole batch). */
  microBatch?: number;
}

/** Where the training images come from; `load` builds tensors the loop disposes. */
export interface Stage2Data {
  count: number;
  load(indices: number[]): Promise<Stage2Batch>;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  lossA: number;
  lossB: number | null;
}

export interface TrainHooks {
  onStart?(totalSteps: number): void;
  onStep?(rec: StepRecord): void;
  signal?: AbortSignal;
}

export function stepsPerEpoch(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize); // the last, smaller batch is kept (torch drop_last=False)
}

export async function trainStage2(
  model: Stage2Model,
  data: Stage2Data,
  opts: Stage2TrainOptions,
  hooks: TrainHooks = {},
): Promise<{ steps: number; lastLoss: number }> {
  if (data.count === 0) throw new Error('Stage 2: the training set is empty');
  const weights = branchWeights(opts.lambdaA, opts.lambdaB, model.branches.length as 1 | 2); // Eq. 19
  // epsilon 1e-8 as torch's Adam [parent]; tfjs defaults to 1e-7
  const optimizer = tf.train.adam(opts.lr, opts.beta1, opts.beta2, 1e-8);
  const order = new Rng(opts.seed).fork(0x5eed);
  const perEpoch = stepsPerEpoch(data.count, opts.batchSize);
  hooks.onStart?.(opts.epochs * perEpoch);

  let step = 0;
  let lastLoss = NaN;
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const perm = order.permutation(data.count);
      for (let b = 0; b < perEpoch; b++) {
        if (hooks.signal?.aborted) throw new Error('Stage 2 training interrupted');
        const indices = perm.slice(b * opts.batchSize, (b + 1) * opts.batchSize);
        const { grads, branchLosses } = await batchGradients(model, data, indices, weights, opts);
        step++;
        // Eq. 19: L = lambda_A' L_A + lambda_B' L_B
        const loss = branchLosses.reduce((s, l, m) => s + weights[m] * l, 0);
        if (!Number.isFinite(loss)) {
          tf.dispose(Object.values(grads));
          throw new Error(
            `Stage 2: loss is ${loss} at step ${step} (epoch ${epoch + 1}, batch ${b + 1}); ` +
              'nothing was written - lower lr or check the inputs of this batch',
          );
        }
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose(Object.values(grads));
        lastLoss = loss;
        hooks.onStep?.({ step, epoch: epoch + 1, loss, lossA: branchLosses[0], lossB: branchLosses[1] ?? null });
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: step, lastLoss };
}

/**
 * Gradient of Eq. 19 over one batch, accumulated per branch and per slice
 * of `microBatch` images; also each branch's loss L_m over the batch.
 */
async function batchGradients(
  model: Stage2Model,
  data: Stage2Data,
  indices: number[],
  weights: number[],
  opts: Stage2TrainOptions,
): Promise<{ grads: Record<string, tf.Tensor>; branchLosses: number[] }> {
  const varList = model.variables;
  const micro = Math.max(1, Math.min(opts.microBatch ?? indices.length, indices.length));
  const grads: Record<string, tf.Tensor> = {};
  const branchLosses = model.branches.map(() => 0);
  for (let start = 0; start < indices.length; start += micro) {
    const slice = indices.slice(start, start + micro);
    const share = slice.length / indices.length;
    const batch: Stage2Batch = await data.load(slice);
    try {
      for (let m = 0; m < model.branches.length; m++) {
        let lm: tf.Scalar | null = null;
        const res = tf.variableGrads(() => {
          lm = tf.keep(branchLoss(model.anomalyProbs(m, batch.Z, batch.tN, batch.tA, opts.tauS), batch.Y, opts));
          return tf.mul(lm, weights[m] * share) as tf.Scalar;
        }, varList);
        branchLosses[m] += share * lm!.dataSync()[0];
        tf.dispose([lm!, res.value]);
        for (const [name, g] of Object.entries(res.grads)) {
          const prev = grads[name];
          grads[name] = prev ? tf.add(prev, g) : g;
          if (prev) tf.dispose([prev, g]);
        }
      }
    } finally {
      tf.dispose([...batch.Z, batch.tN, batch.tA]);
    }
  }
  return { grads, branchLosses };
}
