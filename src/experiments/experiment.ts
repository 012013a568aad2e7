/**
 * Experiment files (`experiments/*.yaml`): several pipeline runs compared in
 * one table, or one pipeline checked against recorded metrics (`verify`).
 *
 *   name: ablation
 *   runs:                       # label -> pipeline (relative to this file)
 *     full: ../pipelines/entroad.yaml
 *     w/o gating: ../pipelines/ablations/wo-gating.yaml
 *   baseline: full              # deltas against this run
 *   table: variants             # variants x datasets (Table 3) | datasets
 *   metrics: [image_auroc, image_ap, pixel_auroc, aupro]
 *
 *   name: ci                    # a reproducibility check
 *   pipeline: ../pipelines/ci.yaml
 *   set: [params.x=1]           # optional overrides
 *   fixture: ../test/fixtures/ci-cache   # committed cache entries
 *   expect_cached: [bench, aux_features] # nodes the fixture must supply
 *   tolerance: 1.0e-6           # default absolute tolerance
 *   recorded:                   # metric path -> value | {value, tolerance}
 *     medical.mean.image_auroc: 0.8125
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { MetricName } from '../metrics/types.ts';

export interface RecordedValue {
  value: number | null;
  tolerance: number;
}

export interface Experiment {
  file: string;
  name: string;
  runs: { label: string; pipeline: string }[];
  baseline?: string;
  table: 'variants' | 'datasets';
  metrics?: MetricName[];
  pipeline?: string;
  set: string[];
  fixture?: string;
  expectCached: string[];
  tolerance: number;
  recorded: Map<string, RecordedValue>;
}

export class ExperimentError extends Error {}

export function loadExperiment(file: string): Experiment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ExperimentError(`cannot read experiment ${file}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new ExperimentError(`${file}: ${doc.errors[0].message}`);
  const raw = (doc.toJS() ?? {}) as Record<string, any>;
  const here = dirname(resolve(file));
  const rel = (p: string) => resolve(here, p);
  const bad = (what: string) => new ExperimentError(`${file}: ${what}`);

  const runs = Object.entries((raw.runs ?? {}) as Record<string, string>).map(([label, p]) => {
    if (typeof p !== 'string') throw bad(`runs.${label} must be a pipeline path`);
    return { label, pipeline: rel(p) };
  });
  if (!runs.length && !raw.pipeline) throw bad('needs `runs:` (a comparison) or `pipeline:` (a verification)');
  if (raw.baseline !== undefined && !runs.some((r) => r.label === raw.baseline)) {
    throw bad(`baseline "${raw.baseline}" is not one of the runs (${runs.map((r) => r.label).join(', ')})`);
  }
  const tolerance = raw.tolerance ?? 1e-6;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw bad('tolerance must be a number >= 0');

  const recorded = new Map<string, RecordedValue>();
  for (const [path, v] of Object.entries((raw.recorded ?? {}) as Record<string, any>)) {
    const entry = typeof v === 'object' && v !== null ? v : { value: v };
    if (entry.value !== null && typeof entry.value !== 'number') {
      throw bad(`recorded.${path} must be a number, null, or {value, tolerance}`);
    }
    recorded.set(path, { value: entry.value, tolerance: entry.tolerance ?? tolerance });
  }

  return {
    file,
    name: raw.name ?? file,
    runs,
    baseline: raw.baseline,
    table: raw.table === 'datasets' ? 'datasets' : 'variants',
    metrics: raw.metrics,
    pipeline: raw.pipeline ? rel(raw.pipeline) : undefined,
    set: raw.set ?? [],
    fixture: raw.fixture ? rel(raw.fixture) : undefined,
    expectCached: raw.expect_cached ?? [],
    tolerance,
    recorded,
  };
}
