/**
 * The metrics library: what the `metrics` node and `entroad eval` use, and
 * what researchers can call from their own scripts over flat typed arrays.
 *
 *   import { metrics } from 'entroad';
 *   metrics.auroc(scores, labels);                       // image or pixel AUROC
 *   metrics.aupro(maps, masks, [n, h, w], { fprLimit: 0.3, connectivity: 8 });
 */
export { auroc, averagePrecision, f1Max, binaryMetrics, type BinaryMetrics } from './binary.ts';
export { aupro, auproZsad, type AuproOptions, type AuproZsadOptions } from './aupro.ts';
export { labelRegions, type Connectivity } from './regions.ts';
export { MetricInputError, MetricUndefinedError } from './errors.ts';
export type { ScoreArray, LabelArray, MapShape } from './validate.ts';
