/**
 * Sensitivity plots like the paper's Figures 4-6: one metric of every
 * dataset (one line each) against one swept parameter, from a sweep's run
 * records. Vega-Lite compiles the chart, Vega renders SVG without a canvas,
 * sharp rasterises the SVG to PNG.
 */
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { loadRun, loadSweep, paramValue, pointDir } from './runs.ts';
import { metricLabel } from './tables.ts';
import type { MetricName } from './types.ts';

export interface PlotPoint {
  x: number | string;
  y: number;
  dataset: string;
}

export interface SweepSeries {
  points: PlotPoint[];
  /** Why points were left out (failed run, no metrics, null value). */
  skipped: string[];
  numericX: boolean;
}

/** The (x, y, dataset) triples of a sweep; y in percent. */
export function sweepSeries(
  sweepArg: string,
  x: string,
  metric: MetricName,
  results: string,
  includeMean = false,
): SweepSeries {
  const { file, path } = loadSweep(sweepArg, results);
  const points: PlotPoint[] = [];
  const skipped: string[] = [];
  for (const p of file.points) {
    if (p.status !== 'ok') {
      skipped.push(`${p.runId}: status ${p.status}`);
      continue;
    }
    const dir = pointDir(p, path, results);
    if (!dir) {
      skipped.push(`${p.runId}: run folder ${p.dir} not found`);
      continue;
    }
    let run;
    try {
      run = loadRun(dir, results);
    } catch (e) {
      skipped.push(`${p.runId}: ${(e as Error).message}`);
      continue;
    }
    const raw = paramValue(x, p.overrides ?? {}, run.run);
    if (raw === undefined) {
      throw new Error(
        `--x ${x}: point ${p.runId} does not set it; the sweep varies ${Object.keys(p.overrides ?? {}).join(', ') || 'nothing'}`,
      );
    }
    const xv = typeof raw === 'number' ? raw : typeof raw === 'string' ? raw : JSON.stringify(raw);
    const entries = Object.entries(run.metrics.datasets).map(([name, d]) => [name, d.mean[metric]] as const);
    if (includeMean) entries.push(['Average', run.metrics.mean[metric]]);
    for (const [dataset, v] of entries) {
      if (typeof v === 'number') points.push({ x: xv, y: 100 * v, dataset });
      else skipped.push(`${p.runId}: ${dataset} has no ${metric}`);
    }
  }
  if (points.length === 0) {
    throw new Error(`sweep ${path}: no point has a value for ${metric}${skipped.length ? ` (${skipped.slice(0, 3).join('; ')})` : ''}`);
  }
  return { points, skipped, numericX: points.every((p) => typeof p.x === 'number') };
}

/** The Vega-Lite spec of the sensitivity plot. */
export function plotSpec(series: SweepSeries, x: string, metric: MetricName, title?: string): Record<string, unknown> {
  const xTitle = x.replace(/^params\./, '');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ?? `${metricLabel(metric)} vs ${xTitle}`,
    width: 420,
    height: 280,
    background: 'white',
    data: { values: series.points },
    mark: { type: 'line', point: { size: 50, filled: true }, strokeWidth: 2 },
    encoding: {
      x: series.numericX
        ? { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false } }
        : { field: 'x', type: 'ordinal', title: xTitle, sort: null },
      y: { field: 'y', type: 'quantitative', title: `${metricLabel(metric)} (%)`, scale: { zero: false } },
      color: { field: 'dataset', type: 'nominal', title: 'Dataset', sort: null },
      shape: { field: 'dataset', type: 'nominal', sort: null },
    },
    config: {
      font: 'DejaVu Sans',
      axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
      legend: { labelFontSize: 12, titleFontSize: 12 },
      title: { fontSize: 15 },
    },
  };
}

/** Render a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Write `<out>.svg` and `<out>.png` (out without extension). */
export async function writePlot(spec: Record<string, unknown>, outBase: string): Promise<{ svg: string; png: string }> {
  const svgText = await renderSvg(spec);
  const svg = `${outBase}.svg`;
  const png = `${outBase}.png`;
  writeFileSync(svg, svgText);
  await sharp(Buffer.from(svgText), { density: 192 }).png().toFile(png);
  return { svg, png };
}
