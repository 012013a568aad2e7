/**
 * `entroad experiment`: run each pipeline of an experiment in turn (they
 * share the cache, so common upstream nodes run once) and print the
 * variants x datasets table with deltas against the baseline (Table 3).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPipeline } from '../runner/index.ts';
import { compareTable, DEFAULT_METRICS, render } from '../metrics/tables.ts';
import type { MetricsFile } from '../metrics/types.ts';
import type { Experiment } from './experiment.ts';

export async function runExperiment(
  exp: Experiment,
  opts: { format: 'text' | 'md' | 'csv' | 'json'; jobs?: number; backend?: string; engine?: string },
): Promise<boolean> {
  const done: { label: string; metrics: MetricsFile; runId: string }[] = [];
  let ok = true;
  for (const r of exp.runs) {
    console.log(`\n== ${exp.name}: ${r.label} (${r.pipeline})`);
    const run = await runPipeline(r.pipeline, {
      overrides: exp.set,
      jobs: opts.jobs,
      backend: opts.backend,
      engine: opts.engine,
      handleSigint: true,
    });
    if (run.status !== 'ok') {
      ok = false;
      console.log(`${r.label}: run ${run.status} (${run.dir})`);
      if (run.status === 'interrupted') break;
      continue;
    }
    const path = join(run.dir, 'metrics.json');
    if (!existsSync(path)) {
      ok = false;
      console.log(`${r.label}: no metrics.json in ${run.dir}`);
      continue;
    }
    done.push({ label: r.label, metrics: JSON.parse(readFileSync(path, 'utf8')), runId: run.runId });
  }
  if (!done.length) return false;
  const baseline = exp.baseline ? done.findIndex((d) => d.label === exp.baseline) : undefined;
  const table = compareTable(done, exp.metrics ?? DEFAULT_METRICS, {
    rows: exp.table === 'variants' ? 'runs' : 'datasets',
    baseline: baseline !== undefined && baseline >= 0 ? baseline : undefined,
  });
  console.log(`\n${render(table, opts.format)}`);
  console.log(`\nruns: ${done.map((d) => `${d.label}=${d.runId}`).join(', ')}`);
  return ok;
}
