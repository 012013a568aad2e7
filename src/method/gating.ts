/**
 * Confidence gate on the anomaly token (EntroAD Eq. 8).
 *
 * g rises above 0.5 only when some patch is retrieved as anomalous with
 * p_max > tau; a spread of entropy over the image (sigma_e) sharpens the
 * decision. Normal images thus get a damped anomaly token.
 */

export interface GateOptions {
  tau: number;
  k0: number;
  k1: number;
  /** false = the "w/o gating" ablation: g = 1. */
  enabled: boolean;
}

export const GATE_DEFAULTS: GateOptions = { tau: 0.5, k0: 5, k1: 50, enabled: true };

/** Eq. 8: g = sigmoid((p_max - tau)(k0 + k1 sigma_e)). */
export function gate(pMax: number, sigmaE: number, opts: GateOptions = GATE_DEFAULTS): number {
  if (!opts.enabled) return 1;
  const x = (pMax - opts.tau) * (opts.k0 + opts.k1 * sigmaE);
  // written per sign so exp never overflows
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Eq. 8: t_a = g t_a_raw. */
export function gateToken(tARaw: ArrayLike<number>, g: number): Float32Array {
  const out = new Float32Array(tARaw.length);
  for (let i = 0; i < out.length; i++) out[i] = g * tARaw[i];
  return out;
}
