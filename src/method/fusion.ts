/**
 * Inference fusion and image score (EntroAD Eq. 20-22).
 *
 * The two branch maps are mixed with normalised weights, the fused map is
 * smoothed with a Gaussian (sigma 4) BEFORE its top 1 % is taken, and the
 * image score mixes that localisation score with the Stage-1 retrieval
 * probability a_ret.
 */
import { gaussianFilter } from './gaussian.ts';
import { topPercentMean } from './topk.ts';

export const FUSION_EPS = 1e-8;

/** Eq. 20: alpha' = alpha / (alpha + beta + eps), beta' likewise. */
export function fusionWeights(alpha: number, beta: number): { alpha: number; beta: number } {
  if (alpha < 0 || beta < 0) throw new Error(`fusion weights must be >= 0 (alpha ${alpha}, beta ${beta})`);
  const s = alpha + beta + FUSION_EPS;
  return { alpha: alpha / s, beta: beta / s };
}

/** Eq. 20: M = alpha' M_A + beta' M_B (maps of equal size). */
export function fuseMaps(
  mapA: ArrayLike<number>,
  mapB: ArrayLike<number> | null,
  alpha: number,
  beta: number,
): Float32Array {
  const w = fusionWeights(alpha, beta);
  const out = new Float32Array(mapA.length);
  if (mapB === null) {
    // one-branch model: M = M_A whatever beta says
    for (let i = 0; i < out.length; i++) out[i] = mapA[i];
    return out;
  }
  if (mapB.length !== mapA.length) {
    throw new Error(`fuseMaps: branch maps differ in size (${mapA.length} vs ${mapB.length})`);
  }
  for (let i = 0; i < out.length; i++) out[i] = w.alpha * mapA[i] + w.beta * mapB[i];
  return out;
}

/** Eq. 22: a = (1 - k) a_loc + k a_ret. */
export function imageScore(aLoc: number, aRet: number, k = 0.7): number {
  return (1 - k) * aLoc + k * aRet;
}

export interface ScoreOptions {
  sigma: number;
  /** Image-score mix k of Eq. 22. */
  k: number;
  aRet: number;
}

/** Gaussian-smooth a fused [size,size] map, then Eq. 21-22. */
export function scoreMap(
  fused: Float32Array,
  size: number,
  opts: ScoreOptions,
): { map: Float32Array; aLoc: number; score: number } {
  const map = opts.sigma > 0 ? gaussianFilter(fused, size, size, { sigma: opts.sigma }) : fused;
  const aLoc = topPercentMean(map); // Eq. 21
  return { map, aLoc, score: imageScore(aLoc, opts.aRet, opts.k) };
}
