/**
 * Reading run records and sweeps for the views (`show`, `compare`, `plot`).
 * A RUN argument is a run folder, a file inside one, or a run id under the
 * results directory (--results-dir, ENTROAD_RESULTS_DIR, default results/).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { MetricsFile } from './types.ts';

/** The fields of run.json the views use (the runner writes more). */
export interface RunInfo {
  runId?: string;
  name?: string;
  status?: string;
  params?: Record<string, unknown>;
  overrides?: Record<string, unknown>;
  pipeline?: string;
}

export interface LoadedRun {
  dir: string;
  id: string;
  run: RunInfo | null;
  metrics: MetricsFile;
}

export interface SweepPoint {
  runId: string;
  dir: string;
  overrides: Record<string, unknown>;
  status: string;
}

export interface SweepFile {
  sweepId: string;
  pipeline?: string;
  points: SweepPoint[];
}

export function resultsDir(option?: string): string {
  return option || process.env.ENTROAD_RESULTS_DIR || 'results';
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readJsonFile<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/** A run folder from a path or a run id. */
export function resolveRunDir(arg: string, results: string): string {
  if (isDir(arg)) return resolve(arg);
  if (existsSync(arg)) return resolve(dirname(arg));
  const under = join(results, arg);
  if (isDir(under)) return resolve(under);
  throw new Error(
    `run "${arg}" not found: neither a folder nor a run id under ${resolve(results)}; ` +
      'pass a run folder (results/<run-id>) or set --results-dir',
  );
}

export function loadRun(arg: string, results: string): LoadedRun {
  const dir = resolveRunDir(arg, results);
  const runPath = join(dir, 'run.json');
  const run = existsSync(runPath) ? readJsonFile<RunInfo>(runPath) : null;
  const metricsPath = join(dir, 'metrics.json');
  if (!existsSync(metricsPath)) {
    const status = run?.status ? ` (run status: ${run.status})` : '';
    throw new Error(
      `${dir} has no metrics.json${status}; only runs whose pipeline has a metrics node ` +
        '(output kind `metrics`) that finished can be shown',
    );
  }
  const metrics = readJsonFile<MetricsFile>(metricsPath);
  if (!metrics || typeof metrics.datasets !== 'object') {
    throw new Error(`${metricsPath}: not a metrics.json (no "datasets" object)`);
  }
  return { dir, id: run?.runId ?? basename(dir), run, metrics };
}

/** A sweep from its folder, its sweep.json or its id under the results dir. */
export function loadSweep(arg: string, results: string): { file: SweepFile; path: string } {
  let path = arg;
  if (isDir(arg)) path = join(arg, 'sweep.json');
  else if (!existsSync(arg)) path = join(results, arg, 'sweep.json');
  if (!existsSync(path)) {
    throw new Error(`sweep "${arg}" not found: expected a sweep folder, a sweep.json or a sweep id under ${resolve(results)}`);
  }
  const file = readJsonFile<SweepFile>(path);
  if (!Array.isArray(file.points)) throw new Error(`${path}: not a sweep.json (no "points" list)`);
  return { file, path: resolve(path) };
}

/** A sweep point's run folder: as written, or next to the sweep folder. */
export function pointDir(point: SweepPoint, sweepPath: string, results: string): string | null {
  const sweepDir = dirname(sweepPath);
  const candidates = isAbsolute(point.dir)
    ? [point.dir]
    : [resolve(point.dir), join(dirname(sweepDir), basename(point.dir)), join(results, basename(point.dir)), join(sweepDir, point.dir)];
  if (point.runId) candidates.push(join(dirname(sweepDir), point.runId), join(results, point.runId));
  return candidates.find(isDir) ?? null;
}

/** The value of sweep parameter `param` in a point: exact override key, a key ending in `.param`, or run params. */
export function paramValue(param: string, overrides: Record<string, unknown>, run: RunInfo | null): unknown {
  if (param in overrides) return overrides[param];
  const keys = Object.keys(overrides).filter((k) => k.endsWith(`.${param}`) || k === `params.${param}`);
  if (keys.length === 1) return overrides[keys[0]];
  if (keys.length > 1) throw new Error(`--x ${param} is ambiguous: the sweep sets ${keys.join(', ')}; pass one of them`);
  const bare = param.replace(/^params\./, '');
  if (run?.params && bare in run.params) return run.params[bare];
  return undefined;
}
