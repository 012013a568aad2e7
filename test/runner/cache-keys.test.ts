/**
 * The cache as a researcher meets it: a changed param re-runs exactly the
 * nodes downstream of it, changing it back brings the original artifacts
 * back without computing, defaults and key order do not matter, and a
 * dataset copied to another folder is still a hit.
 */
import t from 'tap';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sandbox } from './fixtures/helpers.ts';
import { Cache, planRun, runPipeline, type RunResult } from '../../src/runner/index.ts';

const sb = sandbox();
const opts = { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir };
const cache = new Cache(sb.cacheDir);
const status = (r: RunResult) => Object.fromEntries(r.nodes.map((n) => [n.id, n.status]));
const keyOf = (r: RunResult, id: string) => r.nodes.find((n) => n.id === id)!.key;
const value = (r: RunResult, id: string) =>
  readFileSync(join(cache.portDir(keyOf(r, id), 'out'), 'value.txt'), 'utf8');

const chain = sb.write(
  'chain.yaml',
  `
params: { mid: m1 }
nodes:
  a: { type: t-write, params: { text: a } }
  b: { type: t-write, inputs: { src: a.out }, params: { text: "\${mid}" } }
  c: { type: t-write, inputs: { src: b.out } }
  d: { type: t-write, params: { text: d } }
  e: { type: t-write, inputs: { src: d.out } }
`,
);

t.test(
  'a param change re-runs exactly the downstream set; changing it back is a hit with the original artifact',
  async (t) => {
    const first = await runPipeline(chain, opts);
    t.same(status(first), { a: 'ran', b: 'ran', c: 'ran', d: 'ran', e: 'ran' });
    const original = value(first, 'c');

    const changed = await runPipeline(chain, { ...opts, overrides: ['params.mid=m2'] });
    t.same(status(changed), { a: 'cached', b: 'ran', c: 'ran', d: 'cached', e: 'cached' });
    t.equal(changed.nodes.find((n) => n.id === 'b')!.reason, 'param text "m1" -> "m2"');
    t.equal(value(changed, 'c'), '[a:a:1][b:m2:1][c:x:1]');

    const back = await runPipeline(chain, opts);
    t.same(status(back), { a: 'cached', b: 'cached', c: 'cached', d: 'cached', e: 'cached' });
    t.equal(keyOf(back, 'c'), keyOf(first, 'c'));
    t.equal(value(back, 'c'), original);
    t.same(sb.counts(), { a: 1, b: 2, c: 2, d: 1, e: 1 });
  },
);

t.test("a removed param falls back to its default, and the key is the default's", async (t) => {
  const explicit = sb.write(
    'explicit.yaml',
    'nodes:\n  a: { type: t-write, params: { text: z, n: 1 } }\n',
  );
  const changed = sb.write(
    'changed.yaml',
    'nodes:\n  a: { type: t-write, params: { text: z, n: 2 } }\n',
  );
  const removed = sb.write('removed.yaml', 'nodes:\n  a: { type: t-write, params: { text: z } }\n');
  const r1 = await runPipeline(explicit, opts);
  const r2 = await runPipeline(changed, opts);
  const r3 = await runPipeline(removed, opts);
  t.not(keyOf(r2, 'a'), keyOf(r1, 'a'));
  t.equal(keyOf(r3, 'a'), keyOf(r1, 'a'), 'n omitted = n: 1 (the schema default)');
  t.equal(status(r3).a, 'cached');
});

t.test('keys do not depend on the order keys are written in', async (t) => {
  const one = sb.write(
    'order1.yaml',
    `
params: { p: 1, q: two }
nodes:
  x: { type: t-write, params: { text: "\${q}", n: "\${p}", layers: [1, 2] } }
  y: { type: t-metrics, inputs: { parts: [x.out] }, params: { score: 0.25 } }
`,
  );
  const two = sb.write(
    'order2.yaml',
    `
nodes:
  y:
    params: { score: 0.25 }
    inputs: { parts: [x.out] }
    type: t-metrics
  x:
    params:
      layers: [1, 2]
      n: "\${p}"
      text: "\${q}"
    type: t-write
params: { q: two, p: 1 }
`,
  );
  const r1 = await runPipeline(one, opts);
  const r2 = await runPipeline(two, opts);
  t.same(r2.nodes.map((n) => [n.id, n.key]).sort(), r1.nodes.map((n) => [n.id, n.key]).sort());
  t.same(status(r2), { x: 'cached', y: 'cached' });
});

t.test('a dataset copied to another folder is a hit; an edited file is not', async (t) => {
  const here = join(sb.dir, 'data-here');
  mkdirSync(join(here, 'good'), { recursive: true });
  writeFileSync(join(here, 'good', '1.txt'), 'one');
  writeFileSync(join(here, 'good', '2.txt'), 'two');
  const file = sb.write(
    'data.yaml',
    `
nodes:
  list: { type: t-list, params: { root: ${here} } }
  use: { type: t-consume, inputs: { data: list.samples } }
`,
  );
  const r1 = await runPipeline(file, opts);
  t.same(status(r1), { list: 'ran', use: 'ran' });

  const there = join(sb.dir, 'elsewhere', 'data-copy');
  cpSync(here, there, { recursive: true });
  const r2 = await runPipeline(file, { ...opts, overrides: [`list.root=${there}`] });
  t.same(
    status(r2),
    { list: 'ran', use: 'cached' },
    'the listing runs (volatile), its consumer is a hit',
  );
  t.equal(keyOf(r2, 'list'), keyOf(r1, 'list'));
  t.match(r2.nodes[0].reason, /content unchanged/);

  writeFileSync(join(there, 'good', '2.txt'), 'TWO');
  const r3 = await runPipeline(file, { ...opts, overrides: [`list.root=${there}`] });
  t.same(status(r3), { list: 'ran', use: 'ran' });
  t.equal(
    readFileSync(join(cache.portDir(keyOf(r3, 'use'), 'out'), 'value.txt'), 'utf8'),
    'one|TWO',
  );
});

t.test('a dry run of a never-run ablation takes the listing key from its parent', async (t) => {
  const data = join(sb.dir, 'data-ablation');
  mkdirSync(join(data, 'good'), { recursive: true });
  writeFileSync(join(data, 'good', '1.txt'), 'one');
  const parent = sb.write(
    'parent.yaml',
    `
name: parent
nodes:
  list: { type: t-list, params: { root: ${data} } }
  use: { type: t-consume, inputs: { data: list.samples } }
  tail: { type: t-write, inputs: { src: use.out }, params: { text: p } }
`,
  );
  await runPipeline(parent, opts);
  const child = sb.write('child.yaml', 'extends: parent.yaml\nname: child\nnodes:\n  tail: { params: { text: c } }\n');
  const states = async (file: string, overrides: string[] = []) =>
    Object.fromEntries((await planRun(file, { ...opts, overrides })).plan.map((e) => [e.id, e.state]));

  t.same(await states(child), { list: 'volatile', use: 'cached', tail: 'run' }, 'same listing: its consumer is cached');
  const elsewhere = join(sb.dir, 'other-data');
  t.same(
    await states(child, [`list.root=${elsewhere}`]),
    { list: 'volatile', use: 'unknown', tail: 'unknown' },
    'another root was never listed: unknown, not guessed',
  );
  const real = await runPipeline(child, opts);
  t.same(status(real), { list: 'ran', use: 'cached', tail: 'ran' }, 'the run agrees with the plan');
});
