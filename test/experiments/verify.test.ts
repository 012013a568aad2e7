import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { loadExperiment } from '../../src/experiments/experiment.ts';
import { compareMetrics, flattenMetrics, renderVerifyTable, verifyExperiment } from '../../src/experiments/verify.ts';
import type { MetricsFile } from '../../src/metrics/types.ts';

const repo = resolve(import.meta.dirname, '../..');

const file: MetricsFile = {
  evalSize: 8,
  datasets: {
    med: {
      categories: {
        head: { values: { image_auroc: 0.75, aupro: null }, counts: { normal: 2, anomalous: 2, masks: 2 } },
      },
      mean: { image_auroc: 0.75, aupro: null },
    },
  },
  mean: { image_auroc: 0.75, aupro: null },
};

t.test('metrics.json flattens to dataset.category.metric paths', async (t) => {
  const flat = flattenMetrics(file);
  t.same(Object.fromEntries(flat), {
    'med.head.image_auroc': 0.75,
    'med.head.aupro': null,
    'med.mean.image_auroc': 0.75,
    'med.mean.aupro': null,
    'mean.image_auroc': 0.75,
    'mean.aupro': null,
  });
});

t.test('a value within its tolerance passes, one outside is a breach', async (t) => {
  const actual = new Map<string, number | null>([['a', 0.5], ['b', 0.5], ['n', null]]);
  const rows = compareMetrics(
    actual,
    new Map([
      ['a', { value: 0.5000005, tolerance: 1e-6 }],
      ['b', { value: 0.51, tolerance: 1e-3 }],
      ['n', { value: null, tolerance: 1e-6 }],
    ]),
    1e-6,
  );
  t.same(rows.map((r) => [r.path, r.ok]), [['a', true], ['b', false], ['n', true]]);
  t.match(renderVerifyTable(rows), /b\s+0\.510000\s+0\.500000\s+-1\.00e-2\s+1\.0e-3\s+BREACH/);
});

t.test('a recorded metric missing from the run, or a new unrecorded one, fails', async (t) => {
  const rows = compareMetrics(new Map([['new', 0.1]]), new Map([['gone', { value: 0.2, tolerance: 1e-6 }]]), 1e-6);
  t.same(rows.map((r) => [r.path, r.ok, r.note]), [
    ['gone', false, 'missing from this run'],
    ['new', false, 'not recorded (run verify --record)'],
  ]);
});

t.test('an experiment file with a bad baseline names it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'exp-'));
  const f = join(dir, 'x.yaml');
  writeFileSync(f, 'runs: { a: p.yaml }\nbaseline: b\n');
  t.throws(() => loadExperiment(f), /baseline "b" is not one of the runs \(a\)/);
});

t.test('verify of the CI experiment fails when a tolerance is breached on purpose', async (t) => {
  const exp = loadExperiment(join(repo, 'experiments/ci.yaml'));
  if (exp.recorded.size === 0) {
    t.fail('experiments/ci.yaml has no recorded values; run `entroad verify experiments/ci.yaml --record`');
    return;
  }
  // Push one recorded value far outside its tolerance.
  const [path, rec] = [...exp.recorded].find(([, v]) => typeof v.value === 'number')!;
  exp.recorded.set(path, { value: (rec.value as number) + 0.05, tolerance: 1e-6 });
  const r = await verifyExperiment(exp);
  t.same(r.problems, [], 'the fixture nodes came from the cache and the run succeeded');
  t.equal(r.ok, false);
  const breached = r.rows.filter((x) => !x.ok).map((x) => x.path);
  t.same(breached, [path], 'exactly the tampered metric is reported');
  const untouched = r.rows.filter((x) => x.path !== path);
  t.ok(untouched.length > 0 && untouched.every((x) => x.ok), 'every other metric reproduces');
  t.ok(parseDocument(readFileSync(join(repo, 'experiments/ci.yaml'), 'utf8')).get('recorded'), 'the file is untouched');
});
