/**
 * Node `retrieval`: Stage-1 retrieval at inference (Eq. 4): per image the
 * image-level anomaly probability a_ret and the patch evidence p_i
 * (format in `../artifacts.ts`: retrieval.safetensors a_ret [B], p [B,N]).
 *
 * `filter` turns the quantile filter on. It is off at inference (the
 * evaluated images are not in the memory). Turn it on only when retrieving
 * for the auxiliary set itself, e.g. to produce Stage-2 training data: there
 * every image's own keys are in the memory, and without the filter a_ret and
 * p_i would mostly echo the image's own label and mask, so Stage 2 would
 * learn from evidence it never gets on unseen data.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import type { NodeContext } from '../../runner/types.ts';
import { registerNodeType } from '../index.ts';
import { writeJson, writeTable } from '../artifacts.ts';
import { initTf } from '../../clip/backend.ts';
import {
  readFeatureImage, readFeatureIndex, readMemoryBank, readStage1Model,
} from '../../method/stage1-io.ts';
import { l2NormalizeRows } from '../../method/smoothing.ts';
import {
  MemoryTensors, Stage1Model, patchQueries, projectKeys, quantileFilter, stage1Forward, type QueryBatch,
} from '../../method/stage1.ts';

export interface RetrievalParams {
  filter: boolean;
  q_image: number;
  q_patch: number;
  batch_size: number;
}

registerNodeType({
  type: 'retrieval',
  version: '1',
  needsTf: true, // projections and the softmax run in tfjs
  description: 'Stage-1 retrieval per image: a_ret and patch evidence p_i (Eq. 4)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      filter: {
        type: 'boolean',
        default: false,
        description: 'quantile filter on: only when the queries are the memory\'s own images (Stage-2 training data)',
      },
      q_image: { type: 'number', minimum: 0, maximum: 1, default: 0.95 },
      q_patch: { type: 'number', minimum: 0, maximum: 1, default: 0.8 },
      batch_size: { type: 'integer', minimum: 1, default: 8 },
    },
  },
  inputs: {
    features: { kind: 'features' },
    memory: { kind: 'memory-bank' },
    model: { kind: 'model', description: 'a stage1-train model' },
  },
  outputs: { retrieval: { kind: 'retrieval' } },

  // batch_size only groups images; the per-image numbers do not depend on it
  keyParams: ({ batch_size: _b, ...rest }: RetrievalParams) => rest,

  async run(ctx: NodeContext<RetrievalParams>) {
    const p = ctx.params;
    const node = `retrieval node "${ctx.nodeId}"`;
    await initTf(ctx.runtime.backend);
    const fdir = ctx.inputs.features.dir;
    const index = readFeatureIndex(fdir);
    const { bank } = readMemoryBank(ctx.inputs.memory.dir);
    const { params, info } = readStage1Model(ctx.inputs.model.dir, node);
    const { embedDim: E, memDim: D, grid: g } = index;
    if (bank.E !== E || bank.D !== D || info.embedDim !== E || info.memDim !== D) {
      throw new Error(
        `${node}: dimensions disagree (features E=${E} D=${D}, memory E=${bank.E} D=${bank.D}, ` +
          `model E=${info.embedDim} D=${info.memDim}); all three must come from the same backbone`,
      );
    }
    const N = g * g;
    const count = index.sampleIds.length;
    const aRet = new Float32Array(count);
    const pAll = new Float32Array(count * N); // [B,N]

    const model = Stage1Model.fromParams(params);
    const mem = new MemoryTensors(bank);
    const keys = projectKeys(model, mem);
    ctx.progress.total(count, 'images');
    try {
      for (let start = 0; start < count; start += p.batch_size) {
        ctx.signal.throwIfAborted();
        const B = Math.min(p.batch_size, count - start);
        const batch: QueryBatch = { B, N, qImg: new Float32Array(B * E), qPat: new Float32Array(B * N * D) };
        for (let b = 0; b < B; b++) {
          const f = readFeatureImage(fdir, start + b, ['global', 'mem']);
          batch.qImg.set(l2NormalizeRows(f.global, E), b * E);
          batch.qPat.set(patchQueries(f.mem, D, info.normalizePatchQueries), b * N * D);
        }
        const drops = p.filter ? quantileFilter(mem, batch, p.q_image, p.q_patch) : {};
        const out = stage1Forward(model, mem, batch, drops, keys);
        aRet.set(await out.aRet.data(), start);
        pAll.set(await out.p.data(), start * N);
        tf.dispose([out.aRet, out.p]);
        ctx.progress.tick(B);
      }
    } finally {
      tf.dispose([keys.kImg, keys.kPat]);
      model.dispose();
      mem.dispose();
    }
    writeTable(join(ctx.outputs.retrieval, 'retrieval.safetensors'), {
      a_ret: { dtype: 'F32', shape: [count], data: aRet },
      p: { dtype: 'F32', shape: [count, N], data: pAll },
    });
    writeJson(join(ctx.outputs.retrieval, 'index.json'), { sampleIds: index.sampleIds });
    return { summary: `${count} images${p.filter ? ', quantile filter on' : ''}` };
  },
});
