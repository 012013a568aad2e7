/**
 * The built-in `tiny` CLIP backbone: the ViT CLIP architecture at small sizes
 * with weights drawn locally from a seed (no download). It is NOT pretrained:
 * its features mean nothing semantically, which its name says wherever it is
 * logged or recorded. It exists so the embedded default pipeline and the
 * tests run end to end in seconds.
 *
 * Scales are chosen so nothing degenerates: LayerNorms are not the identity,
 * q/k are scaled up so attention is clearly non-uniform, biases are non-zero,
 * and residual-branch outputs shrink with depth so the stream stays O(1).
 */
import { createHash } from 'node:crypto';
import { Rng } from '../util/rng.ts';
import { expectedTensors, wrap, type ClipConfig, type ClipWeights } from './weights.ts';

export const TINY_CONFIG: ClipConfig = {
  vision: { width: 64, layers: 4, heads: 4, patchSize: 8, imageSize: 64, intermediate: 256, eps: 1e-5 },
  text: { width: 64, layers: 4, heads: 4, intermediate: 256, vocabSize: 49408, contextLength: 77, eps: 1e-5 },
  embedDim: 64,
  logitScale: Math.log(100),
};

/** Standard deviation used for the tensor `name` of shape `shape`. */
function scaleFor(name: string, shape: number[], layers: number): { std: number; mean: number } {
  const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : shape[0];
  const residualOut = 1 / Math.sqrt(2 * layers);
  if (/layer_?norm|layrnorm/.test(name)) {
    return name.endsWith('.weight') ? { std: 0.1, mean: 1 } : { std: 0.02, mean: 0 };
  }
  if (name.endsWith('.bias')) return { std: 0.02, mean: 0 };
  if (name.includes('token_embedding')) return { std: 0.02, mean: 0 };
  if (name.includes('text_model.embeddings.position_embedding')) return { std: 0.01, mean: 0 };
  if (name.includes('vision_model.embeddings.position_embedding')) return { std: 0.02, mean: 0 };
  if (name.endsWith('class_embedding')) return { std: shape[0] ** -0.5, mean: 0 };
  if (/q_proj|k_proj/.test(name)) return { std: 2.5 / Math.sqrt(fanIn), mean: 0 };
  if (/out_proj|fc2/.test(name)) return { std: residualOut / Math.sqrt(fanIn), mean: 0 };
  return { std: 1 / Math.sqrt(fanIn), mean: 0 };
}

export function makeTinyWeights(seed: number): ClipWeights {
  const config = structuredClone(TINY_CONFIG);
  const rng = new Rng(seed);
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  const hash = createHash('sha256').update(JSON.stringify(config)).update(`seed=${seed}`);
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const layers = name.startsWith('text') ? config.text.layers : config.vision.layers;
    const data = name === 'logit_scale'
      ? Float32Array.of(config.logitScale)
      : (() => {
          const { std, mean } = scaleFor(name, shape, layers);
          return rng.normalArray(n, std, mean);
        })();
    hash.update(name).update(new Uint8Array(data.buffer));
    tensors.set(name, { data, shape });
  }
  return wrap(config, tensors, {
    name: `tiny (seeded ${seed}, NOT pretrained)`,
    pretrained: false,
    digest: hash.digest('hex'),
    dir: null,
    dtype: 'F32',
  });
}
