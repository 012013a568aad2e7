/**
 * `entroad eval|show|compare|plot`: score maps saved by another tool, and
 * view run records as the paper's tables and sensitivity figures.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { FORMATS, type DatasetFormat } from '../../data/listing.ts';
import { evaluatePredictions } from '../../metrics/evaluate.ts';
import { loadRun, loadSweep, resultsDir, type LoadedRun } from '../../metrics/runs.ts';
import {
  compareTable,
  datasetTable,
  parseMetrics,
  render,
  metricLabel,
  type CompareInput,
} from '../../metrics/tables.ts';
import { plotSpec, sweepSeries, writePlot } from '../../metrics/plot.ts';
import type { MetricName } from '../../metrics/types.ts';
import { METRIC_NAMES } from '../../metrics/aggregate.ts';

type Format = 'text' | 'md' | 'csv' | 'json';

function formatOf(o: { md?: boolean; csv?: boolean; json?: boolean }): Format {
  const set = (['md', 'csv', 'json'] as const).filter((k) => o[k]);
  if (set.length > 1) throw new Error(`choose one of --md, --csv, --json (got ${set.map((s) => `--${s}`).join(' ')})`);
  return set[0] ?? 'text';
}

function num(name: string, min: number, max: number, integer = false) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${v}"`);
    }
    return n;
  };
}

/**
 * Labels of runs: --labels, else the run name; runs sharing a name get the
 * overrides that differ between them (`alpha=0.1`), else their run id.
 */
function runLabels(runs: LoadedRun[], labels?: string): string[] {
  if (labels) {
    const l = labels.split(',').map((s) => s.trim());
    if (l.length !== runs.length) throw new Error(`--labels lists ${l.length} labels for ${runs.length} runs`);
    return l;
  }
  const names = runs.map((r) => r.run?.name ?? r.id);
  return names.map((n, i) => {
    const twins = runs.filter((_, j) => names[j] === n);
    if (twins.length === 1) return n;
    const o = runs[i].run?.overrides ?? {};
    const varying = Object.entries(o).filter(([k, v]) =>
      twins.some((r) => JSON.stringify(r.run?.overrides?.[k]) !== JSON.stringify(v)),
    );
    const desc = varying.map(([k, v]) => `${k.replace(/^params\./, '')}=${JSON.stringify(v)}`).join(' ');
    return desc ? `${n} ${desc}` : runs[i].id;
  });
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score anomaly maps saved by another tool (PNG, .npy or .safetensors, one per image)')
    .requiredOption('--pred <dir>', 'folder of maps, named like the images relative to the dataset root')
    .requiredOption('--dataset <root>', 'benchmark root folder')
    .addOption(new Option('--format <format>', 'benchmark layout').choices([...FORMATS]).makeOptionMandatory())
    .addOption(new Option('--split <split>', 'split to evaluate').choices(['train', 'test']).default('test'))
    .option('--size <n>', 'evaluation size (maps and masks resized to N x N); default: the maps\' size', num('--size', 1, 8192, true))
    .option('--name <name>', 'dataset name in metrics.json (default: the format)')
    .option('--out <file>', 'write metrics.json here')
    .option('--mask-threshold <t>', 'mask pixel is anomalous when its gray value > t', num('--mask-threshold', 0, 65535), 0)
    .option('--fpr-limit <x>', 'FPR limit of both AUPRO variants', num('--fpr-limit', Number.MIN_VALUE, 1), 0.3)
    .addOption(new Option('--connectivity <n>', 'AUPRO region connectivity').choices(['4', '8']).default('8'))
    .option('--md', 'print the table as Markdown')
    .action(async (o) => {
      const file = await evaluatePredictions({
        pred: o.pred,
        dataset: o.dataset,
        format: o.format as DatasetFormat,
        split: o.split,
        size: o.size,
        name: o.name,
        maskThreshold: o.maskThreshold,
        metric: { fprLimit: o.fprLimit, connectivity: Number(o.connectivity) as 4 | 8, zsadSteps: 200 },
        onCategory: (c) => process.stderr.write(`evaluated ${c}\n`),
      });
      if (o.out) {
        writeFileSync(o.out, JSON.stringify(file, null, 2) + '\n');
        process.stderr.write(`wrote ${resolve(o.out)}\n`);
      }
      const t = datasetTable(file, parseMetrics(undefined), `eval of ${o.pred} at ${file.evalSize}x${file.evalSize}`, true);
      process.stdout.write(render(t, o.md ? 'md' : 'text'));
    });

  program
    .command('show')
    .description("a run's metrics as the paper's table: datasets x (image AUROC, AP | pixel AUROC, AUPRO) with an average row")
    .argument('<run>', 'run folder or run id under the results dir')
    .option('--results-dir <dir>', 'results folder (default: ENTROAD_RESULTS_DIR or results/)')
    .option('--metrics <list>', `comma-separated, from ${METRIC_NAMES.join(', ')}`)
    .option('--categories', 'one row per category under each dataset')
    .option('--md', 'Markdown').option('--csv', 'CSV').option('--json', 'JSON (raw values in [0,1])')
    .action((runArg: string, o) => {
      const run = loadRun(runArg, resultsDir(o.resultsDir));
      const title = `${run.run?.name ?? run.id} (${run.id}${run.run?.status ? `, ${run.run.status}` : ''}), ${run.metrics.evalSize}x${run.metrics.evalSize}`;
      const t = datasetTable(run.metrics, parseMetrics(o.metrics), title, !!o.categories);
      process.stdout.write(render(t, formatOf(o)));
    });

  program
    .command('compare')
    .description('several runs side by side (one column group per run), or variants x datasets (--rows runs), with deltas to a baseline')
    .argument('<runs...>', 'run folders or run ids')
    .option('--results-dir <dir>', 'results folder (default: ENTROAD_RESULTS_DIR or results/)')
    .option('--metrics <list>', `comma-separated, from ${METRIC_NAMES.join(', ')}`)
    .option('--labels <list>', 'comma-separated labels, one per run (default: run names)')
    .option('--baseline <run>', 'reference run: every other cell shows its difference to it')
    .addOption(new Option('--rows <what>', 'rows are datasets (one column group per run) or runs (variants)').choices(['datasets', 'runs']).default('datasets'))
    .option('--md', 'Markdown').option('--csv', 'CSV').option('--json', 'JSON (raw values in [0,1])')
    .action((runArgs: string[], o) => {
      const dir = resultsDir(o.resultsDir);
      const runs = runArgs.map((r) => loadRun(r, dir));
      const labels = runLabels(runs, o.labels);
      let baseline: number | undefined;
      if (o.baseline) {
        const b = loadRun(o.baseline, dir);
        baseline = runs.findIndex((r) => r.dir === b.dir);
        if (baseline < 0) {
          runs.unshift(b);
          labels.unshift(`${b.run?.name ?? b.id} (baseline)`);
          baseline = 0;
        }
      }
      const inputs: CompareInput[] = runs.map((r, i) => ({ label: labels[i], metrics: r.metrics }));
      const t = compareTable(inputs, parseMetrics(o.metrics), { rows: o.rows, baseline });
      process.stdout.write(render(t, formatOf(o)));
    });

  program
    .command('plot')
    .description('sensitivity plot of a sweep (SVG and PNG): one metric against one parameter, one line per dataset')
    .argument('<sweep>', 'sweep folder, its sweep.json, or a sweep id under the results dir')
    .requiredOption('--x <param>', 'swept parameter (e.g. params.alpha or alpha)')
    .requiredOption('--y <metric>', `metric, one of ${METRIC_NAMES.join(', ')}`)
    .option('--out <file>', 'output path without extension, or ending in .svg/.png (default: <sweep>/<y>-vs-<x>)')
    .option('--mean', 'add the average over datasets as a line')
    .option('--title <text>', 'plot title')
    .option('--results-dir <dir>', 'results folder (default: ENTROAD_RESULTS_DIR or results/)')
    .action(async (sweepArg: string, o) => {
      const [metric] = parseMetrics(o.y) as MetricName[];
      const dir = resultsDir(o.resultsDir);
      const series = sweepSeries(sweepArg, o.x, metric, dir, !!o.mean);
      for (const s of series.skipped) process.stderr.write(`skipped ${s}\n`);
      const sweepDir = resolve(loadSweep(sweepArg, dir).path, '..');
      const x = String(o.x).replace(/^params\./, '');
      const base = o.out ? String(o.out).replace(/\.(svg|png)$/i, '') : resolve(sweepDir, `${metric}-vs-${x.replace(/[^\w.-]/g, '_')}`);
      const files = await writePlot(plotSpec(series, o.x, metric, o.title), base);
      process.stdout.write(`${metricLabel(metric)} vs ${x}: ${series.points.length} points\nwrote ${files.svg}\nwrote ${files.png}\n`);
    });
}
