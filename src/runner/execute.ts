/**
 * The scheduler: runs a loaded pipeline's nodes as soon as their inputs are
 * ready, at most `jobs` at a time (p-queue). Each node is looked up in the
 * cache by key; a miss takes the key's lock, computes into a staging
 * directory and commits. A failed node skips its descendants while the
 * other branches finish. On abort (Ctrl-C) queued nodes are skipped, running
 * ones are told through their AbortSignal and abandoned, and their staging
 * directories removed.
 *
 * Known shortcomings: a node waiting for another process's lock holds one
 * of the `-j` slots while it waits; a node that ignores its AbortSignal keeps
 * running in the background until the process exits (its output is
 * discarded either way).
 */
import { mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { Cache } from './cache.ts';
import { diffIngredients, type RunIndex } from './explain.ts';
import { ingredientsOf, keyOf, withContent, type KeyIngredients } from './key.ts';
import type { Pipeline } from './load.ts';
import { acquireLock } from './lock.ts';
import type { RunLog } from './record.ts';
import type { NodeRecord, Reporter } from './report.ts';
import type { Artifact, NodeContext, NodeResult, RuntimeOptions } from './types.ts';
import { portNodes, type PipelineNode } from './validate.ts';

export interface ExecOptions {
  cache: Cache;
  runtime: RuntimeOptions;
  /** Node ids to recompute even when cached. */
  force: Set<string>;
  reporter: Reporter;
  log: RunLog;
  signal: AbortSignal;
  prevIndex?: RunIndex;
  /** Where volatile nodes write their (never cached) outputs during this run. */
  scratch: string;
}

export interface NodeOutcome {
  rec: NodeRecord;
  /** Output directory by port (ran or cached nodes only). */
  dirs: Record<string, string>;
  ingredients?: KeyIngredients;
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Keys being computed by this process, so equal nodes of one run share one computation. */
const inflight = new Map<string, Promise<unknown>>();

// Peak resident memory of the process so far. Asking the kernel costs a
// syscall; quick nodes (under 50 ms) reuse the last reading.
let lastRss = 0;
let lastRssAt = 0;
const rssMb = (fresh = true) => {
  if (fresh || performance.now() - lastRssAt > 50) {
    lastRss = Math.round(process.resourceUsage().maxRSS / 1024);
    lastRssAt = performance.now();
  }
  return lastRss;
};
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

export async function execute(p: Pipeline, o: ExecOptions): Promise<Map<string, NodeOutcome>> {
  const queue = new PQueue({ concurrency: Math.max(1, o.runtime.jobs) });
  const done = new Map<string, Promise<NodeOutcome>>();
  const outcomes = new Map<string, NodeOutcome>();

  for (const n of p.nodes) {
    const task = (async (): Promise<NodeOutcome> => {
      const ups = await Promise.all(n.deps.map((d) => done.get(d)!));
      const bad = ups.find((u) => u.rec.status === 'failed' || u.rec.status === 'skipped');
      if (bad || o.signal.aborted) {
        return skipped(
          n,
          o.signal.aborted ? 'interrupted' : `upstream ${bad!.rec.id} ${bad!.rec.status}`,
        );
      }
      return (await queue.add(async () => {
        if (o.signal.aborted) return skipped(n, 'interrupted');
        return runNode(n, outcomes, o);
      })) as NodeOutcome;
    })().then((out) => {
      outcomes.set(n.id, out);
      o.log.write(out.rec.status === 'failed' ? 'error' : 'info', {
        node: n.id,
        event: 'node-end',
        ...out.rec,
      });
      o.reporter.nodeEnd(out.rec);
      return out;
    });
    done.set(n.id, task);
  }
  await Promise.all(done.values());
  return outcomes;
}

function skipped(n: PipelineNode, reason: string): NodeOutcome {
  return {
    rec: {
      id: n.id,
      type: n.type.type,
      key: '',
      status: 'skipped',
      reason,
      seconds: 0,
      peakRssMb: rssMb(false),
    },
    dirs: {},
  };
}

function gatherInputs(n: PipelineNode, outcomes: Map<string, NodeOutcome>) {
  const inputs: Record<string, Artifact> = {};
  const inputLists: Record<string, Artifact[]> = {};
  const keys: Record<string, string | string[]> = {};
  const art = (port: string, r: { node: string; port: string }): Artifact => {
    const u = outcomes.get(r.node)!;
    return { kind: n.type.inputs[port].kind, dir: u.dirs[r.port], key: u.rec.key };
  };
  for (const [port, r] of Object.entries(n.inputs)) {
    inputs[port] = art(port, r);
    keys[port] = inputs[port].key;
  }
  for (const [port, list] of Object.entries(n.inputLists)) {
    inputLists[port] = list.map((r) => art(port, r));
    keys[port] = inputLists[port].map((a) => a.key);
  }
  return { inputs, inputLists, keys };
}

async function runNode(
  n: PipelineNode,
  outcomes: Map<string, NodeOutcome>,
  o: ExecOptions,
): Promise<NodeOutcome> {
  const t0 = performance.now();
  const rec: NodeRecord = {
    id: n.id,
    type: n.type.type,
    key: '',
    status: 'ran',
    reason: '',
    seconds: 0,
    peakRssMb: 0,
  };
  const finish = (
    status: NodeRecord['status'],
    reason: string,
    dirs: Record<string, string>,
    ing?: KeyIngredients,
    summary?: string,
  ): NodeOutcome => {
    rec.status = status;
    rec.reason = reason;
    rec.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    rec.peakRssMb = rssMb(status === 'ran' && rec.seconds >= 0.05);
    if (summary) rec.summary = summary;
    return { rec, dirs, ingredients: ing };
  };
  const ports = Object.keys(n.type.outputs);
  const { inputs, inputLists, keys } = gatherInputs(n, outcomes);
  let ing: KeyIngredients | undefined;
  try {
    ing = await ingredientsOf(n.type, n.params, o.runtime, keys);

    if (n.type.volatile) {
      // Volatile: always run, outside the cache; the key comes from the content.
      const base = join(o.scratch, n.id);
      const outputs = Object.fromEntries(ports.map((p) => [p, join(base, 'out', p)]));
      for (const d of Object.values(outputs)) await mkdir(d, { recursive: true });
      const tmpDir = join(base, 'tmp');
      const result = await invoke(n, { inputs, inputLists, outputs, tmpDir, key: keyOf(ing) }, o);
      await rm(tmpDir, { recursive: true, force: true });
      ing = withContent(ing, result?.contentKey);
      rec.key = keyOf(ing);
      const prev = o.prevIndex?.nodes[n.id];
      const same = prev
        ? prev.key === rec.key
          ? 'content unchanged'
          : 'content changed'
        : 'first run';
      return finish(
        'ran',
        `volatile: lists its input every run (${same})`,
        outputs,
        ing,
        result?.summary,
      );
    }

    rec.key = keyOf(ing);
    const forced = o.force.has(n.id);
    const dirsOf = () => Object.fromEntries(ports.map((p) => [p, o.cache.portDir(rec.key, p)]));
    let damaged: string | undefined;
    if (!forced) {
      const look = await o.cache.lookup(rec.key);
      if (look.state === 'hit')
        return finish('cached', 'in cache', dirsOf(), ing, look.manifest.summary);
      if (look.state === 'corrupt') damaged = noteDamage(n, rec.key, look.reason, o);
    }

    const flightKey = `${o.cache.dir}\u0000${rec.key}`;
    while (inflight.has(flightKey)) await inflight.get(flightKey)!.catch(() => undefined);
    let release: (() => void) | undefined;
    const work = (async () => {
      release = await acquireLock(o.cache.lockPath(rec.key), {
        signal: o.signal,
        onWait: (holder) =>
          o.reporter.message(`waiting ${n.id}: ${holder} is computing the same key`),
      });
      if (!forced) {
        const look = await o.cache.lookup(rec.key);
        if (look.state === 'hit') return { meanwhile: true, summary: look.manifest.summary };
        if (look.state === 'corrupt') damaged = noteDamage(n, rec.key, look.reason, o);
      }
      const staging = await o.cache.stage(rec.key, ports);
      let result: NodeResult | void;
      try {
        result = await invoke(
          n,
          { inputs, inputLists, outputs: staging.outputs, tmpDir: staging.tmpDir, key: rec.key },
          o,
        );
        await o.cache.commit(
          staging,
          {
            key: rec.key,
            type: n.type.type,
            version: n.type.version,
            node: n.id,
            ingredients: ing,
            ports,
            created: new Date().toISOString(),
            seconds: (performance.now() - t0) / 1000,
            summary: result?.summary,
          },
          forced,
        );
      } catch (e) {
        await o.cache.discard(staging);
        throw e;
      }
      return { meanwhile: false, summary: result?.summary ?? undefined };
    })();
    inflight.set(flightKey, work);
    let r: { meanwhile: boolean; summary?: string };
    try {
      r = await work;
    } finally {
      inflight.delete(flightKey);
      release?.();
    }
    if (r.meanwhile)
      return finish('cached', 'computed meanwhile by another run', dirsOf(), ing, r.summary);
    const why = forced
      ? 'forced (-f)'
      : damaged
        ? `damaged cache entry recomputed (${damaged})`
        : whyRan(n, ing, rec.key, o);
    return finish('ran', why, dirsOf(), ing, r.summary);
  } catch (e) {
    const interrupted = e instanceof Interrupted || o.signal.aborted;
    o.log.write('error', {
      node: n.id,
      event: 'node-error',
      msg: firstLine(e),
      stack: (e as Error)?.stack,
    });
    return finish('failed', interrupted ? 'interrupted' : firstLine(e), {}, ing);
  }
}

function noteDamage(n: PipelineNode, key: string, reason: string, o: ExecOptions): string {
  o.log.write('warn', { node: n.id, event: 'cache-corrupt', key, msg: reason });
  o.reporter.message(
    `warning: cache entry of ${n.id} (${key.slice(0, 12)}) was damaged: ${reason}; evicted, recomputing`,
  );
  return reason;
}

function whyRan(n: PipelineNode, ing: KeyIngredients, key: string, o: ExecOptions): string {
  const prev = o.prevIndex?.nodes[n.id];
  if (!prev) return 'not in cache (no earlier run of this node)';
  if (prev.key === key) return 'not in cache (entry was removed)';
  const fromPort = (port: string) => portNodes(n, port);
  const d = diffIngredients(prev.ingredients, ing, fromPort);
  return d.length ? d.join('; ') : 'new key';
}

async function invoke(
  n: PipelineNode,
  part: Pick<NodeContext, 'inputs' | 'inputLists' | 'outputs' | 'tmpDir' | 'key'>,
  o: ExecOptions,
): Promise<NodeResult | void> {
  o.signal.throwIfAborted();
  let done = 0;
  let total = 0;
  let label: string | undefined;
  const { tmpDir, ...rest } = part;
  let tmpMade = false;
  const ctx = {
    nodeId: n.id,
    params: n.params,
    ...rest,
    // Created on first use: most nodes never need scratch space.
    get tmpDir(): string {
      if (!tmpMade) mkdirSync(tmpDir, { recursive: true });
      tmpMade = true;
      return tmpDir;
    },
    runtime: o.runtime,
    signal: o.signal,
    log: {
      info: (msg: string, fields?: Record<string, unknown>) => {
        o.log.write('info', { node: n.id, msg, ...fields });
        if (o.runtime.verbose) o.reporter.message(`  ${n.id}: ${msg}`);
      },
      warn: (msg: string, fields?: Record<string, unknown>) => {
        o.log.write('warn', { node: n.id, msg, ...fields });
        o.reporter.message(`warning ${n.id}: ${msg}`);
      },
      data: (event: string, fields: Record<string, unknown>) =>
        o.log.write('data', { node: n.id, event, ...fields }),
    },
    progress: {
      total: (t: number, l?: string) => {
        total = t;
        label = l;
        o.reporter.progress(n.id, done, total, label);
      },
      tick: (k = 1) => {
        done += k;
        o.reporter.progress(n.id, done, total, label);
      },
    },
  } satisfies NodeContext;
  o.log.write('info', { node: n.id, event: 'node-start', key: part.key });
  o.reporter.nodeStart(n.id);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Interrupted());
    o.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([n.type.run(ctx), aborted]);
  } finally {
    o.signal.removeEventListener('abort', onAbort!);
  }
}
