/**
 * Node `entropy`: per image, the structural entropy e_i averaged over the
 * layers Omega (EntroAD Eq. 3), from the per-layer entropies (Eq. 1-2) that
 * clip-features stored. Cheap; kept as its own node so that the choice of
 * Omega re-runs routing without re-extracting features.
 */
import { registerNodeType } from '../index.ts';
import type { NodeContext } from '../../runner/types.ts';
import { meanEntropy } from '../../method/entropy.ts';
import { readFeature, readFeatureIndex, writeEntropy } from '../../method/stage2-io.ts';

interface EntropyParams {
  /** Omega: 1-indexed blocks whose entropies are averaged. */
  layers: number[];
}

registerNodeType({
  type: 'entropy',
  version: '1',
  description: 'Structural entropy per patch, mean over the layers Omega (Eq. 1-3)',
  params: {
    type: 'object',
    properties: {
      layers: {
        type: 'array',
        items: { type: 'integer', minimum: 1 },
        minItems: 1,
        default: [6, 12, 18, 24],
        description: 'Omega: blocks (1-indexed) whose entropies are averaged',
      },
    },
    additionalProperties: false,
  },
  inputs: { features: { kind: 'features' } },
  outputs: { entropy: { kind: 'attention-entropy' } },
  async run(ctx: NodeContext<EntropyParams>) {
    const dir = ctx.inputs.features.dir;
    const idx = readFeatureIndex(dir);
    const { layers } = ctx.params;
    const missing = layers.filter((l) => !idx.entropyLayers.includes(l));
    if (missing.length) {
      throw new Error(
        `entropy node "${ctx.nodeId}": param layers asks for block(s) ${missing.join(', ')} but the ` +
          `features hold entropy for [${idx.entropyLayers.join(', ')}] only; set layers to a subset ` +
          'of those or extract features with these entropy layers',
      );
    }
    const B = idx.sampleIds.length;
    const N = idx.grid * idx.grid;
    const e = new Float32Array(B * N); // [B,N]
    ctx.progress.total(B, 'entropy');
    for (let i = 0; i < B; i++) {
      const perLayer = layers.map((l) => readFeature(dir, i, `entropy.${l}`, N));
      e.set(meanEntropy(perLayer), i * N); // Eq. 3
      ctx.progress.tick();
    }
    writeEntropy(ctx.outputs.entropy, { sampleIds: idx.sampleIds, layers, e, N });
    return { summary: `${B} images, Omega = [${layers.join(', ')}]` };
  },
});
