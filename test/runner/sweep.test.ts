/**
 * A 3x3 sweep: nine runs, and every node whose key is shared between points
 * is computed once.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sandbox } from './fixtures/helpers.ts';
import { runSweep } from '../../src/runner/index.ts';

t.test('3x3 grid computes shared nodes once', async (t) => {
  const sb = sandbox();
  const file = sb.write(
    'sweep.yaml',
    `
name: grid
params: { n: 1, t: x }
nodes:
  prep: { type: t-write, params: { text: prep } }
  byN: { type: t-write, inputs: { src: prep.out }, params: { n: "\${n}" } }
  both: { type: t-write, inputs: { src: byN.out }, params: { text: "\${t}" } }
  score: { type: t-metrics, inputs: { parts: [both.out] } }
sweep:
  grid:
    params.n: [1, 2, 3]
    params.t: [x, y, z]
`,
  );
  const s = await runSweep(file, { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir });
  t.equal(s.status, 'ok');
  t.equal(s.points.length, 9);
  t.same(sb.counts(), { prep: 1, byN: 3, both: 9, score: 9 });

  const sweep = JSON.parse(readFileSync(join(s.dir, 'sweep.json'), 'utf8'));
  t.equal(sweep.sweepId, s.sweepId);
  t.same(sweep.points[4].overrides, { 'params.n': 2, 'params.t': 'y' });
  t.same(
    sweep.points.map((p: { status: string }) => p.status),
    Array(9).fill('ok'),
  );
  const run = JSON.parse(readFileSync(join(sweep.points[4].dir, 'run.json'), 'utf8'));
  t.same(run.params, { n: 2, t: 'y' });
  t.equal(run.sweepId, s.sweepId);
  const metrics = JSON.parse(readFileSync(join(sweep.points[4].dir, 'metrics.json'), 'utf8'));
  t.same(metrics.parts, ['[prep:prep:1][byN:x:2][both:y:1]']);
});

t.test("--sweep axes replace the file's sweep and are typed like -S", async (t) => {
  const sb = sandbox();
  const file = sb.write(
    'cli.yaml',
    `
nodes:
  a: { type: t-write, params: { text: a } }
  b: { type: t-write, inputs: { src: a.out } }
`,
  );
  const s = await runSweep(file, {
    cacheDir: sb.cacheDir,
    resultsDir: sb.resultsDir,
    sweep: ['b.text=001,"x,y"', 'b.n=1:2:1'],
  });
  t.same(
    s.points.map((p) => p.overrides),
    [
      { 'b.text': '001', 'b.n': 1 },
      { 'b.text': '001', 'b.n': 2 },
      { 'b.text': 'x,y', 'b.n': 1 },
      { 'b.text': 'x,y', 'b.n': 2 },
    ],
  );
  t.same(sb.counts(), { a: 1, b: 4 });
});

t.test('points whose value reaches no node are reported as identical', async (t) => {
  const sb = sandbox();
  const file = sb.write(
    'unused.yaml',
    `
name: unused
params: { n: 1, unused: 0 }
nodes:
  a: { type: t-write, params: { n: "\${n}" } }
`,
  );
  const opts = { cacheDir: sb.cacheDir, resultsDir: sb.resultsDir };
  const dead = await runSweep(file, { ...opts, sweep: ['params.unused=1,2,3'] });
  t.same(dead.identical, [1, 2], 'points 2 and 3 computed exactly what point 1 did');
  const live = await runSweep(file, { ...opts, sweep: ['params.n=1,2,3'] });
  t.same(live.identical, [], 'every point of a live axis has its own keys');
});
