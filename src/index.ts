/**
 * The `entroad` package entry point, for researchers' own scripts.
 *
 *   import { metrics } from 'entroad';
 *   const auroc = metrics.auroc(imageScores, imageLabels);
 *   const pixelAuroc = metrics.auroc(flatMaps, flatMasks);
 *   const pro = metrics.aupro(flatMaps, flatMasks, [n, h, w], { fprLimit: 0.3, connectivity: 8 });
 *   const proZsad = metrics.auproZsad(flatMaps, flatMasks, [n, h, w]);
 */
export * as metrics from './metrics/index.ts';
export type {
  MetricsFile,
  DatasetMetrics,
  CategoryMetrics,
  MetricName,
  MetricValues,
} from './metrics/types.ts';
