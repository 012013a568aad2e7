/**
 * Means over categories and over datasets (nulls skipped; null when every
 * value is null), and the merge of several metrics.json into one.
 */
import type { DatasetMetrics, MetricName, MetricValues, MetricsFile, CategoryMetrics } from './types.ts';

export const METRIC_NAMES: MetricName[] = [
  'image_auroc',
  'image_ap',
  'image_f1max',
  'pixel_auroc',
  'pixel_ap',
  'pixel_f1max',
  'aupro',
  'aupro_zsad',
];

export function meanOf(items: MetricValues[]): MetricValues {
  const out: MetricValues = {};
  for (const m of METRIC_NAMES) {
    const vals = items.map((v) => v[m]).filter((v): v is number => typeof v === 'number');
    if (items.some((v) => m in v)) out[m] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  }
  return out;
}

export function datasetMetrics(categories: Record<string, CategoryMetrics>): DatasetMetrics {
  return { categories, mean: meanOf(Object.values(categories).map((c) => c.values)) };
}

export function metricsFile(
  evalSize: number,
  datasets: Record<string, DatasetMetrics>,
  settings?: MetricsFile['settings'],
): MetricsFile {
  const f: MetricsFile = { evalSize, datasets, mean: meanOf(Object.values(datasets).map((d) => d.mean)) };
  if (settings) f.settings = settings;
  return f;
}

/** Merge several files: datasets keyed by name (a repeated name is an error). */
export function mergeMetricsFiles(files: { file: MetricsFile; source: string }[]): MetricsFile {
  if (files.length === 0) throw new Error('metrics-merge: no metrics inputs to merge');
  const datasets: Record<string, DatasetMetrics> = {};
  const from: Record<string, string> = {};
  const sizes = new Set(files.map((f) => f.file.evalSize));
  if (sizes.size > 1) {
    throw new Error(
      `metrics-merge: inputs were evaluated at different sizes (${[...sizes].join(', ')}); ` +
        'evaluate every dataset at one size so the mean over datasets compares like with like',
    );
  }
  const settings = new Set(files.map((f) => JSON.stringify(f.file.settings ?? null)));
  if (settings.size > 1) {
    throw new Error(
      `metrics-merge: inputs use different metric settings (${[...settings].join(' vs ')}); ` +
        'give every metrics node the same fpr_limit, connectivity and zsad_steps',
    );
  }
  for (const { file, source } of files) {
    for (const [name, d] of Object.entries(file.datasets)) {
      if (name in datasets) {
        throw new Error(
          `metrics-merge: dataset "${name}" appears in both ${from[name]} and ${source}; ` +
            'give the metrics nodes distinct `name` params',
        );
      }
      datasets[name] = d;
      from[name] = source;
    }
  }
  return metricsFile(files[0].file.evalSize, datasets, files[0].file.settings);
}
