/**
 * Node `metrics`: image AUROC / AP / F1-max, pixel AUROC / AP / F1-max,
 * AUPRO (MVTec AD reference) and AUPRO-zsad (cal_pro_score) per category at
 * the evaluation size, then the mean over categories; written as
 * `metrics.json` (src/metrics/types.ts) under the dataset's name.
 *
 * Node `metrics-merge`: several metrics.json (one per dataset) merged into
 * one, with the mean over datasets.
 */
import { join } from 'node:path';
import { registerNodeType } from './index.ts';
import type { NodeContext } from '../runner/types.ts';
import { readJson, readMap, writeJson, type MapsIndex, type ScoresFile, mapFile } from './artifacts.ts';
import { readManifest } from '../data/samples.ts';
import { evaluateCategory, type MetricOptions } from '../metrics/category.ts';
import { byCategory, checkImageScores, loadCategoryPixels, noPixelReason } from '../metrics/load.ts';
import { datasetMetrics, mergeMetricsFiles, metricsFile } from '../metrics/aggregate.ts';
import type { CategoryMetrics, MetricsFile } from '../metrics/types.ts';
import type { Connectivity } from '../metrics/regions.ts';

export const METRICS_FILE = 'metrics.json';

interface MetricsParams {
  /** Dataset name in metrics.json (default: the manifest's name). */
  name?: string;
  fpr_limit: number;
  connectivity: Connectivity;
  zsad_steps: number;
}

registerNodeType({
  type: 'metrics',
  version: '1',
  description: 'Image and pixel metrics (AUROC, AP, F1-max, AUPRO, AUPRO-zsad) per category and mean',
  params: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, description: 'dataset name in metrics.json (default: the manifest name)' },
      fpr_limit: {
        type: 'number',
        exclusiveMinimum: 0,
        maximum: 1,
        default: 0.3,
        description: 'FPR limit of both AUPRO variants',
      },
      connectivity: { type: 'integer', enum: [4, 8], default: 8, description: 'AUPRO region connectivity' },
      zsad_steps: { type: 'integer', minimum: 2, default: 200, description: 'thresholds of AUPRO-zsad' },
    },
    additionalProperties: false,
  },
  inputs: {
    dataset: { kind: 'dataset', description: 'samples.json: labels and mask paths' },
    maps: { kind: 'anomaly-maps', description: 'per-image maps at the evaluation size' },
    scores: { kind: 'scores', description: 'final image scores' },
  },
  outputs: { metrics: { kind: 'metrics', description: 'metrics.json' } },
  async run(ctx: NodeContext<MetricsParams>) {
    const where = `metrics node "${ctx.nodeId}"`;
    const manifest = readManifest(ctx.inputs.dataset.dir);
    const mapsDir = ctx.inputs.maps.dir;
    const mapsIndex = readJson<MapsIndex>(join(mapsDir, 'index.json'));
    const scores = readJson<ScoresFile>(join(ctx.inputs.scores.dir, 'scores.json'));
    const ids = manifest.samples.map((s) => s.id);
    checkOrder(ids, mapsIndex.sampleIds, `${where}: maps/index.json`);
    checkOrder(ids, scores.sampleIds, `${where}: scores/scores.json`);
    checkImageScores(scores.scores, manifest.samples, `${where}: scores/scores.json`);

    const opts: MetricOptions = {
      fprLimit: ctx.params.fpr_limit,
      connectivity: ctx.params.connectivity,
      zsadSteps: ctx.params.zsad_steps,
    };
    const size = mapsIndex.size;
    const groups = byCategory(manifest.samples);
    const categories: Record<string, CategoryMetrics> = {};
    ctx.progress.total(manifest.samples.length, 'metrics');
    for (const [category, idx] of groups) {
      if (ctx.signal.aborted) throw new Error(`${where}: interrupted`);
      const samples = idx.map((i) => manifest.samples[i]);
      const reason = noPixelReason(samples, manifest.hasMasks, manifest.name, manifest.categoriesWithoutMasks);
      const pixels = reason
        ? null
        : await loadCategoryPixels(
            samples,
            {
              map: (k) => readMap(mapsDir, idx[k]),
              describe: (k) => `${where}: ${mapFile(mapsDir, idx[k])}`,
            },
            size,
            manifest.maskThreshold ?? 0,
          );
      categories[category] = evaluateCategory(
        {
          imageScores: idx.map((i) => scores.scores[i]),
          imageLabels: samples.map((s) => s.label),
          maps: pixels?.maps ?? null,
          masks: pixels?.masks ?? null,
          size,
          noPixelReason: reason ?? undefined,
          maskCount: samples.filter((s) => s.maskPath).length,
        },
        opts,
      );
      ctx.progress.tick(idx.length);
      ctx.log.data('category-metrics', { category, ...categories[category].values });
    }
    const name = ctx.params.name ?? manifest.name;
    const file = metricsFile(size, { [name]: datasetMetrics(categories) }, {
      fprLimit: opts.fprLimit,
      connectivity: opts.connectivity,
      zsadSteps: opts.zsadSteps,
    });
    writeJson(join(ctx.outputs.metrics, METRICS_FILE), file);
    return { summary: summaryLine(name, file) };
  },
});

registerNodeType({
  type: 'metrics-merge',
  version: '1',
  description: 'Merge several metrics.json (one per dataset) into one, with the mean over datasets',
  params: { type: 'object', properties: {}, additionalProperties: false },
  inputs: { metrics: { kind: 'metrics', multiple: true, description: 'metrics of each dataset' } },
  outputs: { metrics: { kind: 'metrics', description: 'merged metrics.json' } },
  async run(ctx: NodeContext<Record<string, never>>) {
    const list = ctx.inputLists.metrics ?? (ctx.inputs.metrics ? [ctx.inputs.metrics] : []);
    const files = list.map((a) => {
      const path = join(a.dir, METRICS_FILE);
      return { file: readJson<MetricsFile>(path), source: path };
    });
    let merged: MetricsFile;
    try {
      merged = mergeMetricsFiles(files);
    } catch (e) {
      throw new Error(`metrics-merge node "${ctx.nodeId}": ${(e as Error).message}`);
    }
    writeJson(join(ctx.outputs.metrics, METRICS_FILE), merged);
    return { summary: summaryLine(`${Object.keys(merged.datasets).length} datasets`, merged) };
  },
});

function checkOrder(want: string[], got: string[], what: string): void {
  if (got.length !== want.length) {
    throw new Error(`${what} lists ${got.length} samples but the dataset has ${want.length}; they come from different datasets or splits`);
  }
  const i = want.findIndex((id, k) => got[k] !== id);
  if (i >= 0) {
    throw new Error(`${what}: sample ${i} is "${got[i]}" but the dataset's is "${want[i]}"; re-run the producing node on this dataset`);
  }
}

function summaryLine(name: string, f: MetricsFile): string {
  const pct = (v: number | null | undefined) => (typeof v === 'number' ? (100 * v).toFixed(1) : '-');
  const m = f.mean;
  return `${name}: image AUROC ${pct(m.image_auroc)} AP ${pct(m.image_ap)}, pixel AUROC ${pct(m.pixel_auroc)} AUPRO ${pct(m.aupro)} AUPRO-zsad ${pct(m.aupro_zsad)}`;
}
