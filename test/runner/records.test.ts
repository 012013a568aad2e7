/**
 * What a run leaves behind (results/<run-id>/ as the metrics views read it)
 * and the commands a user types: run, validate, dag, explain, cache.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { NODES, REPO, sandbox } from './fixtures/helpers.ts';
import { Cache, runPipeline } from '../../src/runner/index.ts';
import { buildProgram } from '../../src/cli/main.ts';

const sb = sandbox();
const file = sb.write(
  'rec.yaml',
  `
name: rec
params: { word: hi }
nodes:
  a: { type: t-write, params: { text: "\${word}" } }
  b: { type: t-write, inputs: { src: a.out } }
  m: { type: t-metrics, inputs: { parts: [a.out, b.out] }, params: { score: 0.75 } }
`,
);

/** Run the CLI in this process; returns what it printed and the exit code. */
async function cli(...args: string[]): Promise<{ out: string; code: number }> {
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.exitCode = 0;
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'entroad', ...args]);
  } finally {
    process.stdout.write = write;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, code };
}

const dirs = ['--cache-dir', sb.cacheDir];

t.test('a run record: run.json, pipeline.resolved.yaml, metrics.json, log.jsonl', async (t) => {
  const r = await runPipeline(file, {
    cacheDir: sb.cacheDir,
    resultsDir: sb.resultsDir,
    overrides: ['params.word=yo'],
  });
  t.match(r.runId, /^rec-\d{8}-\d{6}-[0-9a-f]{4}$/);
  t.same(readdirSync(r.dir).sort(), [
    'log.jsonl',
    'metrics.json',
    'pipeline.resolved.yaml',
    'run.json',
  ]);
  const run = JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8'));
  t.match(run, {
    runId: r.runId,
    pipeline: file,
    name: 'rec',
    status: 'ok',
    params: { word: 'yo' },
    overrides: { 'params.word': 'yo' },
    backend: 'none',
    engine: 'tfjs',
    packageVersion: JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version,
  });
  t.equal(run.nodes.length, 3);
  for (const n of run.nodes) {
    t.match(n, {
      id: String,
      type: String,
      key: /^[0-9a-f]{64}$/,
      status: 'ran',
      reason: String,
      seconds: Number,
      peakRssMb: Number,
    });
  }
  t.ok(Date.parse(run.start) <= Date.parse(run.end));

  const resolved = parse(readFileSync(join(r.dir, 'pipeline.resolved.yaml'), 'utf8'));
  t.same(
    resolved.nodes.a.params,
    { text: 'yo', n: 1, flag: false, layers: [6], mode: 'a' },
    'defaults applied, refs resolved',
  );

  const metrics = JSON.parse(readFileSync(join(r.dir, 'metrics.json'), 'utf8'));
  t.same(metrics.mean, { image_auroc: 0.75 });

  const log = readFileSync(join(r.dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(log[0].event, 'run-start');
  t.equal(log.at(-1).event, 'run-end');
  t.equal(log.filter((e) => e.event === 'node-end').length, 3);
  t.ok(log.every((e) => typeof e.t === 'string' && typeof e.level === 'string'));
});

t.test('validate, dag, run --dry-run, explain and cache commands', async (t) => {
  t.equal((await cli('validate', file)).out, `${file}: ok (3 nodes)\n`);

  const dag = await cli('dag', file, ...dirs, '-S', 'params.word=yo', '-S', 'b.text=new');
  t.equal(
    dag.out,
    [
      'a  cached   t-write',
      'b  stale    t-write  <- a.out',
      'm  stale    t-metrics  <- a.out, b.out',
      '',
    ].join('\n'),
  );
  t.match(
    (await cli('dag', file, ...dirs, '-S', 'params.word=yo', '--format', 'mermaid')).out,
    /flowchart TD\n {2}a\["a<br\/><small>t-write<\/small>"\]:::cached/,
  );
  t.match(
    (await cli('dag', file, ...dirs, '--format', 'dot')).out,
    /"a" -> "b" \[label="out -> src"\];/,
  );

  const dry = await cli('run', file, ...dirs, '-n', '-S', 'params.word=hey');
  t.match(dry.out, /^would run\s+a\s+[0-9a-f]{12}\s+\(param text "yo" -> "hey"\)$/m);
  t.match(dry.out, /3 nodes: 0 cached, 3 to run/);

  const ex = await cli('explain', file, 'b', ...dirs);
  t.equal(
    ex.out
      .split('\n')
      .map((l) => l.replace(/[0-9a-f]{12}/g, 'K').replace(/run of [\dT:.-]+Z/, 'run of T'))
      .join('\n'),
    [
      'b (t-write): key K -> K (not in cache); since the run of T:',
      '  - input src changed (upstream node a has a new key)',
      '    a (t-write): key K -> K (not in cache); since the run of T:',
      '      - param text "yo" -> "hi"',
      '',
    ].join('\n'),
  );

  const run = await cli('run', file, ...dirs, '--results-dir', sb.resultsDir, '--verbose');
  t.equal(run.code, 0);
  t.match(run.out, /^ran\s+a\s+\S+\s+\(param text "yo" -> "hi"\)/m);
  t.match(run.out, /^ok: 3 ran, 0 cached, 0 failed, 0 skipped -> /m);

  const ls = await cli('cache', 'ls', ...dirs);
  t.match(ls.out, /^6 entries, /m);
  const cache = new Cache(sb.cacheDir);
  const victim = (await cache.keys())[0];
  const f = join(cache.entryDir(victim), 'manifest.json');
  const m = JSON.parse(readFileSync(f, 'utf8'));
  const first = Object.keys(m.files)[0];
  writeFileSync(join(cache.entryDir(victim), first), 'tampered, longer than the original');
  const verify = await cli('cache', 'verify', ...dirs);
  t.equal(verify.code, 1);
  t.match(
    verify.out,
    new RegExp(
      `^damaged ${victim.slice(0, 12)}: ${first}: size 34, manifest says \\d+ \\(evicted\\)\\n5 ok, 1 damaged\\n$`,
    ),
  );
  t.equal(
    (await cli('cache', 'gc', ...dirs)).out,
    'removed 0 staging dirs, 0 stale locks, 0 entries (0 B)\n',
  );
  t.match((await cli('cache', 'gc', '--all', ...dirs)).out, /, 5 entries \(/);
});

t.test('the CLI exits non-zero when a node fails, after the other branches finish', async (t) => {
  const bad = sb.write(
    'bad.yaml',
    `
nodes:
  ok1: { type: t-write, params: { text: fine } }
  boom: { type: t-fail }
`,
  );
  const r = spawnSync(
    process.execPath,
    [join(REPO, 'bin/entroad.mjs'), 'run', bad, ...dirs, '--results-dir', sb.resultsDir],
    {
      env: { ...process.env, ENTROAD_BUILTIN_NODES: '0', ENTROAD_EXTRA_NODES: NODES, CI: '1' },
      encoding: 'utf8',
    },
  );
  t.equal(r.status, 1);
  t.match(r.stdout, /^ran\s+ok1 /m);
  t.match(r.stdout, /^failed\s+boom\s+\S+\s+\(simulated failure after writing half\.txt\)/m);
  t.match(r.stdout, /^failed: 1 ran, 0 cached, 1 failed, 0 skipped/m);
});

t.test('tfjs is initialised only when a node needs it, and the backend is recorded', async (t) => {
  const { registerNodeType } = await import('../../src/nodes/index.ts');
  let seen = '';
  registerNodeType({
    type: 't-tf',
    version: '1',
    description: 'needs tfjs; its numbers depend on the backend',
    needsTf: true,
    params: { type: 'object', properties: {}, additionalProperties: false },
    inputs: {},
    outputs: { out: { kind: 'folder' } },
    keyRuntime: (rt) => ({ backend: rt.backend }),
    async run(ctx) {
      seen = ctx.runtime.backend;
    },
  });
  const tf = sb.write('tf.yaml', 'nodes:\n  x: { type: t-tf }\n');
  const r = await runPipeline(tf, {
    cacheDir: sb.cacheDir,
    resultsDir: sb.resultsDir,
    backend: 'cpu',
  });
  t.equal(seen, 'cpu');
  t.equal(JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8')).backend, 'cpu');
  const run = await runPipeline(file, { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir });
  t.equal(JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).backend, 'none');
});
