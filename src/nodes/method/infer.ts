/**
 * Node `infer`: EntroAD inference on a target dataset (Eq. 9-12, 20-22).
 * Per image and branch, the trained prompt learner and MLP turn the routed
 * (gated) tokens into text features; the maps S_a are averaged over the map
 * layers (M_A, M_B), upsampled grid -> eval_size (bilinear), fused with
 * normalised alpha/beta, smoothed with a Gaussian (sigma 4), and scored:
 * a_loc = mean of the top 1 %, a = (1 - k) a_loc + k a_ret.
 *
 * A one-branch model ("w/o dual-branch") gives M = M_A whatever beta is.
 * With `domain_prior` the fusion weights come from the target dataset's
 * domain (industrial 0.7/0.3, medical 0.3/0.7) and alpha/beta are ignored.
 *
 * Known shortcomings: the text tower runs once per image and branch (the
 * prompts carry per-image biases), about 1.7 s per image with a ViT-L/14
 * text tower on the CPU (tfjs wasm); `map_layers` and `tau_s` are not
 * forced to the values the model was trained with (a difference is logged
 * as a warning, since using other layers at inference is a legitimate
 * experiment).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerNodeType } from '../index.ts';
import type { NodeContext } from '../../runner/types.ts';
import { writeJson, writeMap, type MapsIndex, type ScoresFile } from '../artifacts.ts';
import { resizeBilinear } from '../../method/bilinear.ts';
import { fuseMaps, scoreMap } from '../../method/fusion.ts';
import { backboneParams, checkBackbone, loadBackbone, loadStage2Model } from '../../method/stage2-prompt.ts';
import {
  checkMapLayers,
  checkSameSamples,
  readDataset,
  readFeatureIndex,
  readFeatures,
  readRetrieval,
  readRouted,
} from '../../method/stage2-io.ts';

interface InferParams {
  alpha: number;
  beta: number;
  domain_prior: boolean;
  sigma: number;
  k: number;
  eval_size?: number;
  map_layers: number[];
  tau_s: number;
  batch_size: number;
  backbone: string;
  backbone_seed: number;
}

/** Fusion weights of the domain prior (METHOD: inference). */
export const DOMAIN_PRIOR = {
  industrial: { alpha: 0.7, beta: 0.3 },
  medical: { alpha: 0.3, beta: 0.7 },
} as const;

registerNodeType({
  type: 'infer',
  version: '1',
  description: 'Branch maps, fusion, Gaussian smoothing and image scores (Eq. 20-22)',
  heavy: true,
  params: {
    type: 'object',
    properties: {
      alpha: { type: 'number', minimum: 0, default: 0.7, description: 'weight of branch A (Eq. 20)' },
      beta: { type: 'number', minimum: 0, default: 0.3, description: 'weight of branch B (Eq. 20)' },
      domain_prior: {
        type: 'boolean',
        default: false,
        description: 'take alpha/beta from the dataset domain (industrial 0.7/0.3, medical 0.3/0.7)',
      },
      sigma: { type: 'number', minimum: 0, default: 4, description: 'Gaussian sigma on the final map (0 = off)' },
      k: { type: 'number', minimum: 0, maximum: 1, default: 0.7, description: 'share of a_ret in the image score (Eq. 22)' },
      eval_size: { type: 'integer', minimum: 1, description: 'map side; default: the features\' input size' },
      map_layers: {
        type: 'array',
        items: { type: 'integer', minimum: 1 },
        minItems: 1,
        default: [6, 12, 18, 24],
        description: 'layers whose maps are averaged into M_m',
      },
      tau_s: { type: 'number', exclusiveMinimum: 0, default: 0.07, description: 'map temperature (Eq. 12)' },
      batch_size: { type: 'integer', minimum: 1, default: 8, description: 'images per text-tower pass' },
      ...backboneParams,
    },
    additionalProperties: false,
  },
  inputs: {
    features: { kind: 'features', description: 'target set' },
    retrieval: { kind: 'retrieval', description: 'target set, unfiltered' },
    routed: { kind: 'routed-tokens', description: 'target set, gated' },
    model: { kind: 'model', description: 'Stage 2' },
    dataset: { kind: 'dataset', description: 'target set' },
  },
  outputs: { maps: { kind: 'anomaly-maps' }, scores: { kind: 'scores' } },
  async keyParams(p: InferParams) {
    const { backbone, backbone_seed, ...rest } = p;
    const weights = await loadBackbone(backbone, backbone_seed);
    return {
      ...rest,
      // with the domain prior alpha and beta are not read
      ...(p.domain_prior ? { alpha: null, beta: null } : {}),
      // the weights' content, not where they live
      backbone: weights.digest,
    };
  },
  async run(ctx: NodeContext<InferParams>) {
    const node = `infer node "${ctx.nodeId}"`;
    const p = ctx.params;
    const fdir = ctx.inputs.features.dir;
    const idx = readFeatureIndex(fdir);
    const ret = readRetrieval(ctx.inputs.retrieval.dir);
    const routed = readRouted(ctx.inputs.routed.dir);
    const manifest = readDataset(ctx.inputs.dataset.dir);
    checkSameSamples(node, idx.sampleIds, 'features', ret.sampleIds, 'retrieval');
    checkSameSamples(node, idx.sampleIds, 'features', routed.sampleIds, 'routed');
    checkSameSamples(node, idx.sampleIds, 'features', manifest.samples.map((s) => s.id), 'dataset');
    checkMapLayers(node, 'map_layers', p.map_layers, idx);
    const weights = await loadBackbone(p.backbone, p.backbone_seed);
    checkBackbone(node, weights, idx.backbone.digest, p.backbone);

    let { alpha, beta } = p;
    if (p.domain_prior) {
      const prior = DOMAIN_PRIOR[manifest.domain];
      if (!prior) throw new Error(`${node}: dataset domain "${manifest.domain}" has no prior; set domain_prior: false`);
      ({ alpha, beta } = prior);
    }
    if (!(alpha + beta > 0)) throw new Error(`${node}: params alpha and beta are both 0; give one a positive weight`);

    const { model, json } = loadStage2Model(node, ctx.inputs.model.dir, weights);
    try {
      if (json.mapLayers.join(',') !== p.map_layers.join(',') || json.tauS !== p.tau_s) {
        ctx.log.warn(
          `map_layers [${p.map_layers}] / tau_s ${p.tau_s} differ from the training values ` +
            `[${json.mapLayers}] / ${json.tauS} of the Stage-2 model`,
        );
      }
      if (json.branches === 1 && beta > 0) {
        ctx.log.info('one-branch Stage-2 model: M = M_A, beta is not used');
      }
      const g = idx.grid;
      const N = g * g;
      const E = idx.embedDim;
      const size = p.eval_size ?? idx.size;
      const B = idx.sampleIds.length;
      const scores: ScoresFile = { sampleIds: idx.sampleIds, scores: [], aLoc: [], aRet: [] };
      ctx.progress.total(B, 'infer');

      for (let start = 0; start < B; start += p.batch_size) {
        if (ctx.signal.aborted) throw new Error(`${node}: interrupted`);
        const ids = Array.from({ length: Math.min(p.batch_size, B - start) }, (_, j) => start + j);
        const b = ids.length;
        // M_m on the grid, per branch: [b,N] (Eq. 12, mean over layers)
        const gridMaps = tf.tidy(() => {
          const Z = p.map_layers.map(() => new Float32Array(b * N * E));
          ids.forEach((i, j) => {
            readFeatures(fdir, i, p.map_layers.map((l) => `patch.${l}`), N * E).forEach((f, l) => Z[l].set(f, j * N * E));
          });
          const Zt = Z.map((z) => tf.tensor3d(z, [b, N, E])); // per layer [b,N,E]
          const tN = tf.tensor2d(routed.tN.slice(start * E, (start + b) * E), [b, E]);
          const tA = tf.tensor2d(routed.tA.slice(start * E, (start + b) * E), [b, E]);
          return model.branches.map((_, m) => {
            const Sa = model.anomalyProbs(m, Zt, tN, tA, p.tau_s);
            return tf.div(tf.addN(Sa), Sa.length); // M_m
          });
        });
        const mapData = gridMaps.map((t) => t.dataSync() as Float32Array);
        tf.dispose(gridMaps);

        ids.forEach((i, j) => {
          const up = mapData.map((m) => resizeBilinear(m.subarray(j * N, (j + 1) * N), g, g, size, size));
          const fused = fuseMaps(up[0], up[1] ?? null, alpha, beta); // Eq. 20
          const aRet = ret.aRet[i];
          const s = scoreMap(fused, size, { sigma: p.sigma, k: p.k, aRet }); // Gaussian, Eq. 21-22
          writeMap(ctx.outputs.maps, i, s.map, size);
          scores.scores.push(s.score);
          scores.aLoc!.push(s.aLoc);
          scores.aRet!.push(aRet);
          ctx.progress.tick();
        });
      }

      const mapsIndex: MapsIndex = { sampleIds: idx.sampleIds, size };
      writeJson(join(ctx.outputs.maps, 'index.json'), mapsIndex);
      writeJson(join(ctx.outputs.scores, 'scores.json'), scores);
      const weightsText = json.branches === 1 ? 'one branch' : `alpha ${alpha}, beta ${beta}`;
      return { summary: `${B} images at ${size}px, ${weightsText}` };
    } finally {
      model.dispose();
    }
  },
});
