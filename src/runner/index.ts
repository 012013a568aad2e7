/**
 * The runner's programmatic API (used by the CLI, `entroad verify` and the
 * tests). Load a pipeline, plan it, run it (or each point of its sweep).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline, type LoadOptions, type Pipeline } from './load.ts';
import { parseSetFlag, type Override } from './overrides.ts';
import { defaultResultsDir } from './record.ts';
import { planLoaded, runLoaded, type PlanEntry, type RunOptions, type RunResult } from './run.ts';
import { cliSweep, type SweepPoint } from './sweep.ts';
import { randomBytes } from 'node:crypto';
import { defaultCacheDir } from './cache.ts';
import { diffIngredients, readIndex } from './explain.ts';
import { canonical } from './key.ts';
import { portNodes } from './validate.ts';

export { loadPipeline, type Pipeline, type LoadOptions } from './load.ts';
export { PipelineError, formatDiagnostic, type Diagnostic } from './errors.ts';
export { Cache, defaultCacheDir } from './cache.ts';
export { defaultResultsDir, type RunJson } from './record.ts';
export { ConsoleReporter, formatSeconds, silentReporter, type NodeRecord, type Reporter } from './report.ts';
export { planLoaded, runLoaded, type PlanEntry, type RunOptions, type RunResult } from './run.ts';
export type { Override } from './overrides.ts';

/** `-S` strings (`path=value`) or already parsed overrides. */
export type OverridesIn = (string | Override)[];

export function toOverrides(list: OverridesIn = [], flag = '--set'): Override[] {
  return list.map((o) => (typeof o === 'string' ? parseSetFlag(o, flag) : o));
}

export interface PipelineRunOptions extends RunOptions {
  overrides?: OverridesIn;
}

/** Plan without running (`run --dry-run`, `dag`). */
export async function planRun(
  file: string,
  opts: PipelineRunOptions = {},
): Promise<{ pipeline: Pipeline; plan: PlanEntry[] }> {
  const pipeline = await loadPipeline(file, { overrides: toOverrides(opts.overrides) });
  return { pipeline, plan: await planLoaded(pipeline, opts) };
}

/** Load and run one pipeline (its `sweep:` block, if any, is ignored: see runSweep). */
export async function runPipeline(file: string, opts: PipelineRunOptions = {}): Promise<RunResult> {
  const pipeline = await loadPipeline(file, { overrides: toOverrides(opts.overrides) });
  return runLoaded(pipeline, opts);
}

export interface SweepResult {
  sweepId: string;
  dir: string;
  status: 'ok' | 'failed' | 'interrupted';
  points: (RunResult & { overrides: Record<string, unknown> })[];
  /** Points whose every node key equals the first point's: the swept value reached no node. */
  identical: number[];
}

export interface SweepOptions extends PipelineRunOptions {
  /** `--sweep path=v1,v2` / `path=start:stop:step` axes; replace the file's sweep. */
  sweep?: string[];
}

/**
 * Run every point of the sweep (the file's `sweep:` block, or `--sweep`
 * axes), one after another; equal nodes across points come from the cache.
 */
export async function runSweep(file: string, opts: SweepOptions = {}): Promise<SweepResult> {
  const base = toOverrides(opts.overrides);
  const first = await loadPipeline(file, { overrides: base });
  const points: SweepPoint[] = opts.sweep?.length ? cliSweep(opts.sweep) : first.sweep;
  const sweepId = `${first.name}-sweep-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;
  const resultsDir = opts.resultsDir ?? defaultResultsDir();
  // Every point is validated before the first one runs: a typo in point 7
  // should not surface after six hours of work.
  const loaded: Pipeline[] = [];
  for (const pt of points.length ? points : [[]])
    loaded.push(await loadPipeline(file, { overrides: [...base, ...pt] }));

  const results: SweepResult['points'] = [];
  for (const p of loaded) {
    if (opts.signal?.aborted) break;
    const r = await runLoaded(p, { ...opts, resultsDir, sweepId });
    results.push({ ...r, overrides: p.overrides });
    if (r.status === 'interrupted') break;
  }
  const status =
    results.some((r) => r.status === 'interrupted') || results.length < loaded.length
      ? 'interrupted'
      : results.some((r) => r.status === 'failed')
        ? 'failed'
        : 'ok';
  // A point whose keys all equal the first point's computed nothing new:
  // its override reached no node (e.g. alpha while the domain prior decides).
  const keysOf = (r: RunResult) => canonical(Object.fromEntries(r.nodes.map((n) => [n.id, n.key])));
  const identical = results.length > 1
    ? results.slice(1).flatMap((r, i) => (keysOf(r) === keysOf(results[0]) ? [i + 1] : []))
    : [];
  const dir = join(resultsDir, sweepId);
  mkdirSync(dir, { recursive: true });
  const sweepJson = {
    sweepId,
    pipeline: file,
    status,
    points: results.map((r) => ({
      runId: r.runId,
      dir: r.dir,
      overrides: r.overrides,
      status: r.status,
    })),
  };
  writeFileSync(join(dir, 'sweep.json'), JSON.stringify(sweepJson, null, 2) + '\n');
  return { sweepId, dir, status, points: results, identical };
}

export { listEntries, verifyEntries, gcCache, formatBytes } from './cache-admin.ts';
export { renderDag, type DagFormat } from './dag.ts';

/**
 * `entroad explain`: why `nodeId` would re-run, ingredient by ingredient,
 * compared with the last run of this pipeline recorded in the cache; an
 * input that changed is followed upstream to the ingredient that moved.
 */
export async function explainNode(
  file: string,
  nodeId: string,
  opts: PipelineRunOptions = {},
): Promise<string[]> {
  const { pipeline, plan } = await planRun(file, opts);
  if (!pipeline.byId.has(nodeId)) {
    throw new Error(
      `no node "${nodeId}" in ${file} (nodes: ${[...pipeline.byId.keys()].join(', ')})`,
    );
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const prev = await readIndex(cacheDir, pipeline.name);
  const byId = new Map(plan.map((e) => [e.id, e]));
  const lines: string[] = [];

  const visit = (id: string, depth: number): void => {
    const pad = '  '.repeat(depth);
    const e = byId.get(id)!;
    const last = prev?.nodes[id];
    const head = `${pad}${id} (${e.type})`;
    if (e.state === 'volatile') {
      lines.push(
        `${head}: volatile - lists its input on every run; its key follows the content${last ? ` (last key ${last.key.slice(0, 12)})` : ''}`,
      );
      return;
    }
    if (!e.ingredients || !e.key) {
      lines.push(`${head}: key unknown until its volatile upstream has run once`);
      return;
    }
    const state = e.state === 'cached' ? 'in cache' : 'not in cache';
    if (!last) {
      lines.push(
        `${head}: key ${e.key.slice(0, 12)} (${state}); no earlier run of this node recorded in ${cacheDir}`,
      );
      return;
    }
    if (last.key === e.key) {
      lines.push(
        `${head}: key ${e.key.slice(0, 12)} unchanged since the run of ${last.at} (${state})`,
      );
      return;
    }
    lines.push(
      `${head}: key ${last.key.slice(0, 12)} -> ${e.key.slice(0, 12)} (${state}); since the run of ${last.at}:`,
    );
    const n = pipeline.byId.get(id)!;
    const fromPort = (port: string) => portNodes(n, port);
    for (const d of diffIngredients(last.ingredients, e.ingredients, fromPort))
      lines.push(`${pad}  - ${d}`);
    for (const [port, v] of Object.entries(e.ingredients.inputs)) {
      if (canonical(v) === canonical(last.ingredients.inputs?.[port])) continue;
      const ups = n.inputs[port]
        ? [n.inputs[port].node]
        : (n.inputLists[port] ?? []).map((r) => r.node);
      for (const u of new Set(ups)) visit(u, depth + 2);
    }
  };
  visit(nodeId, 0);
  return lines;
}
