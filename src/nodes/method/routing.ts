/**
 * Node `routing`: the normal and raw anomaly tokens t_n, t_a_raw per image
 * (EntroAD Eq. 5-7) from the patch evidence p_i (retrieval), the structural
 * entropy e_i and the patch features z_i. Writes t_a = t_a_raw and g = 1;
 * the `gating` node applies Eq. 8. sigma_e and p_max are stored for it.
 */
import { registerNodeType } from '../index.ts';
import type { NodeContext } from '../../runner/types.ts';
import { routeTokens } from '../../method/routing.ts';
import {
  checkSameSamples,
  readEntropy,
  readFeature,
  readFeatureIndex,
  readRetrieval,
  writeRouted,
} from '../../method/stage2-io.ts';

interface RoutingParams {
  T: number;
  use_entropy: boolean;
  z_layer: number;
}

registerNodeType({
  type: 'routing',
  version: '1',
  description: 'Entropy-guided routing of patch features into t_n and t_a (Eq. 5-7)',
  params: {
    type: 'object',
    properties: {
      T: { type: 'number', exclusiveMinimum: 0, default: 0.1, description: 'routing temperature (Eq. 6)' },
      use_entropy: {
        type: 'boolean',
        default: true,
        description: 'false = "w/o entropy routing" ablation: r^a = p/T, r^n = (1-p)/T',
      },
      z_layer: {
        type: 'integer',
        minimum: 1,
        default: 24,
        description: 'block whose smoothed projected patch features are z (METHOD: layer 24)',
      },
    },
    additionalProperties: false,
  },
  inputs: {
    features: { kind: 'features' },
    retrieval: { kind: 'retrieval' },
    entropy: { kind: 'attention-entropy' },
  },
  outputs: { routed: { kind: 'routed-tokens' } },
  async run(ctx: NodeContext<RoutingParams>) {
    const node = `routing node "${ctx.nodeId}"`;
    const fdir = ctx.inputs.features.dir;
    const idx = readFeatureIndex(fdir);
    const ret = readRetrieval(ctx.inputs.retrieval.dir);
    const ent = readEntropy(ctx.inputs.entropy.dir);
    checkSameSamples(node, idx.sampleIds, 'features', ret.sampleIds, 'retrieval');
    checkSameSamples(node, idx.sampleIds, 'features', ent.sampleIds, 'entropy');
    const { T, use_entropy: useEntropy, z_layer: zLayer } = ctx.params;
    if (!idx.mapLayers.includes(zLayer)) {
      throw new Error(
        `${node}: param z_layer = ${zLayer} is not among the features' map layers ` +
          `[${idx.mapLayers.join(', ')}]; set z_layer to one of them`,
      );
    }
    const N = idx.grid * idx.grid;
    const E = idx.embedDim;
    if (ret.N !== N || ent.N !== N) {
      throw new Error(`${node}: features have N = ${N} patches, retrieval ${ret.N}, entropy ${ent.N}`);
    }

    const B = idx.sampleIds.length;
    const tN = new Float32Array(B * E);
    const tARaw = new Float32Array(B * E);
    const sigmaE = new Float32Array(B);
    const pMax = new Float32Array(B);
    ctx.progress.total(B, 'routing');
    for (let i = 0; i < B; i++) {
      const z = readFeature(fdir, i, `patch.${zLayer}`, N * E); // [N,E]
      const r = routeTokens(ret.p.subarray(i * N, (i + 1) * N), ent.e.subarray(i * N, (i + 1) * N), z, {
        T,
        useEntropy,
      }); // Eq. 5-7
      tN.set(r.tN, i * E);
      tARaw.set(r.tARaw, i * E);
      sigmaE[i] = r.sigmaE;
      pMax[i] = r.pMax;
      ctx.progress.tick();
    }
    writeRouted(ctx.outputs.routed, {
      sampleIds: idx.sampleIds,
      E,
      tN,
      tARaw,
      tA: tARaw.slice(), // ungated until the gating node
      g: new Float32Array(B).fill(1),
      sigmaE,
      pMax,
      info: { T, useEntropy, zLayer, gated: false },
    });
    return { summary: `${B} images, T = ${T}${useEntropy ? '' : ', without entropy'}` };
  },
});
