/**
 * Several processes and one cache: a run killed with -9 in the middle of a
 * node leaves no partial entry and the next run resumes from the completed
 * nodes; two runs of two ablations started together compute their shared
 * upstream node once, and neither fails.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChild, sandbox, until } from './fixtures/helpers.ts';
import { Cache, runPipeline } from '../../src/runner/index.ts';

t.test('kill -9 mid-node, then resume', async (t) => {
  const sb = sandbox();
  const cache = new Cache(sb.cacheDir);
  const started = join(sb.dir, 'started.txt');
  const file = sb.write(
    'kill.yaml',
    `
nodes:
  a: { type: t-write, params: { text: k } }
  side: { type: t-write, params: { text: side } }
  slow: { type: t-sleep, inputs: { src: a.out }, params: { ms: 200 } }
  end: { type: t-write, inputs: { src: slow.out } }
`,
  );
  const { child, done } = runChild(sb, file, {
    ENTROAD_TEST_SLOW: '200',
    ENTROAD_TEST_STARTED: started,
  });
  await until(
    () => existsSync(started) && readFileSync(started, 'utf8').includes('slow'),
    30_000,
    'slow to start',
  );
  child.kill('SIGKILL');
  const res = await done;
  t.equal(res.signal, 'SIGKILL');

  const keys = await cache.keys();
  t.equal(keys.length, 2, 'a and side were committed before the kill');
  t.equal(
    readdirSync(join(sb.cacheDir, 'staging')).length,
    1,
    'the half-done node is only in staging',
  );
  t.equal(
    readdirSync(join(sb.cacheDir, 'locks')).length,
    1,
    'its lock is left behind by the dead process',
  );

  const r = await runPipeline(file, { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir });
  t.equal(r.status, 'ok');
  t.same(
    r.nodes.map((n) => [n.id, n.status]),
    [
      ['a', 'cached'],
      ['side', 'cached'],
      ['slow', 'ran'],
      ['end', 'ran'],
    ],
  );
  t.same(readdirSync(join(sb.cacheDir, 'staging')), [], "the dead run's staging is cleaned");
  t.same(readdirSync(join(sb.cacheDir, 'locks')), [], 'the dead lock was broken and released');
  t.same(sb.counts(), { a: 1, side: 1, slow: 2, end: 1 });
});

t.test('two concurrent runs of two ablations share one upstream computation', async (t) => {
  const sb = sandbox();
  const shared = `
  up: { type: t-sleep, params: { ms: 4000, text: shared } }`;
  const one = sb.write(
    'one.yaml',
    `nodes:${shared}
  down: { type: t-write, inputs: { src: up.out }, params: { text: one } }
`,
  );
  const two = sb.write(
    'two.yaml',
    `nodes:${shared}
  down: { type: t-write, inputs: { src: up.out }, params: { text: two } }
`,
  );
  const c1 = runChild(sb, one);
  const c2 = runChild(sb, two);
  const [r1, r2] = await Promise.all([c1.done, c2.done]);
  t.equal(r1.code, 0, r1.out);
  t.equal(r2.code, 0, r2.out);
  t.equal(sb.count('up'), 1, 'the shared node ran once');
  t.equal(sb.count('down'), 2);
  const ups = [r1, r2].map((r) => JSON.parse(r.out.trim().split('\n').pop()!).nodes[0]);
  t.same(ups.map((u) => u[1]).sort(), ['cached', 'ran']);
  // Started together, the second run waits on the first one's lock.
  t.same(ups.map((u) => u[2]).sort(), [
    'computed meanwhile by another run',
    'not in cache (no earlier run of this node)',
  ]);
});
