/**
 * `entroad eval`: score anomaly maps saved by another tool with the same
 * metric code as the pipelines. The benchmark is listed by the data
 * adapters; image scores are the maximum of each map at the evaluation size
 * (the usual zero-shot convention when a tool saves maps only).
 */
import { listDataset } from '../data/adapters/index.ts';
import type { DatasetFormat } from '../data/listing.ts';
import { problemsError, toSample } from '../data/manifest.ts';
import type { Sample } from '../data/types.ts';
import { datasetMetrics, metricsFile } from './aggregate.ts';
import { DEFAULT_OPTIONS, evaluateCategory, type MetricOptions } from './category.ts';
import { byCategory, loadCategoryPixels, noPixelReason } from './load.ts';
import { listPredictions, matchPredictions, readPredMap, resizeMap } from './predictions.ts';
import type { CategoryMetrics, MetricsFile } from './types.ts';

export interface EvalOptions {
  pred: string;
  dataset: string;
  format: DatasetFormat;
  split: 'train' | 'test';
  /** Evaluation size; default: the size of the first prediction (must be square). */
  size?: number;
  /** Dataset name in metrics.json (default: the format). */
  name?: string;
  maskThreshold: number;
  metric: MetricOptions;
  onCategory?: (category: string, m: CategoryMetrics) => void;
}

export async function evaluatePredictions(o: EvalOptions): Promise<MetricsFile> {
  const listing = listDataset(o.format, o.dataset, { split: o.split, allowMissingMasks: true });
  if (listing.problems.length) throw problemsError(listing);
  const samples: Sample[] = listing.samples.map((s) => toSample(listing.root, s));
  if (samples.length === 0) throw new Error(`${o.dataset}: the ${o.split} split lists no images`);
  const files = matchPredictions(samples.map((s) => s.relPath), listPredictions(o.pred), o.pred);

  let size = o.size;
  if (size === undefined) {
    const first = await readPredMap(files[0]);
    if (first.width !== first.height) {
      throw new Error(`${files[0]}: map is ${first.width}x${first.height}; pass --size N to evaluate at N x N`);
    }
    size = first.width;
  }
  const evalSize = size;
  const categories: Record<string, CategoryMetrics> = {};
  for (const [category, idx] of byCategory(samples)) {
    const group = idx.map((i) => samples[i]);
    const maps: Float32Array[] = [];
    for (const i of idx) maps.push(resizeMap(await readPredMap(files[i]), evalSize));
    const reason = noPixelReason(group, listing.hasMasks, o.name ?? o.format, listing.categoriesWithoutMasks);
    const pixels = reason
      ? null
      : await loadCategoryPixels(group, { map: (k) => maps[k], describe: (k) => files[idx[k]] }, evalSize, o.maskThreshold);
    const imageScores = maps.map((m, k) => {
      let max = -Infinity;
      for (const v of m) {
        if (!Number.isFinite(v)) throw new Error(`${files[idx[k]]}: map holds ${v}; anomaly maps must be finite`);
        if (v > max) max = v;
      }
      return max;
    });
    categories[category] = evaluateCategory(
      {
        imageScores,
        imageLabels: group.map((s) => s.label),
        maps: pixels?.maps ?? null,
        masks: pixels?.masks ?? null,
        size: evalSize,
        noPixelReason: reason ?? undefined,
        maskCount: group.filter((s) => s.maskPath).length,
      },
      o.metric ?? DEFAULT_OPTIONS,
    );
    o.onCategory?.(category, categories[category]);
  }
  return metricsFile(evalSize, { [o.name ?? o.format]: datasetMetrics(categories) }, {
    fprLimit: o.metric.fprLimit,
    connectivity: o.metric.connectivity,
    zsadSteps: o.metric.zsadSteps,
  });
}
