/**
 * The Stage-2 training loop: Adam over exactly the prompt learner and the
 * branch MLPs (backbone and Stage 1 stay frozen), seeded batch order, the
 * loss of Eq. 19 per step, and a hard stop on a non-finite loss.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { branchWeights, stage2Loss, type LossOptions, type Stage2Batch, type Stage2Model } from './stage2-model.ts';

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
  const varList = model.variables;
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
        const batch = await data.load(perm.slice(b * opts.batchSize, (b + 1) * opts.batchSize));
        let parts: tf.Scalar[] = [];
        let cost: tf.Scalar | null = null;
        try {
          cost = optimizer.minimize(
            () => {
              const { loss, perBranch } = stage2Loss(model, batch, weights, opts.tauS, opts);
              parts = perBranch.map((p) => tf.keep(p));
              return loss;
            },
            true,
            varList,
          );
        } finally {
          tf.dispose([...batch.Z, batch.tN, batch.tA]);
        }
        step++;
        const loss = cost!.dataSync()[0];
        const [lossA, lossB] = parts.map((p) => p.dataSync()[0]);
        tf.dispose([cost!, ...parts]);
        if (!Number.isFinite(loss)) {
          throw new Error(
            `Stage 2: loss is ${loss} at step ${step} (epoch ${epoch + 1}, batch ${b + 1}); ` +
              'nothing was written - lower lr or check the inputs of this batch',
          );
        }
        lastLoss = loss;
        hooks.onStep?.({ step, epoch: epoch + 1, loss, lossA, lossB: lossB ?? null });
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: step, lastLoss };
}
