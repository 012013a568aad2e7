/**
 * Node `clip-features`: runs the frozen CLIP vision tower once per image and
 * stores everything the method reads later (format: `../artifacts.ts`):
 * - global [E]: the original stream's class token times proj (Stage-1 image memory and queries);
 * - patch.L [N,E]: V-V tokens of map layer L after ln_post and proj, class dropped,
 *   neighbour-smoothed and L2-normalised (the z / Z^l of the maps and routing);
 * - mem [N,D]: V-V tokens of `mem_layer` after ln_post, before proj, smoothed
 *   (patch memory keys and Stage-1 patch queries);
 * - entropy.L [N]: structural entropy of layer L's q-k attention (Eq. 1-2);
 * - attn.L [T,T] F16: the attention itself, only with `keep_attention`.
 *
 * Images are read in sample order, preprocessed to size x size (bicubic,
 * no crop) and encoded in batches; the engine spreads a batch over its
 * worker threads.
 */
import type { NodeContext } from '../../runner/types.ts';
import { registerNodeType } from '../index.ts';
import { featureFile, writeJson, type FeatureIndex } from '../artifacts.ts';
import { writeSafetensors, type TensorToWrite } from '../../util/safetensors.ts';
import { sharedClipWeights, type ClipWeights } from '../../clip/weights.ts';
import { createVisionEngine } from '../../clip/engines.ts';
import type { Tensor, VisionRequest } from '../../clip/engine.ts';
import { preprocessImage } from '../../clip/preprocess.ts';
import { readImage } from '../../data/image-io.ts';
import { readDataset } from '../../method/stage1-io.ts';
import { neighbourSmooth, l2NormalizeRows } from '../../method/smoothing.ts';
import { structuralEntropy } from '../../method/entropy.ts';

export interface ClipFeaturesParams {
  backbone: string;
  size: number;
  map_layers: number[];
  entropy_layers: number[];
  mem_layer: number;
  vv_from: number;
  global_ln_post: boolean;
  pos_interp: 'bilinear' | 'bicubic';
  batch_size: number;
  keep_attention: boolean;
  seed: number;
  engine: 'auto' | 'tfjs' | 'onnx';
}

const layerList = (description: string) => ({
  type: 'array',
  items: { type: 'integer', minimum: 1 },
  minItems: 1,
  default: [6, 12, 18, 24],
  description,
});

function checkLayers(p: ClipFeaturesParams, depth: number, node: string): void {
  const check = (name: string, layers: number[]) => {
    const bad = layers.filter((l) => l < 1 || l > depth);
    if (bad.length) {
      throw new Error(
        `clip-features node "${node}": param ${name} names block(s) ${bad.join(', ')} but the backbone ` +
          `"${p.backbone}" has ${depth} blocks; use blocks 1..${depth}` +
          (depth === 4 ? ' (for the tiny backbone e.g. [1, 2, 3, 4])' : ''),
      );
    }
  };
  check('map_layers', p.map_layers);
  check('entropy_layers', p.entropy_layers);
  check('mem_layer', [p.mem_layer]);
  check('vv_from', [p.vv_from]);
  const beforeVv = [...p.map_layers, p.mem_layer].filter((l) => l < p.vv_from);
  if (beforeVv.length) {
    throw new Error(
      `clip-features node "${node}": map_layers / mem_layer use block(s) ${beforeVv.join(', ')}, before ` +
        `vv_from = ${p.vv_from}, where no V-V stream exists; lower vv_from or pick later blocks`,
    );
  }
}

/** Rows 1..T-1 of image b of a [B,T,C] tensor: the patch tokens [N,C]. */
function patchRows(t: Tensor, b: number): Float32Array {
  const [, T, C] = t.shape;
  return t.data.subarray((b * T + 1) * C, (b + 1) * T * C);
}

registerNodeType({
  type: 'clip-features',
  version: '1',
  description: 'Frozen CLIP features per image: global, smoothed V-V patch maps, patch-memory tokens, structural entropy',
  heavy: true,
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      backbone: { type: 'string', default: 'tiny', description: '"tiny" (seeded, not pretrained) or a Hugging Face CLIP folder' },
      size: { type: 'integer', minimum: 1, default: 518, description: 'square input side in pixels' },
      map_layers: layerList('blocks (1-indexed) whose V-V patch features are stored as patch.L'),
      entropy_layers: layerList('blocks whose q-k attention gives entropy.L'),
      mem_layer: { type: 'integer', minimum: 1, default: 24, description: 'block whose ln_post V-V tokens feed the patch memory' },
      vv_from: { type: 'integer', minimum: 1, default: 2, description: 'first block of the V-V stream' },
      global_ln_post: { type: 'boolean', default: false, description: 'apply ln_post to the global feature (parent: no)' },
      pos_interp: { type: 'string', enum: ['bilinear', 'bicubic'], default: 'bilinear' },
      batch_size: { type: 'integer', minimum: 1, default: 8 },
      keep_attention: { type: 'boolean', default: false, description: 'also store the q-k attention maps (F16)' },
      seed: { type: 'integer', default: 0, description: 'weights seed of the tiny backbone' },
      engine: {
        type: 'string',
        enum: ['auto', 'tfjs', 'onnx'],
        default: 'auto',
        description: 'frozen-encoder engine; auto = the run\'s --engine (default tfjs)',
      },
    },
  },
  inputs: { dataset: { kind: 'dataset' } },
  outputs: { features: { kind: 'features' } },

  async keyParams(p: ClipFeaturesParams) {
    // batch_size only groups images; each image's numbers do not depend on
    // it. The engine is left out for the reason given below keyRuntime.
    const { batch_size: _batch, engine: _engine, ...rest } = p;
    if (p.backbone === 'tiny') return rest;
    // a folder enters by content, so moving or renaming it re-runs nothing;
    // the seed means nothing for pretrained weights
    const { seed: _seed, backbone: _path, ...others } = rest;
    return { ...others, backbone: { digest: (await sharedClipWeights(p.backbone, p.seed)).digest } };
  },
  // No keyRuntime: the tfjs and onnx engines and the wasm / cpu / tensorflow
  // backends pass the same goldens (atol 1e-4), so switching them must not
  // invalidate cached features.

  async run(ctx: NodeContext<ClipFeaturesParams>) {
    const p = ctx.params;
    const dataset = readDataset(ctx.inputs.dataset.dir);
    const weights = await sharedClipWeights(p.backbone, p.seed);
    const v = weights.config.vision;
    checkLayers(p, v.layers, ctx.nodeId);
    if (p.size % v.patchSize !== 0) {
      ctx.log.warn(`size ${p.size} is not a multiple of the patch size ${v.patchSize}; the border pixels are dropped`);
    }
    const g = Math.floor(p.size / v.patchSize);
    const N = g * g;
    const E = weights.config.embedDim;
    const D = v.width;
    const vvLayers = [...new Set([...p.map_layers, p.mem_layer])].sort((a, b) => a - b);
    const req: VisionRequest = {
      size: p.size,
      attnLayers: p.entropy_layers,
      vvFrom: p.vv_from,
      vvLayers,
      globalLnPost: p.global_ln_post,
      posInterp: p.pos_interp,
    };

    const engineName = (p.engine === 'auto' ? ctx.runtime.engine : p.engine) as 'tfjs' | 'onnx';
    const engine = await createVisionEngine(weights, {
      engine: engineName,
      backend: ctx.runtime.backend,
      threads: ctx.runtime.workers,
    });
    ctx.log.info(`clip-features: ${weights.name} on ${engine.detail}`, {
      backbone: weights.name, pretrained: weights.pretrained, images: dataset.samples.length, grid: g,
    });
    const samples = dataset.samples;
    ctx.progress.total(samples.length, 'images');
    try {
      for (let start = 0; start < samples.length; start += p.batch_size) {
        ctx.signal.throwIfAborted();
        const batch = samples.slice(start, start + p.batch_size);
        const B = batch.length;
        const pixels = new Float32Array(B * 3 * p.size * p.size); // [B,3,size,size]
        const images = await Promise.all(batch.map((s) => readImage(s.imagePath)));
        images.forEach((img, b) => pixels.set(preprocessImage(img, p.size), b * 3 * p.size * p.size));
        const out = await engine.encode(pixels, B, req);
        const global = out.global ?? (p.global_ln_post ? out.imageEmbeds : undefined);
        if (!global) throw new Error(`clip-features: the ${engine.name} engine returned no global feature without ln_post`);

        for (let b = 0; b < B; b++) {
          const tensors: Record<string, TensorToWrite> = {
            global: { dtype: 'F32', shape: [E], data: global.data.subarray(b * E, (b + 1) * E) },
          };
          for (const l of p.map_layers) {
            const z = l2NormalizeRows(neighbourSmooth(patchRows(out.vvTokens.get(l)!, b), g, E), E);
            tensors[`patch.${l}`] = { dtype: 'F32', shape: [N, E], data: z };
          }
          const mem = neighbourSmooth(patchRows(out.vvTokensLnPost.get(p.mem_layer)!, b), g, D);
          tensors.mem = { dtype: 'F32', shape: [N, D], data: mem };
          for (const l of p.entropy_layers) {
            const a = out.attn.get(l)!; // [B,T,T]
            const T = a.shape[1];
            const attn = a.data.subarray(b * T * T, (b + 1) * T * T);
            tensors[`entropy.${l}`] = { dtype: 'F32', shape: [N], data: structuralEntropy(attn, T) }; // Eq. 1-2
            if (p.keep_attention) tensors[`attn.${l}`] = { dtype: 'F16', shape: [T, T], data: attn };
          }
          writeSafetensors(featureFile(ctx.outputs.features, start + b), tensors);
        }
        ctx.progress.tick(B);
      }
    } finally {
      await engine.dispose();
    }

    const index: FeatureIndex = {
      sampleIds: samples.map((s) => s.id),
      grid: g,
      size: p.size,
      embedDim: E,
      memDim: D,
      mapLayers: p.map_layers,
      entropyLayers: p.entropy_layers,
      memLayer: p.mem_layer,
      backbone: { name: weights.name, pretrained: weights.pretrained, digest: weights.digest },
    };
    writeJson(`${ctx.outputs.features}/index.json`, index);
    return { summary: `${samples.length} images, ${g}x${g} grid, ${weights.name}, ${engineName} engine` };
  },
});
