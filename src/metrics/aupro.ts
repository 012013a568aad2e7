/**
 * Area under the per-region-overlap (PRO) curve, two variants.
 *
 * `aupro` - the MVTec AD reference. Regions are the connected components of
 * every mask (8-connected by default), counted over all images. For every
 * distinct score t (descending): FPR(t) = normal pixels >= t / normal pixels,
 * PRO(t) = mean over regions of (region pixels >= t) / region size. The
 * curve is framed by (0,0) and (1,1), integrated with the trapezoid rule on
 * [0, fprLimit] (PRO interpolated linearly at the limit) and divided by the
 * limit, so a perfect map scores 1. Exact in float64; the reference casts
 * FPR to float32, so the two agree to about 1e-9.
 *
 * `auproZsad` - the `cal_pro_score` routine that AnomalyCLIP / April-GAN use
 * and whose numbers the zero-shot tables report: `steps` (200) thresholds
 * th_i = min + i * delta, delta = (max - min) / steps, th < max (numpy arange,
 * including its rounding); a pixel is positive when score > th; points with
 * FPR < fprLimit (strict) are kept, their FPRs min-max rescaled to [0, 1] and
 * the area taken with the trapezoid rule (no (0,0) point, no interpolation,
 * no division by the limit). Thresholds are computed in float64 on the
 * scores' values; the reference run on float32 arrays would compute them in
 * float32, which can move a threshold past a score that lies within float32
 * rounding of it.
 *
 * Memory: the normal-pixel scores are copied and sorted (4 bytes a pixel for
 * Float32Array maps); anomalous pixels are reduced to one weight per
 * distinct anomalous score, so no per-pixel index array is kept.
 */
import { MetricUndefinedError } from './errors.ts';
import { labelRegions, type Connectivity } from './regions.ts';
import { distinct, indexOf, splitSorted, sweepDescending, upperBound, type Sorted } from './sorted.ts';
import {
  checkFinite,
  checkFprLimit,
  checkSameLength,
  checkSameShape,
  checkShape,
  toBinary,
  type LabelArray,
  type MapShape,
  type ScoreArray,
} from './validate.ts';
import { MetricInputError } from './errors.ts';

export interface AuproOptions {
  /** Upper FPR bound of the integral, 0 < fprLimit <= 1 (default 0.3). */
  fprLimit?: number;
  /** Region connectivity: 8 (reference, default) or 4. */
  connectivity?: Connectivity;
  /** Shape of `masks` when it differs from the maps' (it is then rejected). */
  maskShape?: readonly number[];
}

export interface AuproZsadOptions extends AuproOptions {
  /** Number of evenly spaced thresholds (cal_pro_score: 200). */
  steps?: number;
}

/** What both variants need: sorted normal scores and PRO weights per distinct anomalous score. */
export interface ProInputs {
  neg: Sorted;
  /** Distinct anomalous scores, ascending. */
  posValues: Sorted;
  /** Sum over anomalous pixels with that score of 1 / (region size * region count). */
  posWeight: Float64Array;
  regions: number;
}

/**
 * Check the inputs and build what both AUPRO variants need. `sorted` passes
 * the maps already split by the masks and sorted (shared with pixel AUROC).
 */
export function prepareProInputs(
  maps: ScoreArray,
  masks: LabelArray,
  shape: readonly number[],
  opts: AuproOptions,
  sorted?: { neg: Sorted; pos: Sorted },
): ProInputs & { masks: Uint8Array } {
  const s = checkShape(shape, 'maps');
  if (opts.maskShape !== undefined) checkSameShape(s, checkShape(opts.maskShape, 'masks'));
  const [n, h, w] = s;
  if (maps.length !== n * h * w) {
    throw new MetricInputError(`maps hold ${maps.length} values but shape [${s}] needs ${n * h * w}`);
  }
  checkSameLength(maps, masks, 'maps', 'masks');
  const connectivity = opts.connectivity ?? 8;
  if (connectivity !== 4 && connectivity !== 8) {
    throw new MetricInputError(`connectivity must be 4 or 8, got ${connectivity}`);
  }
  checkFinite(maps, 'maps', s);
  const m = toBinary(masks, 'masks', s);

  const { neg, pos } = sorted ?? splitSorted(maps, m);
  if (neg.length === 0) {
    throw new MetricUndefinedError('no normal pixel in the masks: the FPR of the PRO curve is undefined');
  }
  const posValues = distinct(pos).values;
  const posWeight = new Float64Array(posValues.length);

  // Regions per image; each anomalous pixel adds 1/size to its score's weight.
  const labels = new Int32Array(h * w);
  const stack = new Int32Array(h * w);
  let regions = 0;
  for (let k = 0; k < n; k++) {
    const offset = k * h * w;
    const sizes = labelRegions(m, offset, h, w, connectivity, labels, stack);
    regions += sizes.length - 1;
    if (sizes.length === 1) continue;
    for (let p = 0; p < h * w; p++) {
      const r = labels[p];
      if (r) posWeight[indexOf(posValues, maps[offset + p])] += 1 / sizes[r];
    }
  }
  if (regions === 0) {
    throw new MetricUndefinedError('no anomalous region in the masks: PRO is undefined (0 regions)');
  }
  for (let i = 0; i < posWeight.length; i++) posWeight[i] /= regions;
  return { neg, posValues, posWeight, regions, masks: m };
}

/** MVTec AD AUPRO: exact curve, trapezoid to fprLimit, divided by fprLimit. */
export function aupro(
  maps: ScoreArray,
  masks: LabelArray,
  shape: readonly number[],
  opts: AuproOptions = {},
): number {
  const limit = checkFprLimit(opts.fprLimit === undefined ? 0.3 : opts.fprLimit);
  return auproFrom(prepareProInputs(maps, masks, shape, opts), limit);
}

export function auproFrom({ neg, posValues, posWeight }: ProInputs, limit: number): number {
  checkFprLimit(limit);
  const N = neg.length;
  let area = 0;
  let px = 0; // the curve starts at (0, 0)
  let py = 0;
  let done = false;
  const step = (x: number, y: number): void => {
    if (done) return;
    if (x <= limit) {
      area += ((x - px) * (y + py)) / 2;
      px = x;
      py = y;
      return;
    }
    const yAtLimit = py + ((y - py) * (limit - px)) / (x - px); // linear interpolation at the limit
    area += ((limit - px) * (yAtLimit + py)) / 2;
    done = true;
  };
  sweepDescending(neg, posValues, posWeight, (_t, fp, pro) => step(fp / N, pro));
  step(1, 1); // the curve ends at (1, 1)
  return area / limit;
}

/** numpy.arange(start, stop, step) for float64, reproducing its rounding. */
function arange(start: number, stop: number, step: number): Float64Array {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(len);
  if (len > 0) out[0] = start;
  if (len > 1) out[1] = start + step;
  const delta = out[1] - start;
  for (let i = 2; i < len; i++) out[i] = start + i * delta;
  return out;
}

/** cal_pro_score: 200 thresholds, FPR < limit kept, FPR min-max rescaled, area. */
export function auproZsad(
  maps: ScoreArray,
  masks: LabelArray,
  shape: readonly number[],
  opts: AuproZsadOptions = {},
): number {
  const limit = checkFprLimit(opts.fprLimit === undefined ? 0.3 : opts.fprLimit);
  const inputs = prepareProInputs(maps, masks, shape, opts);
  return auproZsadFrom(inputs, maps, limit, opts.steps ?? 200);
}

export function auproZsadFrom(
  { neg, posValues, posWeight }: ProInputs,
  maps: ScoreArray,
  limit: number,
  steps: number,
): number {
  checkFprLimit(limit);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new MetricInputError(`steps must be a positive integer, got ${steps}`);
  }
  const N = neg.length;

  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < maps.length; i++) {
    const v = maps[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) {
    throw new MetricUndefinedError('every score of the maps is equal: no threshold between min and max');
  }

  // cumulative[k] = PRO weight of the k lowest distinct anomalous scores.
  const cumulative = new Float64Array(posWeight.length + 1);
  for (let k = 0; k < posWeight.length; k++) cumulative[k + 1] = cumulative[k] + posWeight[k];
  const total = cumulative[posWeight.length];

  const fprs: number[] = [];
  const pros: number[] = [];
  for (const th of arange(min, max, (max - min) / steps)) {
    const fpr = (N - upperBound(neg, th)) / N; // normal pixels with score > th
    if (!(fpr < limit)) continue;
    fprs.push(fpr);
    pros.push(total - cumulative[upperBound(posValues, th)]);
  }
  if (fprs.length === 0) {
    throw new MetricUndefinedError(`no threshold reaches FPR < ${limit}: the AUPRO-zsad curve is empty`);
  }
  const fMin = Math.min(...fprs);
  const fMax = Math.max(...fprs);
  if (!(fMax > fMin)) {
    throw new MetricUndefinedError(
      `every kept threshold has the same FPR (${fMin}): the min-max rescale of cal_pro_score divides by 0`,
    );
  }
  let area = 0;
  for (let i = 1; i < fprs.length; i++) {
    const x0 = (fprs[i - 1] - fMin) / (fMax - fMin);
    const x1 = (fprs[i] - fMin) / (fMax - fMin);
    area += (Math.abs(x1 - x0) * (pros[i] + pros[i - 1])) / 2;
  }
  return area;
}
