/**
 * Image and pixel metrics of a score vector against 0/1 labels, exactly as
 * scikit-learn defines them: one curve point per distinct score (ties enter
 * together), AUROC by the trapezoid rule from (0,0), AP as the step-wise sum
 * sum_k (R_k - R_{k-1}) P_k (no interpolation), F1-max over the distinct
 * thresholds with the lowest threshold reaching the maximum.
 *
 * Pixel-level metrics are these functions over the flattened maps and masks.
 */
import { MetricUndefinedError } from './errors.ts';
import { distinct, splitSorted, sweepDescending, type Sorted } from './sorted.ts';
import {
  checkFinite,
  checkNotEmpty,
  checkSameLength,
  toBinary,
  type LabelArray,
  type ScoreArray,
} from './validate.ts';

export interface BinaryMetrics {
  auroc: number;
  ap: number;
  f1: number;
  /** Lowest threshold reaching the F1 maximum (one of the input scores). */
  threshold: number;
  positives: number;
  negatives: number;
}

/** AUROC, AP and F1-max from one sort (the costly part on 40 M pixels). */
export function binaryMetrics(scores: ScoreArray, labels: LabelArray, what = 'scores'): BinaryMetrics {
  checkNotEmpty(scores, what);
  checkSameLength(scores, labels, what, 'labels');
  checkFinite(scores, what);
  const y = toBinary(labels, 'labels');
  const { neg, pos } = splitSorted(scores, y);
  return binaryFromSorted(neg, pos);
}

/** The same from negatives and positives already sorted ascending. */
export function binaryFromSorted(neg: Sorted, pos: Sorted): BinaryMetrics {
  const P = pos.length;
  const N = neg.length;
  if (P === 0 || N === 0) {
    throw new MetricUndefinedError(
      `only one class in the labels (${P} positive, ${N} negative): ` +
        'AUROC, AP and F1-max need both normal and anomalous samples',
    );
  }
  const d = distinct(pos);

  let area = 0; // sum of dFP * (TP_k + TP_{k-1}), in counts: exact in float64
  let apSum = 0;
  let f1 = -1;
  let threshold = NaN;
  let fpPrev = 0;
  let tpPrev = 0;
  sweepDescending(neg, d.values, d.counts, (t, fp, tp) => {
    area += (fp - fpPrev) * (tp + tpPrev);
    apSum += (tp - tpPrev) * (tp / (tp + fp)); // (R_k - R_{k-1}) * P_k, times P
    const f = (2 * tp) / (tp + fp + P); // 2PR/(P+R) in counts; 0 when tp = 0
    if (f >= f1) {
      f1 = f;
      threshold = t;
    }
    fpPrev = fp;
    tpPrev = tp;
  });
  return { auroc: area / (2 * P * N), ap: apSum / P, f1, threshold, positives: P, negatives: N };
}

export function auroc(scores: ScoreArray, labels: LabelArray): number {
  return binaryMetrics(scores, labels).auroc;
}

export function averagePrecision(scores: ScoreArray, labels: LabelArray): number {
  return binaryMetrics(scores, labels).ap;
}

export function f1Max(scores: ScoreArray, labels: LabelArray): { f1: number; threshold: number } {
  const m = binaryMetrics(scores, labels);
  return { f1: m.f1, threshold: m.threshold };
}
