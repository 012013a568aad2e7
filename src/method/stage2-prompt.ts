/**
 * Stage 2's link to the CLIP text tower: loading the frozen backbone once
 * per process and building the prompt learner of EntroAD Eq. 9-11 with the
 * settings recorded in a Stage-2 model (so inference rebuilds exactly the
 * learner that was trained).
 */
import { sharedClipWeights, type ClipWeights } from '../clip/weights.ts';
import { PromptLearner, type PromptLearnerOptions } from '../clip/prompt-learner.ts';
import { join } from 'node:path';
import { readSafetensors } from '../util/safetensors.ts';
import { readJson } from '../nodes/artifacts.ts';
import { Stage2Model, type ModelState, type PromptEncoder } from './stage2-model.ts';

/** The prompt learner's options as a Stage-2 model records them. */
export type PromptSettings = Omit<PromptLearnerOptions, 'initStd'>;

/** JSON-schema params naming the frozen backbone (stage2-train, infer). */
export const backboneParams = {
  backbone: {
    type: 'string',
    default: 'tiny',
    description: '"tiny" or a Hugging Face CLIP folder; must be the features\' backbone',
  },
  backbone_seed: { type: 'integer', default: 0, description: 'seed of the tiny backbone (ignored for a folder)' },
};

/** The frozen CLIP weights for `source` ('tiny' or a Hugging Face folder), shared per process. */
export function loadBackbone(source: string, seed: number): Promise<ClipWeights> {
  return sharedClipWeights(source, seed);
}

/** Throw unless the weights are the backbone the features were extracted with. */
export function checkBackbone(node: string, weights: ClipWeights, featuresDigest: string, source: string): void {
  if (weights.digest !== featuresDigest) {
    throw new Error(
      `${node}: param backbone "${source}" (digest ${weights.digest.slice(0, 12)}) is not the backbone the ` +
        `features were extracted with (digest ${featuresDigest.slice(0, 12)}); set backbone (and ` +
        'backbone_seed for tiny) to the clip-features node\'s backbone',
    );
  }
}

export function createPromptEncoder(weights: ClipWeights, s: PromptSettings): PromptEncoder {
  return PromptLearner.create(weights, {
    nCtx: s.nCtx,
    deepLayers: s.deepLayers,
    deepLength: s.deepLength,
    normalWords: s.normalWords,
    anomalyWords: s.anomalyWords,
    seed: s.seed,
  });
}

/** What `stage2-train` records next to the parameters. */
export interface Stage2ModelJson {
  kind: 'stage2';
  branches: 1 | 2;
  prompt: PromptSettings;
  embedDim: number;
  textWidth: number;
  grid: number;
  mapLayers: number[];
  tauS: number;
  lambda: number[];
  backbone: { name: string; pretrained: boolean; digest: string };
  steps: number;
  finalLoss: number;
}

export function readStage2Json(node: string, dir: string): Stage2ModelJson {
  const file = join(dir, 'model.json');
  const json = readJson<Stage2ModelJson>(file);
  if (json.kind !== 'stage2') {
    throw new Error(
      `${node}: ${file} describes a "${json.kind}" model; connect the model output of a stage2-train node`,
    );
  }
  return json;
}

/** Rebuild a trained Stage-2 model on the given frozen weights. */
export function loadStage2Model(node: string, dir: string, weights: ClipWeights): { model: Stage2Model; json: Stage2ModelJson } {
  const json = readStage2Json(node, dir);
  if (json.backbone.digest !== weights.digest) {
    throw new Error(
      `${node}: the Stage-2 model was trained on backbone ${json.backbone.name} ` +
        `(digest ${json.backbone.digest.slice(0, 12)}), not on the one given (digest ` +
        `${weights.digest.slice(0, 12)}); set backbone to the stage2-train node's backbone`,
    );
  }
  const st = readSafetensors(join(dir, 'model.safetensors'));
  const state: ModelState = {};
  for (const name of st.tensors.keys()) state[name] = { dtype: 'F32', shape: st.shape(name), data: st.float32(name) };
  const model = Stage2Model.create(createPromptEncoder(weights, json.prompt), json.branches, json.prompt.seed);
  try {
    model.load(state);
  } catch (e) {
    model.dispose();
    throw new Error(`${node}: ${join(dir, 'model.safetensors')}: ${(e as Error).message}`);
  }
  return { model, json };
}
