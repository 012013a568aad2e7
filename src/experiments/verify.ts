/**
 * `entroad verify`: re-run a pipeline over a committed cache fixture and
 * compare every metric with its recorded value.
 *
 * The fixture holds the cache entries of the expensive upstream nodes (the
 * generated images and their CLIP features), so CI re-runs only what is
 * cheap (Stage 1, Stage 2, inference, metrics). That those nodes come from
 * the fixture is itself checked: if a code change moves their cache keys,
 * the fixture no longer matches and verify says so, instead of silently
 * recomputing and comparing against numbers from other inputs.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { runPipeline, type RunOptions, type RunResult } from '../runner/index.ts';
import type { MetricsFile, MetricValues } from '../metrics/types.ts';
import type { Experiment, RecordedValue } from './experiment.ts';

export interface VerifyRow {
  path: string;
  recorded: number | null | undefined;
  actual: number | null | undefined;
  tolerance: number;
  ok: boolean;
  note?: string;
}

export interface VerifyResult {
  ok: boolean;
  rows: VerifyRow[];
  problems: string[];
  run: RunResult;
}

/** metrics.json -> { "medical.mean.image_auroc": 0.81, "medical.brain.aupro": null, "mean.image_auroc": ... } */
export function flattenMetrics(m: MetricsFile): Map<string, number | null> {
  const out = new Map<string, number | null>();
  const put = (prefix: string, values: MetricValues) => {
    for (const [k, v] of Object.entries(values)) out.set(`${prefix}.${k}`, v ?? null);
  };
  for (const [ds, d] of Object.entries(m.datasets)) {
    for (const [cat, c] of Object.entries(d.categories)) put(`${ds}.${cat}`, c.values);
    put(`${ds}.mean`, d.mean);
  }
  put('mean', m.mean);
  return out;
}

export function compareMetrics(
  actual: Map<string, number | null>,
  recorded: Map<string, RecordedValue>,
  defaultTolerance: number,
): VerifyRow[] {
  const rows: VerifyRow[] = [];
  for (const [path, rec] of recorded) {
    const a = actual.get(path);
    if (a === undefined) {
      rows.push({ path, recorded: rec.value, actual: undefined, tolerance: rec.tolerance, ok: false, note: 'missing from this run' });
      continue;
    }
    const ok = rec.value === null || a === null ? rec.value === a : Math.abs(a - rec.value) <= rec.tolerance;
    rows.push({ path, recorded: rec.value, actual: a, tolerance: rec.tolerance, ok });
  }
  for (const [path, a] of actual) {
    if (recorded.has(path)) continue;
    rows.push({ path, recorded: undefined, actual: a, tolerance: defaultTolerance, ok: false, note: 'not recorded (run verify --record)' });
  }
  return rows;
}

function entryDir(cacheDir: string, key: string): string {
  return join(cacheDir, 'entries', key.slice(0, 2), key);
}

export async function verifyExperiment(
  exp: Experiment,
  opts: { record?: boolean; keepDir?: boolean } & Pick<RunOptions, 'backend' | 'engine' | 'workers' | 'reporter'> = {},
): Promise<VerifyResult> {
  if (!exp.pipeline) throw new Error(`${exp.file}: verify needs a \`pipeline:\``);
  const work = mkdtempSync(join(tmpdir(), 'entroad-verify-'));
  const cacheDir = join(work, 'cache');
  try {
    if (exp.fixture && existsSync(exp.fixture) && !opts.record) cpSync(exp.fixture, cacheDir, { recursive: true });

    const run = await runPipeline(exp.pipeline, {
      overrides: exp.set,
      cacheDir,
      resultsDir: join(work, 'results'),
      jobs: 1,
      backend: opts.backend,
      engine: opts.engine,
      workers: opts.workers,
      reporter: opts.reporter,
    });
    const problems: string[] = [];
    if (run.status !== 'ok') problems.push(`the pipeline run ${run.status}`);

    const byId = new Map(run.nodes.map((n) => [n.id, n]));
    for (const id of exp.expectCached) {
      const n = byId.get(id);
      if (!n) problems.push(`expect_cached names "${id}", which is not a node of ${exp.pipeline}`);
      else if (!opts.record && n.status !== 'cached') {
        problems.push(
          `node "${id}" was ${n.status === 'ran' ? 'computed' : n.status}, not taken from the fixture: its cache key (${String(n.key).slice(0, 12)}) ` +
            'is not in the fixture, so an ingredient of its key changed; re-record with `entroad verify --record` if that was intended',
        );
      }
    }

    const metricsPath = join(run.dir, 'metrics.json');
    const actual = existsSync(metricsPath)
      ? flattenMetrics(JSON.parse(readFileSync(metricsPath, 'utf8')) as MetricsFile)
      : new Map<string, number | null>();
    if (!existsSync(metricsPath)) problems.push(`the run wrote no metrics.json (${run.dir})`);

    if (opts.record && run.status === 'ok') {
      recordFixture(exp, cacheDir, run);
      recordValues(exp, actual);
      return { ok: true, rows: [], problems, run };
    }
    const rows = compareMetrics(actual, exp.recorded, exp.tolerance);
    return { ok: problems.length === 0 && rows.every((r) => r.ok), rows, problems, run };
  } finally {
    if (!opts.keepDir) rmSync(work, { recursive: true, force: true });
  }
}

/** Replace the fixture with the cache entries of the `expect_cached` nodes. */
function recordFixture(exp: Experiment, cacheDir: string, run: RunResult): void {
  if (!exp.fixture) return;
  rmSync(exp.fixture, { recursive: true, force: true });
  for (const id of exp.expectCached) {
    const n = run.nodes.find((x) => x.id === id);
    if (!n?.key) continue;
    cpSync(entryDir(cacheDir, n.key), entryDir(exp.fixture, n.key), { recursive: true });
  }
}

/** Rewrite `recorded:` in the experiment file, keeping its comments and per-path tolerances. */
function recordValues(exp: Experiment, actual: Map<string, number | null>): void {
  const doc = parseDocument(readFileSync(exp.file, 'utf8'));
  const rec: Record<string, unknown> = {};
  for (const [path, v] of [...actual].sort(([a], [b]) => a.localeCompare(b))) {
    const prev = exp.recorded.get(path);
    const value = v === null ? null : Number(v.toPrecision(9));
    rec[path] = prev && prev.tolerance !== exp.tolerance ? { value, tolerance: prev.tolerance } : value;
  }
  doc.set('recorded', rec);
  writeFileSync(exp.file, doc.toString());
}

const fmt = (v: number | null | undefined) => (v === undefined ? '-' : v === null ? 'null' : v.toFixed(6));

/** The delta table printed by `entroad verify`. */
export function renderVerifyTable(rows: VerifyRow[]): string {
  const header = ['metric', 'recorded', 'actual', 'delta', 'tolerance', ''];
  const body = rows.map((r) => [
    r.path,
    fmt(r.recorded),
    fmt(r.actual),
    typeof r.recorded === 'number' && typeof r.actual === 'number' ? (r.actual - r.recorded).toExponential(2) : '-',
    r.tolerance.toExponential(1),
    r.ok ? 'ok' : `BREACH${r.note ? ` (${r.note})` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
