/**
 * Node `gating`: t_a = g t_a_raw with the confidence gate of EntroAD Eq. 8.
 * `enabled: false` is the "w/o gating" ablation (g = 1).
 */
import { registerNodeType } from '../index.ts';
import type { NodeContext } from '../../runner/types.ts';
import { gate } from '../../method/gating.ts';
import { readRouted, writeRouted } from '../../method/stage2-io.ts';

interface GatingParams {
  tau: number;
  k0: number;
  k1: number;
  enabled: boolean;
}

registerNodeType({
  type: 'gating',
  version: '1',
  description: 'Confidence gate on the anomaly token, t_a = g t_a_raw (Eq. 8)',
  params: {
    type: 'object',
    properties: {
      tau: { type: 'number', default: 0.5, description: 'p_max at which g = 0.5' },
      k0: { type: 'number', default: 5, description: 'base slope of the gate' },
      k1: { type: 'number', default: 50, description: 'slope added per unit of sigma_e' },
      enabled: { type: 'boolean', default: true, description: 'false = "w/o gating" ablation: g = 1' },
    },
    additionalProperties: false,
  },
  inputs: { routed: { kind: 'routed-tokens' } },
  outputs: { routed: { kind: 'routed-tokens' } },
  async run(ctx: NodeContext<GatingParams>) {
    const r = readRouted(ctx.inputs.routed.dir);
    const B = r.sampleIds.length;
    const E = r.E;
    const g = new Float32Array(B);
    const tA = new Float32Array(B * E);
    for (let i = 0; i < B; i++) {
      g[i] = gate(r.pMax[i], r.sigmaE[i], ctx.params); // Eq. 8
      for (let d = 0; d < E; d++) tA[i * E + d] = g[i] * r.tARaw[i * E + d]; // Eq. 8: t_a = g t_a_raw
    }
    const { tau, k0, k1, enabled } = ctx.params;
    writeRouted(ctx.outputs.routed, { ...r, g, tA, info: { ...r.info, gated: enabled, tau, k0, k1 } });
    let mean = 0;
    for (const v of g) mean += v / B;
    return { summary: enabled ? `${B} images, mean g = ${mean.toFixed(3)}` : `${B} images, gate off (g = 1)` };
  },
});
