/**
 * `entroad run | validate | dag | explain | cache`: the pipeline runner's
 * commands. The work is in src/runner; this file only turns flags into
 * options and results into lines and exit codes.
 */
import { Command, Option } from 'commander';
import {
  Cache,
  ConsoleReporter,
  formatSeconds,
  defaultCacheDir,
  explainNode,
  formatBytes,
  gcCache,
  listEntries,
  loadPipeline,
  planLoaded,
  renderDag,
  runLoaded,
  runSweep,
  toOverrides,
  verifyEntries,
  type DagFormat,
  type PlanEntry,
} from '../../runner/index.ts';
import { cliSweep } from '../../runner/sweep.ts';
import { runPaperTables } from '../../metrics/paper-tables.ts';
import { uncommittedSources } from '../../runner/record.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function positiveInt(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`${flag} ${v}: expected a whole number >= 1`);
    return n;
  };
}

interface CommonOpts {
  set?: string[];
  cacheDir?: string;
  resultsDir?: string;
}

const withCommon = (c: Command) =>
  c
    .option(
      '-S, --set <path=value>',
      'override a param (repeatable): params.X=..., <node>.X=...',
      collect,
      [],
    )
    .option('--cache-dir <dir>', 'cache location (default $ENTROAD_CACHE_DIR or .entroad/cache)');

function printPlan(plan: PlanEntry[]): void {
  const w = Math.max(4, ...plan.map((e) => e.id.length));
  for (const e of plan) {
    const what = {
      cached: 'cached',
      run: 'would run',
      volatile: 'runs (volatile)',
      unknown: 'would run?',
    }[e.state];
    process.stdout.write(
      `${what.padEnd(15)} ${e.id.padEnd(w)}  ${(e.key ?? '-').slice(0, 12).padEnd(12)}  (${e.reason})\n`,
    );
  }
  const runs = plan.filter((e) => e.state !== 'cached').length;
  process.stdout.write(`${plan.length} nodes: ${plan.length - runs} cached, ${runs} to run\n`);
}

export function register(program: Command): void {
  withCommon(
    program
      .command('run')
      .description('run a pipeline (or each point of its sweep); cached nodes are reused')
      .argument('<pipeline>', 'pipeline YAML file'),
  )
    .option('-j, --jobs <n>', 'nodes to run at the same time', positiveInt('--jobs'), 1)
    .option('-n, --dry-run', 'show what would run and why, run nothing')
    .option(
      '-f, --force <node>',
      'recompute this node and its descendants (repeatable)',
      collect,
      [],
    )
    .option(
      '--sweep <path=values>',
      "sweep axis: path=v1,v2,v3 or path=start:stop:step (repeatable; replaces the file's sweep)",
      collect,
      [],
    )
    .addOption(
      new Option('--backend <name>', 'tfjs backend')
        .choices(['auto', 'wasm', 'tensorflow', 'cpu'])
        .default(process.env.ENTROAD_BACKEND ?? 'auto'),
    )
    .addOption(
      new Option('--engine <name>', 'frozen-encoder engine')
        .choices(['tfjs', 'onnx'])
        .default('tfjs'),
    )
    .option('--workers <n>', 'worker threads a heavy node may use', positiveInt('--workers'))
    .option(
      '--results-dir <dir>',
      'run records location (default $ENTROAD_RESULTS_DIR or results/)',
    )
    .option('--verbose', 'say why each node re-ran; show node messages')
    .action(async (file: string, o: CommonOpts & Record<string, any>) => {
      const opts = {
        overrides: toOverrides(o.set),
        cacheDir: o.cacheDir,
        resultsDir: o.resultsDir,
        jobs: o.jobs,
        force: o.force,
        backend: o.backend,
        engine: o.engine,
        workers: o.workers,
        verbose: Boolean(o.verbose),
      };
      const p = await loadPipeline(file, { overrides: opts.overrides });
      if (o.dryRun) {
        const points = o.sweep.length ? cliSweep(o.sweep) : p.sweep;
        if (!points.length) {
          printPlan(await planLoaded(p, opts));
          return;
        }
        for (const [i, pt] of points.entries()) {
          const q = await loadPipeline(file, { overrides: [...opts.overrides, ...pt] });
          process.stdout.write(
            `sweep point ${i + 1}/${points.length}: ${JSON.stringify(q.overrides)}\n`,
          );
          printPlan(await planLoaded(q, opts));
        }
        return;
      }
      const dirty = uncommittedSources();
      if (dirty.length) {
        process.stderr.write(
          `warning: uncommitted changes in ${dirty.slice(0, 3).join(', ')}${dirty.length > 3 ? ` and ${dirty.length - 3} more` : ''}; ` +
            'cached entries of a changed node type are reused unless its version is bumped (or use -f NODE)\n',
        );
      }
      const width = Math.max(8, ...p.nodes.map((n) => n.id.length));
      const reporter = new ConsoleReporter(width, process.stdout, opts.verbose);
      if (o.sweep.length || p.sweep.length) {
        const s = await runSweep(file, { ...opts, sweep: o.sweep, reporter, handleSigint: true });
        for (const pt of s.points)
          process.stdout.write(
            `${pt.status.padEnd(11)} ${pt.dir}  ${JSON.stringify(pt.overrides)}\n`,
          );
        process.stdout.write(`sweep ${s.status}: ${s.points.length} runs, ${s.dir}/sweep.json\n`);
        if (s.identical.length) {
          process.stderr.write(
            `warning: sweep point(s) ${s.identical.map((i) => i + 1).join(', ')} computed exactly the nodes of point 1: ` +
              'the swept value reaches no node (is it overridden, e.g. alpha/beta while domain_prior is true?)\n',
          );
        }
        process.exitCode = s.status === 'ok' ? 0 : s.status === 'interrupted' ? 130 : 1;
        return;
      }
      const r = await runLoaded(p, { ...opts, reporter, handleSigint: true });
      const count = (s: string) => r.nodes.filter((n) => n.status === s).length;
      const slowest = r.nodes
        .filter((n) => n.status === 'ran' && n.seconds >= 1)
        .sort((a, b) => b.seconds - a.seconds)
        .slice(0, 5);
      if (slowest.length) {
        process.stdout.write('slowest nodes:\n');
        for (const n of slowest) {
          process.stdout.write(
            `  ${n.id.padEnd(width)} ${formatSeconds(n.seconds).padStart(7)}  ${String(n.peakRssMb).padStart(6)} MB peak RSS\n`,
          );
        }
      }
      process.stdout.write(
        `${r.status}: ${count('ran')} ran, ${count('cached')} cached, ${count('failed')} failed, ${count('skipped')} skipped -> ${r.dir}\n`,
      );
      const tables = runPaperTables(r.dir, p.name);
      if (tables) process.stdout.write(`\n${tables}\n`);
      process.exitCode = r.status === 'ok' ? 0 : r.status === 'interrupted' ? 130 : 1;
    });

  withCommon(
    program
      .command('validate')
      .description('check a pipeline: YAML, types, params, ports, cycles')
      .argument('<pipeline>', 'pipeline YAML file'),
  ).action(async (file: string, o: CommonOpts) => {
    const base = toOverrides(o.set);
    const p = await loadPipeline(file, { overrides: base });
    // Every sweep point is checked too: a typo in point 7 must not wait
    // for six runs to finish before it shows.
    for (const pt of p.sweep) await loadPipeline(file, { overrides: [...base, ...pt] });
    const sweep = p.sweep.length ? `, sweep of ${p.sweep.length} points` : '';
    process.stdout.write(`${file}: ok (${p.nodes.length} nodes${sweep})\n`);
  });

  withCommon(
    program
      .command('dag')
      .description('print the pipeline graph with cached/stale per node')
      .argument('<pipeline>', 'pipeline YAML file'),
  )
    .addOption(
      new Option('--format <f>', 'output format')
        .choices(['text', 'mermaid', 'dot'])
        .default('text'),
    )
    .action(async (file: string, o: CommonOpts & { format: DagFormat }) => {
      const p = await loadPipeline(file, { overrides: toOverrides(o.set) });
      const plan = await planLoaded(p, { cacheDir: o.cacheDir });
      process.stdout.write(renderDag(p, plan, o.format) + '\n');
    });

  withCommon(
    program
      .command('explain')
      .description("say which ingredient of a node's cache key changed since the last run")
      .argument('<pipeline>', 'pipeline YAML file')
      .argument('<node>', 'node id'),
  ).action(async (file: string, node: string, o: CommonOpts) => {
    const lines = await explainNode(file, node, {
      overrides: toOverrides(o.set),
      cacheDir: o.cacheDir,
    });
    process.stdout.write(lines.join('\n') + '\n');
  });

  const cache = program.command('cache').description('inspect and clean the node cache');
  const dirOpt = (c: Command) =>
    c.option('--cache-dir <dir>', 'cache location (default $ENTROAD_CACHE_DIR or .entroad/cache)');
  const open = (o: { cacheDir?: string }) => new Cache(o.cacheDir ?? defaultCacheDir());

  dirOpt(cache.command('ls').description('list cache entries')).action(
    async (o: { cacheDir?: string }) => {
      const entries = await listEntries(open(o));
      for (const e of entries) {
        process.stdout.write(
          `${e.key.slice(0, 12)}  ${e.type.padEnd(20)} ${e.node.padEnd(16)} ${formatBytes(e.bytes).padStart(9)}  ${e.created}${e.summary ? '  ' + e.summary : ''}\n`,
        );
      }
      const total = entries.reduce((a, e) => a + e.bytes, 0);
      process.stdout.write(`${entries.length} entries, ${formatBytes(total)} in ${open(o).dir}\n`);
    },
  );

  dirOpt(cache.command('verify').description('re-hash every entry; damaged ones are evicted'))
    .option('--keep', 'report damaged entries without evicting them')
    .action(async (o: { cacheDir?: string; keep?: boolean }) => {
      const r = await verifyEntries(open(o), !o.keep);
      for (const d of r.damaged) {
        process.stdout.write(
          `damaged ${d.key.slice(0, 12)}: ${d.reason}${o.keep ? '' : ' (evicted)'}\n`,
        );
      }
      process.stdout.write(`${r.ok} ok, ${r.damaged.length} damaged\n`);
      if (r.damaged.length) process.exitCode = 1;
    });

  dirOpt(
    cache
      .command('gc')
      .description('remove leftovers of killed runs; optionally old or all entries'),
  )
    .option('--older-than <days>', 'also remove entries not used for this many days', Number)
    .option('--all', 'remove every entry')
    .action(async (o: { cacheDir?: string; olderThan?: number; all?: boolean }) => {
      const r = await gcCache(open(o), { olderThanDays: o.olderThan, all: o.all });
      process.stdout.write(
        `removed ${r.staging} staging dirs, ${r.locks} stale locks, ${r.entries} entries (${formatBytes(r.bytes)})\n`,
      );
    });
}
