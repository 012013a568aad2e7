/**
 * Failures a run must survive: a node that throws after writing half its
 * output, a damaged cache entry, Ctrl-C in the middle of a node, and a
 * forced re-run.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sandbox, until } from './fixtures/helpers.ts';
import { Cache, runPipeline, type RunResult } from '../../src/runner/index.ts';

const sb = sandbox();
const opts = { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir };
const cache = new Cache(sb.cacheDir);
const status = (r: RunResult) => Object.fromEntries(r.nodes.map((n) => [n.id, n.status]));
const node = (r: RunResult, id: string) => r.nodes.find((n) => n.id === id)!;
const staging = () => readdirSync(join(sb.cacheDir, 'staging'));

t.test(
  'a node that throws after writing half its output leaves nothing in the cache',
  async (t) => {
    const file = sb.write(
      'fail.yaml',
      `
nodes:
  a: { type: t-write }
  bad: { type: t-fail, inputs: { src: a.out } }
  after: { type: t-write, inputs: { src: bad.out } }
  other: { type: t-write, params: { text: other } }
`,
    );
    const r = await runPipeline(file, { ...opts, jobs: 2 });
    t.equal(r.status, 'failed');
    t.same(status(r), { a: 'ran', bad: 'failed', after: 'skipped', other: 'ran' });
    t.equal(node(r, 'bad').reason, 'simulated failure after writing half.txt');
    t.equal(node(r, 'after').reason, 'upstream bad failed');
    t.equal(await cache.readManifest(node(r, 'bad').key), undefined, 'no entry for the failed key');
    t.notOk(existsSync(cache.entryDir(node(r, 'bad').key)));
    t.same(staging(), [], 'its staging directory is gone');
    const run = JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8'));
    t.equal(run.status, 'failed');

    const again = await runPipeline(file, opts);
    t.same(status(again), { a: 'cached', bad: 'failed', after: 'skipped', other: 'cached' });
    t.equal(sb.count('bad'), 2, 'the failed node is tried again, never served from the cache');
  },
);

t.test('a flipped byte in a cache entry is detected, evicted, recomputed and logged', async (t) => {
  const file = sb.write(
    'flip.yaml',
    `
nodes:
  a: { type: t-write, params: { text: flip } }
  b: { type: t-write, inputs: { src: a.out } }
`,
  );
  const r1 = await runPipeline(file, opts);
  const f = join(cache.portDir(node(r1, 'a').key, 'out'), 'value.txt');
  const bytes = readFileSync(f);
  bytes[3] ^= 0x01;
  writeFileSync(f, bytes);

  const r2 = await runPipeline(file, opts);
  t.same(status(r2), { a: 'ran', b: 'cached' });
  t.equal(
    node(r2, 'a').reason,
    'damaged cache entry recomputed (out/out/value.txt: sha256 differs from manifest)',
  );
  t.equal(readFileSync(f, 'utf8'), '[a:flip:1]', 'the recomputed entry is whole again');
  const log = readFileSync(join(r2.dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.ok(log.some((e) => e.event === 'cache-corrupt' && e.node === 'a' && e.level === 'warn'));
});

t.test('interrupting a run marks it interrupted and cleans up staging', async (t) => {
  const started = join(sb.dir, 'started.txt');
  process.env.ENTROAD_TEST_STARTED = started;
  const file = sb.write(
    'slow.yaml',
    `
nodes:
  quick: { type: t-write, params: { text: q } }
  slow: { type: t-sleep, inputs: { src: quick.out }, params: { ms: 20000 } }
  later: { type: t-write, inputs: { src: slow.out } }
`,
  );
  const ac = new AbortController();
  const p = runPipeline(file, { ...opts, signal: ac.signal });
  await until(
    () => existsSync(started) && readFileSync(started, 'utf8').includes('slow'),
    10_000,
    'slow to start',
  );
  ac.abort();
  const r = await p;
  delete process.env.ENTROAD_TEST_STARTED;
  t.equal(r.status, 'interrupted');
  t.same(status(r), { quick: 'ran', slow: 'failed', later: 'skipped' });
  t.equal(node(r, 'slow').reason, 'interrupted');
  t.equal(await cache.readManifest(node(r, 'slow').key), undefined);
  t.same(staging(), []);
  t.equal(JSON.parse(readFileSync(join(r.dir, 'run.json'), 'utf8')).status, 'interrupted');
});

t.test('--force recomputes a node and its descendants', async (t) => {
  const file = sb.write(
    'force.yaml',
    `
nodes:
  a: { type: t-write, params: { text: f1 } }
  b: { type: t-write, inputs: { src: a.out }, params: { text: f2 } }
  c: { type: t-write, params: { text: f3 } }
`,
  );
  await runPipeline(file, opts);
  const r = await runPipeline(file, { ...opts, force: ['a'] });
  t.same(status(r), { a: 'ran', b: 'ran', c: 'cached' });
  t.equal(node(r, 'a').reason, 'forced (-f)');
  await t.rejects(runPipeline(file, { ...opts, force: ['zz'] }), {
    message: /--force zz: no node "zz"/,
  });
});
