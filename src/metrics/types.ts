/**
 * `metrics.json`, written by the `metrics` node into its output directory and
 * copied by the runner into `results/<run-id>/metrics.json`. Values are in
 * [0,1] (tables print them x100). A metric that is undefined for a category
 * (no anomalous images, no masks) is null with a reason.
 */
export type MetricName =
  | 'image_auroc'
  | 'image_ap'
  | 'image_f1max'
  | 'pixel_auroc'
  | 'pixel_ap'
  | 'pixel_f1max'
  | 'aupro'
  | 'aupro_zsad';

export type MetricValues = Partial<Record<MetricName, number | null>>;

export interface CategoryMetrics {
  values: MetricValues;
  /** metric -> why it is null. */
  reasons?: Partial<Record<MetricName, string>>;
  counts: { normal: number; anomalous: number; masks: number };
}

export interface DatasetMetrics {
  categories: Record<string, CategoryMetrics>;
  /** Mean over categories (nulls skipped; null if all are null). */
  mean: MetricValues;
}

export interface MetricsFile {
  /** Evaluation size (maps and masks compared at size x size). */
  evalSize: number;
  datasets: Record<string, DatasetMetrics>;
  /** Mean over datasets of the dataset means. */
  mean: MetricValues;
  /**
   * How the pixel metrics were computed (written by the metrics node;
   * optional so older files still read): AUPRO's FPR limit and region
   * connectivity, and the number of AUPRO-zsad thresholds.
   */
  settings?: { fprLimit: number; connectivity: 4 | 8; zsadSteps: number };
}
