/**
 * All metrics of one category at the evaluation size, with every undefined
 * metric turned into null plus its reason (never a fake 0.5). Input errors
 * (NaN, shape, non-binary mask) still throw: the data is wrong, not the
 * metric.
 *
 * The pixel scores are split by the masks and sorted once; pixel AUROC, AP,
 * F1-max and both AUPRO variants share that sort.
 */
import { auproFrom, auproZsadFrom, prepareProInputs } from './aupro.ts';
import { binaryFromSorted, binaryMetrics } from './binary.ts';
import { MetricUndefinedError } from './errors.ts';
import type { Connectivity } from './regions.ts';
import { splitSorted } from './sorted.ts';
import type { CategoryMetrics, MetricName, MetricValues } from './types.ts';
import { checkFinite, toBinary } from './validate.ts';

export interface CategoryInput {
  /** Final image scores, one per sample. */
  imageScores: ArrayLike<number>;
  imageLabels: ArrayLike<number>;
  /** n maps of size x size (Float32), or null when pixel metrics are impossible. */
  maps: Float32Array | null;
  /** n masks of size x size, 0/1. */
  masks: Uint8Array | null;
  size: number;
  /** Why `maps`/`masks` are null (e.g. the dataset has no masks). */
  noPixelReason?: string;
  /** Number of samples with a mask file. */
  maskCount: number;
}

export interface MetricOptions {
  fprLimit: number;
  connectivity: Connectivity;
  /** Thresholds of the AUPRO-zsad variant (cal_pro_score uses 200). */
  zsadSteps: number;
}

export const DEFAULT_OPTIONS: MetricOptions = { fprLimit: 0.3, connectivity: 8, zsadSteps: 200 };

const IMAGE: MetricName[] = ['image_auroc', 'image_ap', 'image_f1max'];
const PIXEL: MetricName[] = ['pixel_auroc', 'pixel_ap', 'pixel_f1max', 'aupro', 'aupro_zsad'];

export function evaluateCategory(input: CategoryInput, opts: MetricOptions = DEFAULT_OPTIONS): CategoryMetrics {
  const values: MetricValues = {};
  const reasons: Partial<Record<MetricName, string>> = {};
  const setNull = (names: MetricName[], reason: string) => {
    for (const m of names) {
      values[m] = null;
      reasons[m] = reason;
    }
  };
  const labels = toBinary(input.imageLabels, 'image labels');
  let anomalous = 0;
  for (const l of labels) anomalous += l;
  const counts = { normal: labels.length - anomalous, anomalous, masks: input.maskCount };

  if (anomalous === 0) setNull(IMAGE, 'no anomalous images in this category');
  else if (anomalous === labels.length) setNull(IMAGE, 'no normal images in this category');
  else {
    checkFinite(input.imageScores, 'image scores');
    const m = binaryMetrics(input.imageScores, labels, 'image scores');
    values.image_auroc = m.auroc;
    values.image_ap = m.ap;
    values.image_f1max = m.f1;
  }

  if (!input.maps || !input.masks) {
    setNull(PIXEL, input.noPixelReason ?? 'no anomaly maps or masks');
    return { values, reasons, counts };
  }
  const n = labels.length;
  const shape = [n, input.size, input.size] as const;
  const maps = input.maps;
  checkFinite(maps, 'anomaly maps', shape);
  const masks = toBinary(input.masks, 'masks', shape);
  const sorted = splitSorted(maps, masks);
  try {
    const m = binaryFromSorted(sorted.neg, sorted.pos);
    values.pixel_auroc = m.auroc;
    values.pixel_ap = m.ap;
    values.pixel_f1max = m.f1;
  } catch (e) {
    if (!(e instanceof MetricUndefinedError)) throw e;
    setNull(['pixel_auroc', 'pixel_ap', 'pixel_f1max'], e.message);
  }
  try {
    const pro = prepareProInputs(maps, masks, shape, opts, sorted);
    values.aupro = auproFrom(pro, opts.fprLimit);
    try {
      values.aupro_zsad = auproZsadFrom(pro, maps, opts.fprLimit, opts.zsadSteps);
    } catch (e) {
      if (!(e instanceof MetricUndefinedError)) throw e;
      setNull(['aupro_zsad'], e.message);
    }
  } catch (e) {
    if (!(e instanceof MetricUndefinedError)) throw e;
    setNull(['aupro', 'aupro_zsad'], e.message);
  }
  return Object.keys(reasons).length ? { values, reasons, counts } : { values, counts };
}
