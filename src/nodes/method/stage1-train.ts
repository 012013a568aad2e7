/**
 * Node `stage1-train`: trains the four Stage-1 projections (image query /
 * key Linear(E,E), patch query / key Linear(D,E)) on the auxiliary set with
 * focal + dice on M_base and BCE on a_ret (Eq. 17), the quantile filter on
 * (q 0.95 image level, 0.8 patch level), Adam. The loss is computed on
 * M_base at the full input size, as the method states. Output: a `model`
 * artifact of kind 'stage1' (`src/method/stage1-io.ts`).
 */
import type { NodeContext } from '../../runner/types.ts';
import { registerNodeType } from '../index.ts';
import { initTf } from '../../clip/backend.ts';
import {
  checkSameSamples, maskAtSize, readDataset, readFeatureImage, readFeatureIndex, readMemoryBank,
  writeStage1Model,
} from '../../method/stage1-io.ts';
import { l2NormalizeRows } from '../../method/smoothing.ts';
import {
  MemoryTensors, Stage1Model, patchQueries, trainStage1, type TrainingBatch,
} from '../../method/stage1.ts';

export interface Stage1TrainParams {
  lr: number;
  beta1: number;
  beta2: number;
  batch_size: number;
  epochs: number;
  seed: number;
  q_image: number;
  q_patch: number;
  normalize_patch_queries: boolean;
}

registerNodeType({
  type: 'stage1-train',
  version: '1',
  description: 'Stage 1: the four retrieval projections, trained with focal + dice + BCE and the quantile filter',
  heavy: true,
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      lr: { type: 'number', exclusiveMinimum: 0, default: 4e-4 },
      beta1: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
      beta2: { type: 'number', minimum: 0, maximum: 1, default: 0.999 },
      batch_size: { type: 'integer', minimum: 1, default: 8 },
      epochs: { type: 'integer', minimum: 1, default: 1 },
      seed: { type: 'integer', default: 111, description: 'initialisation and batch order' },
      q_image: { type: 'number', minimum: 0, maximum: 1, default: 0.95, description: 'quantile filter, image level' },
      q_patch: { type: 'number', minimum: 0, maximum: 1, default: 0.8, description: 'quantile filter, patch level' },
      normalize_patch_queries: {
        type: 'boolean',
        default: true,
        description: 'L2-normalise the ln_post patch tokens before the query projection (ours: the keys are unit prototypes)',
      },
    },
  },
  inputs: {
    features: { kind: 'features', description: 'clip-features of the auxiliary dataset' },
    memory: { kind: 'memory-bank', description: 'memory-bank of the same auxiliary dataset' },
    dataset: { kind: 'dataset', description: 'the auxiliary dataset (labels and masks)' },
  },
  outputs: { model: { kind: 'model' } },

  async run(ctx: NodeContext<Stage1TrainParams>) {
    const p = ctx.params;
    const node = `stage1-train node "${ctx.nodeId}"`;
    await initTf(ctx.runtime.backend);
    const fdir = ctx.inputs.features.dir;
    const index = readFeatureIndex(fdir);
    const dataset = readDataset(ctx.inputs.dataset.dir);
    checkSameSamples(index, dataset, node);
    const { bank, info } = readMemoryBank(ctx.inputs.memory.dir);
    if (info.sampleIds.join('\n') !== index.sampleIds.join('\n')) {
      throw new Error(`${node}: the memory bank was built from other images than these features; connect the memory-bank of the same auxiliary features`);
    }
    const { embedDim: E, memDim: D, grid: g, size } = index;
    const N = g * g;

    const loadBatch = async (indices: number[]): Promise<TrainingBatch> => {
      const B = indices.length;
      const qImg = new Float32Array(B * E);
      const qPat = new Float32Array(B * N * D);
      const masks = new Float32Array(B * size * size);
      const labels = new Float32Array(B);
      for (let b = 0; b < B; b++) {
        const i = indices[b];
        const f = readFeatureImage(fdir, i, ['global', 'mem']);
        qImg.set(l2NormalizeRows(f.global, E), b * E);
        qPat.set(patchQueries(f.mem, D, p.normalize_patch_queries), b * N * D);
        masks.set(await maskAtSize(dataset.samples[i], size, node), b * size * size);
        labels[b] = dataset.samples[i].label;
      }
      return { B, N, qImg, qPat, masks, labels, indices };
    };

    const count = dataset.samples.length;
    const steps = p.epochs * Math.ceil(count / p.batch_size);
    ctx.progress.total(steps, 'steps');
    const model = Stage1Model.init(E, D, p.seed);
    const mem = new MemoryTensors(bank);
    try {
      const records = await trainStage1(
        model, mem, count, loadBatch,
        {
          lr: p.lr, beta1: p.beta1, beta2: p.beta2, batchSize: p.batch_size, epochs: p.epochs,
          seed: p.seed, qImage: p.q_image, qPatch: p.q_patch,
        },
        size,
        (r) => {
          ctx.log.data('loss', { ...r });
          if (r.selfKept > 0) {
            ctx.log.warn(`step ${r.step}: ${r.selfKept} image queries kept their own memory key (duplicate images?)`);
          }
          ctx.progress.tick();
        },
        ctx.signal,
      );
      const finalLoss = records[records.length - 1].loss;
      writeStage1Model(ctx.outputs.model, model.toParams(), {
        kind: 'stage1',
        embedDim: E,
        memDim: D,
        normalizePatchQueries: p.normalize_patch_queries,
        params: { ...p },
        steps: records.length,
        finalLoss,
      });
      return { summary: `${records.length} steps, final loss ${finalLoss.toFixed(4)}` };
    } finally {
      model.dispose();
      mem.dispose();
    }
  },
});
