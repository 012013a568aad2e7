/**
 * One run of a loaded pipeline, start to finish: cache and results
 * locations, the tfjs backend (only when a node needs it), the scheduler,
 * Ctrl-C, and the run record. Also the dry-run plan (what would run and why)
 * used by `run -n` and `dag`.
 *
 * Known shortcoming: the plan does not run volatile nodes, so below them it
 * relies on the key of their last run with the same params and inputs (in
 * this pipeline or any other sharing the cache), or says "unknown"; if the
 * listed files changed since, the plan is out of date where the run is not.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Cache, defaultCacheDir } from './cache.ts';
import {
  diffIngredients,
  lastVolatileKey,
  readIndex,
  writeIndex,
  type IndexEntry,
  type RunIndex,
} from './explain.ts';
import { execute } from './execute.ts';
import { canonical, ingredientsOf, keyOf, type KeyIngredients } from './key.ts';
import type { Pipeline } from './load.ts';
import {
  defaultResultsDir,
  gitCommit,
  uncommittedSources,
  newRunId,
  packageVersion,
  RunDir,
  type RunJson,
  type RunStatus,
} from './record.ts';
import { silentReporter, type NodeRecord, type Reporter } from './report.ts';
import type { RuntimeOptions } from './types.ts';
import { portNodes } from './validate.ts';

export interface RunOptions {
  cacheDir?: string;
  resultsDir?: string;
  /** Max concurrent nodes (default 1). */
  jobs?: number;
  /** Node ids to recompute (their descendants are recomputed too). */
  force?: string[];
  /** tfjs backend: auto | wasm | tensorflow | cpu (default auto). */
  backend?: string;
  engine?: string;
  workers?: number;
  verbose?: boolean;
  reporter?: Reporter;
  /** Stop the run (as Ctrl-C does). */
  signal?: AbortSignal;
  /** Install a SIGINT handler that interrupts the run (the CLI sets it). */
  handleSigint?: boolean;
  sweepId?: string;
}

export interface RunResult {
  runId: string;
  dir: string;
  status: RunStatus;
  nodes: NodeRecord[];
}

/** Runtime settings; initialises tfjs only when a node of the plan needs it. */
export async function makeRuntime(p: Pipeline, opts: RunOptions): Promise<RuntimeOptions> {
  // Heavy nodes are the tensor nodes; a light node can still ask with needsTf.
  const needsTf = p.nodes.some((n) => n.type.needsTf ?? n.type.heavy);
  let backend = 'none';
  if (needsTf) {
    const { initTf } = await import('../clip/backend.ts');
    backend = await initTf(opts.backend ?? process.env.ENTROAD_BACKEND ?? 'auto');
  }
  return {
    backend,
    engine: opts.engine ?? 'tfjs',
    jobs: Math.max(1, opts.jobs ?? 1),
    workers: Math.max(1, opts.workers ?? availableParallelism()),
    verbose: Boolean(opts.verbose),
  };
}

/** `force` plus every node downstream of one of them. */
export function withDescendants(p: Pipeline, ids: string[]): Set<string> {
  for (const id of ids) {
    if (!p.byId.has(id))
      throw new Error(
        `--force ${id}: no node "${id}" in ${p.file} (nodes: ${[...p.byId.keys()].join(', ')})`,
      );
  }
  const out = new Set(ids);
  for (const n of p.nodes) if (n.deps.some((d) => out.has(d))) out.add(n.id);
  return out;
}

export async function runLoaded(p: Pipeline, opts: RunOptions = {}): Promise<RunResult> {
  const start = new Date();
  const cache = new Cache(opts.cacheDir ?? defaultCacheDir());
  await cache.init();
  await cache.cleanStaging();
  const force = withDescendants(p, opts.force ?? []);
  const runtime = await makeRuntime(p, opts);
  const reporter = opts.reporter ?? silentReporter;

  const runId = newRunId(p.name, start);
  const rd = new RunDir(opts.resultsDir ?? defaultResultsDir(), runId);
  rd.writeResolved(p.resolved);
  const dirty = uncommittedSources();
  rd.log.write('info', {
    event: 'run-start',
    gitDirty: dirty,
    runId,
    pipeline: p.file,
    overrides: p.overrides,
    backend: runtime.backend,
  });

  const controller = new AbortController();
  const onOuter = () => controller.abort();
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  if (opts.signal?.aborted) controller.abort();
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130); // second Ctrl-C: leave now; staging is cleaned next run
    reporter.message('interrupted: stopping (Ctrl-C again to quit at once)');
    controller.abort();
  };
  if (opts.handleSigint) process.on('SIGINT', onSigint);

  const scratch = join(
    cache.dir,
    'staging',
    `run-${runId}.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`,
  );
  const prevIndex = await readIndex(cache.dir, p.name);
  let outcomes;
  try {
    outcomes = await execute(p, {
      cache,
      runtime,
      force,
      reporter,
      log: rd.log,
      signal: controller.signal,
      prevIndex,
      scratch,
    });
  } finally {
    if (opts.handleSigint) process.off('SIGINT', onSigint);
    opts.signal?.removeEventListener('abort', onOuter);
  }

  const nodes = p.nodes.map((n) => outcomes.get(n.id)!.rec);
  const status: RunStatus = controller.signal.aborted
    ? 'interrupted'
    : nodes.some((r) => r.status === 'failed' || r.status === 'skipped')
      ? 'failed'
      : 'ok';

  if (p.metrics) {
    const m = outcomes.get(p.metrics.node)!;
    if (m.rec.status === 'ran' || m.rec.status === 'cached') rd.copyMetrics(m.dirs[p.metrics.port]);
  }
  await rm(scratch, { recursive: true, force: true });

  const index: Record<string, IndexEntry> = {};
  for (const n of p.nodes) {
    const o = outcomes.get(n.id)!;
    if (o.ingredients && (o.rec.status === 'ran' || o.rec.status === 'cached')) {
      index[n.id] = { key: o.rec.key, ingredients: o.ingredients, at: start.toISOString() };
      // A volatile node's key leaves its params out; kept here so a dry run
      // of another pipeline can tell whether it lists the same thing.
      if (n.type.volatile) index[n.id].params = volatileIdentity(n, (id) => outcomes.get(id)?.rec.key);
    }
  }
  await writeIndex(cache.dir, p.name, p.file, index);

  const run: RunJson = {
    runId,
    pipeline: p.file,
    name: p.name,
    status,
    params: p.params,
    overrides: p.overrides,
    nodes,
    backend: runtime.backend,
    engine: runtime.engine,
    packageVersion: packageVersion(),
    gitCommit: gitCommit(),
    ...(dirty.length ? { gitDirty: dirty } : {}),
    start: start.toISOString(),
    end: new Date().toISOString(),
    ...(opts.sweepId ? { sweepId: opts.sweepId } : {}),
  };
  rd.writeRun(run);
  rd.log.write('info', { event: 'run-end', status });
  rd.log.close();
  reporter.close();
  return { runId, dir: rd.dir, status, nodes };
}

export type PlanState = 'cached' | 'run' | 'volatile' | 'unknown';

export interface PlanEntry {
  id: string;
  type: string;
  key?: string;
  state: PlanState;
  reason: string;
  /** Key ingredients as computed now (absent for volatile / unknown). */
  ingredients?: KeyIngredients;
}

/**
 * What `run` would do, without running anything. A volatile node's key is
 * only known after it lists its input; the plan uses the key of its last
 * run (and says so), or marks its descendants unknown when it never ran.
 */
/** What a volatile node lists: its params and its inputs' keys (canonical JSON). */
function volatileIdentity(n: Pipeline['nodes'][number], keyFor: (id: string) => string | undefined): string {
  const inputs: Record<string, unknown> = {};
  for (const [port, r] of Object.entries(n.inputs)) inputs[port] = keyFor(r.node);
  for (const [port, list] of Object.entries(n.inputLists)) inputs[port] = list.map((r) => keyFor(r.node));
  return canonical({ params: n.params, inputs });
}

export async function planLoaded(p: Pipeline, opts: RunOptions = {}): Promise<PlanEntry[]> {
  const cache = new Cache(opts.cacheDir ?? defaultCacheDir());
  const runtime = await makeRuntime(p, opts);
  const force = withDescendants(p, opts.force ?? []);
  const prev: RunIndex | undefined = await readIndex(cache.dir, p.name);
  const keys = new Map<string, string | undefined>();
  const out: PlanEntry[] = [];
  for (const n of p.nodes) {
    const inputKeys: Record<string, string | string[]> = {};
    let known = true;
    for (const [port, r] of Object.entries(n.inputs)) {
      const k = keys.get(r.node);
      if (k === undefined) known = false;
      else inputKeys[port] = k;
    }
    for (const [port, list] of Object.entries(n.inputLists)) {
      const ks = list.map((r) => keys.get(r.node));
      if (ks.some((k) => k === undefined)) known = false;
      else inputKeys[port] = ks as string[];
    }
    const entry: PlanEntry = { id: n.id, type: n.type.type, state: 'unknown', reason: '' };
    if (n.type.volatile) {
      let last = prev?.nodes[n.id]?.key;
      let reason = last ? 'runs every time; key as of its last run' : 'runs every time; never ran, key unknown';
      if (!last && known) {
        // never ran in this pipeline: the same listing in another one (the
        // pipeline an ablation extends) tells its likely key
        const ing = await ingredientsOf(n.type, n.params, runtime, inputKeys);
        const found = await lastVolatileKey(cache.dir, volatileIdentity(n, (id) => keys.get(id)), ing);
        if (found) {
          last = found.key;
          reason = `runs every time; key as of its last run in ${found.pipeline}`;
        }
      }
      keys.set(n.id, last);
      Object.assign(entry, { key: last, state: 'volatile', reason });
    } else if (!known) {
      keys.set(n.id, undefined);
      entry.reason = 'depends on a volatile node that has not run yet';
    } else {
      const ing: KeyIngredients = await ingredientsOf(n.type, n.params, runtime, inputKeys);
      const key = keyOf(ing);
      keys.set(n.id, key);
      entry.key = key;
      entry.ingredients = ing;
      if (force.has(n.id)) Object.assign(entry, { state: 'run', reason: 'forced (-f)' });
      else if (await cache.readManifest(key))
        Object.assign(entry, { state: 'cached', reason: 'in cache' });
      else {
        const last = prev?.nodes[n.id];
        const d =
          last && last.key !== key
            ? diffIngredients(last.ingredients, ing, (port) => portNodes(n, port))
            : [];
        entry.state = 'run';
        entry.reason = d.length ? d.join('; ') : 'not in cache';
      }
    }
    out.push(entry);
  }
  return out;
}
