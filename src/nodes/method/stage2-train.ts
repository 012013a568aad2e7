/**
 * Node `stage2-train`: EntroAD Stage 2 (Eq. 9-19) on the auxiliary set.
 * Trains the prompt learner and the branch MLPs f_A, f_B on the routed
 * (gated) tokens and the pixel masks; backbone and Stage 1 stay frozen.
 * `branches: 1` is the "w/o dual-branch" ablation (branch A only,
 * lambda_B = 0).
 *
 * The maps S_a are upsampled from the patch grid to `loss_size` (default:
 * the features' input size, as the method computes its losses on the
 * 518 px map) before the focal and dice losses. Masks are binarised (> 0)
 * at load and resized to that size with a 0.5 threshold.
 *
 * Known shortcomings: on the CPU (tfjs wasm, one thread) a step with a
 * ViT-L/14 text tower, batch 8 and two branches takes about 40 s, so the
 * paper's 5 epochs over MVTec AD (1725 images) take about 12 hours; a GPU
 * backend is the practical route for real weights. An anomalous training
 * image without a mask is refused, since Stage 2 learns from pixel masks.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerNodeType } from '../index.ts';
import type { NodeContext } from '../../runner/types.ts';
import { readMask, resizeMask } from '../../data/image-io.ts';
import { writeJson, writeTable } from '../artifacts.ts';
import { Stage2Model } from '../../method/stage2-model.ts';
import { trainStage2, type Stage2Data } from '../../method/stage2-train.ts';
import {
  backboneParams,
  checkBackbone,
  createPromptEncoder,
  loadBackbone,
  type PromptSettings,
} from '../../method/stage2-prompt.ts';
import {
  checkMapLayers,
  checkSameSamples,
  readDataset,
  readFeatureIndex,
  readFeatures,
  readRouted,
} from '../../method/stage2-io.ts';

export interface Stage2Params {
  lambda_a: number;
  lambda_b: number;
  branches: 1 | 2;
  lr: number;
  betas: [number, number];
  batch_size: number;
  epochs: number;
  seed: number;
  tau_s: number;
  map_layers: number[];
  n_ctx: number;
  deep_layers: number[];
  deep_length: number;
  normal_words: string;
  anomaly_words: string;
  backbone: string;
  backbone_seed: number;
  loss_size?: number;
  micro_batch?: number;
}

const layerList = (def: number[], description: string) => ({
  type: 'array',
  items: { type: 'integer', minimum: 1 },
  minItems: 1,
  default: def,
  description,
});

registerNodeType({
  type: 'stage2-train',
  version: '1',
  description: 'Stage 2: prompt learner and dual-branch MLPs on routed tokens (Eq. 9-19)',
  heavy: true,
  params: {
    type: 'object',
    properties: {
      lambda_a: { type: 'number', minimum: 0, default: 0.7, description: 'weight of branch A (Eq. 19)' },
      lambda_b: { type: 'number', minimum: 0, default: 0.3, description: 'weight of branch B (Eq. 19)' },
      branches: { type: 'integer', enum: [1, 2], default: 2, description: '1 = "w/o dual-branch" ablation' },
      lr: { type: 'number', exclusiveMinimum: 0, default: 4e-4 },
      betas: {
        type: 'array',
        items: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
        minItems: 2,
        maxItems: 2,
        default: [0.5, 0.999],
      },
      batch_size: { type: 'integer', minimum: 1, default: 8 },
      epochs: { type: 'integer', minimum: 1, default: 5 },
      seed: { type: 'integer', default: 111 },
      tau_s: { type: 'number', exclusiveMinimum: 0, default: 0.07, description: 'map temperature (Eq. 12)' },
      map_layers: layerList([6, 12, 18, 24], 'Omega_map: layers whose maps enter the loss'),
      n_ctx: { type: 'integer', minimum: 1, default: 12, description: 'learnable context vectors per prompt' },
      deep_layers: layerList([2, 3, 4, 5, 6, 7, 8, 9], 'text blocks with deep prompts (1-indexed)'),
      deep_length: { type: 'integer', minimum: 1, default: 4, description: 'deep prompt vectors per block' },
      normal_words: { type: 'string', default: 'object.', description: 'words after the normal context' },
      anomaly_words: { type: 'string', default: 'damaged object.', description: 'words after the anomaly context' },
      ...backboneParams,
      micro_batch: {
        type: 'integer',
        minimum: 1,
        description:
          'images per gradient slice (default: the whole batch); the same gradient with less memory, ' +
          'e.g. 2 or 4 for ViT-L/14 on the 4 GB wasm heap',
      },
      loss_size: {
        type: 'integer',
        minimum: 1,
        description: 'side on which the losses are computed; default: the features\' input size',
      },
    },
    additionalProperties: false,
  },
  inputs: {
    features: { kind: 'features', description: 'auxiliary set' },
    routed: { kind: 'routed-tokens', description: 'auxiliary set, gated' },
    dataset: { kind: 'dataset', description: 'auxiliary set (masks, labels)' },
  },
  outputs: { model: { kind: 'model' } },
  async keyParams(p: Stage2Params) {
    const { backbone, backbone_seed, ...rest } = p;
    const weights = await loadBackbone(backbone, backbone_seed);
    return {
      ...rest,
      // a one-branch model never uses lambda, so a lambda sweep must not re-run it
      ...(p.branches === 1 ? { lambda_a: null, lambda_b: null } : {}),
      // the weights' content, not where they live: moving the folder re-runs nothing
      backbone: weights.digest,
    };
  },
  async run(ctx: NodeContext<Stage2Params>) {
    const node = `stage2-train node "${ctx.nodeId}"`;
    const p = ctx.params;
    const fdir = ctx.inputs.features.dir;
    const idx = readFeatureIndex(fdir);
    const routed = readRouted(ctx.inputs.routed.dir);
    const manifest = readDataset(ctx.inputs.dataset.dir);
    checkSameSamples(node, idx.sampleIds, 'features', routed.sampleIds, 'routed');
    checkSameSamples(node, idx.sampleIds, 'features', manifest.samples.map((s) => s.id), 'dataset');
    checkMapLayers(node, 'map_layers', p.map_layers, idx);
    const weights = await loadBackbone(p.backbone, p.backbone_seed);
    checkBackbone(node, weights, idx.backbone.digest, p.backbone);
    if (routed.E !== idx.embedDim) {
      throw new Error(`${node}: routed tokens are ${routed.E}-d but the features are ${idx.embedDim}-d`);
    }

    const N = idx.grid * idx.grid;
    const E = idx.embedDim;
    const lossSize = p.loss_size ?? idx.size;
    const masks = new Map<number, Uint8Array | null>();
    const maskOf = async (i: number): Promise<Uint8Array | null> => {
      if (masks.has(i)) return masks.get(i)!;
      const s = manifest.samples[i];
      let m: Uint8Array | null = null;
      if (s.maskPath) {
        const raw = await readMask(s.maskPath); // binarised > 0
        m = resizeMask(raw.data, raw.width, raw.height, lossSize); // bilinear, >= 0.5
      } else if (s.label === 1) {
        throw new Error(
          `${node}: image "${s.id}" is anomalous but has no mask; Stage 2 learns from pixel masks, ` +
            'so train on an auxiliary dataset with masks',
        );
      }
      masks.set(i, m);
      return m;
    };

    const data: Stage2Data = {
      count: idx.sampleIds.length,
      async load(indices) {
        const B = indices.length;
        const Z = p.map_layers.map(() => new Float32Array(B * N * E)); // per layer [B,N,E]
        const tN = new Float32Array(B * E);
        const tA = new Float32Array(B * E);
        const Y = new Float32Array(B * lossSize * lossSize);
        for (let b = 0; b < B; b++) {
          const i = indices[b];
          const feats = readFeatures(fdir, i, p.map_layers.map((l) => `patch.${l}`), N * E);
          feats.forEach((f, l) => Z[l].set(f, b * N * E));
          tN.set(routed.tN.subarray(i * E, (i + 1) * E), b * E);
          tA.set(routed.tA.subarray(i * E, (i + 1) * E), b * E);
          const m = await maskOf(i);
          if (m) Y.set(m, b * lossSize * lossSize);
        }
        return {
          Z: Z.map((z) => tf.tensor3d(z, [B, N, E])),
          tN: tf.tensor2d(tN, [B, E]),
          tA: tf.tensor2d(tA, [B, E]),
          Y,
        };
      },
    };

    const prompt: PromptSettings = {
      nCtx: p.n_ctx,
      deepLayers: p.deep_layers,
      deepLength: p.deep_length,
      normalWords: p.normal_words,
      anomalyWords: p.anomaly_words,
      seed: p.seed,
    };
    const model = Stage2Model.create(createPromptEncoder(weights, prompt), p.branches, p.seed);
    try {
      ctx.log.info(`Stage 2: ${data.count} images, ${p.branches} branch(es), loss at ${lossSize}px`, {
        backbone: weights.name,
        pretrained: weights.pretrained,
      });
      const result = await trainStage2(
        model,
        data,
        {
          epochs: p.epochs,
          batchSize: p.batch_size,
          lr: p.lr,
          beta1: p.betas[0],
          beta2: p.betas[1],
          seed: p.seed,
          tauS: p.tau_s,
          lambdaA: p.lambda_a,
          lambdaB: p.branches === 2 ? p.lambda_b : 0,
          grid: idx.grid,
          lossSize,
          microBatch: p.micro_batch,
        },
        {
          signal: ctx.signal,
          onStart: (n) => ctx.progress.total(n, 'stage 2 steps'),
          onStep: (r) => {
            ctx.log.data('loss', { step: r.step, epoch: r.epoch, loss: r.loss, lossA: r.lossA, lossB: r.lossB });
            ctx.progress.tick();
          },
        },
      );

      const out = ctx.outputs.model;
      writeTable(join(out, 'model.safetensors'), model.state());
      const lambdaSum = p.lambda_a + p.lambda_b;
      writeJson(join(out, 'model.json'), {
        kind: 'stage2',
        branches: p.branches,
        prompt,
        embedDim: E,
        textWidth: model.prompt.textWidth,
        grid: idx.grid,
        mapLayers: p.map_layers,
        tauS: p.tau_s,
        lambda: p.branches === 2 ? [p.lambda_a / lambdaSum, p.lambda_b / lambdaSum] : [1, 0],
        backbone: { name: weights.name, pretrained: weights.pretrained, digest: weights.digest },
        steps: result.steps,
        finalLoss: result.lastLoss,
      });
      return { summary: `${result.steps} steps, final loss ${result.lastLoss.toFixed(4)}` };
    } finally {
      model.dispose();
    }
  },
});
