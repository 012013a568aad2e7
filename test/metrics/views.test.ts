// show / compare / plot on hand-written run folders (run.json + metrics.json
// + sweep.json), asserting the table content.
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.ts';
import type { MetricsFile, MetricValues } from '../../src/metrics/types.ts';

const root = mkdtempSync(join(tmpdir(), 'entroad-views-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const results = join(root, 'results');

const v = (ia: number, ap: number, pa: number, pro: number, zsad: number | null): MetricValues => ({
  image_auroc: ia, image_ap: ap, pixel_auroc: pa, aupro: pro, aupro_zsad: zsad,
});

function writeRun(id: string, name: string, datasets: Record<string, MetricValues>, overrides: Record<string, unknown> = {}, status = 'ok') {
  const dir = join(results, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ runId: id, name, status, params: { alpha: overrides['params.alpha'] ?? 0.7 }, overrides, nodes: [] }));
  const names = Object.keys(datasets);
  const mean: MetricValues = {};
  for (const m of ['image_auroc', 'image_ap', 'pixel_auroc', 'aupro', 'aupro_zsad'] as const) {
    const vals = names.map((n) => datasets[n][m]).filter((x): x is number => typeof x === 'number');
    mean[m] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
  }
  const f: MetricsFile = {
    evalSize: 518,
    datasets: Object.fromEntries(names.map((n) => [n, { categories: { all: { values: datasets[n], counts: { normal: 1, anomalous: 1, masks: 1 } } }, mean: datasets[n] }])),
    mean,
  };
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify(f));
  return dir;
}

writeRun('full-1', 'entroad', { mvtec: v(0.933, 0.972, 0.928, 0.9, 0.862), visa: v(0.85, 0.87, 0.95, 0.8, null) });
writeRun('nogate-1', 'wo-gating', { mvtec: v(0.9, 0.95, 0.797, 0.5, 0.428), visa: v(0.8, 0.85, 0.9, 0.7, 0.6) });

async function cli(args: string[]): Promise<string> {
  let out = '';
  const orig = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'entroad', ...args]);
  } finally {
    process.stdout.write = orig;
    process.stderr.write = origErr;
  }
  return out;
}

t.test('show: datasets x metrics with an average row, x100 one decimal', async (t) => {
  const out = await cli(['show', 'full-1', '--results-dir', results]);
  t.match(out, /Dataset\s+Image AUROC\s+Image AP\s+Pixel AUROC\s+Pixel AUPRO\s+Pixel AUPRO-zsad/);
  t.match(out, /mvtec\s+93\.3\s+97\.2\s+92\.8\s+90\.0\s+86\.2/);
  t.match(out, /visa\s+85\.0\s+87\.0\s+95\.0\s+80\.0\s+-/);
  t.match(out, /Average\s+89\.1\s+92\.1\s+93\.9\s+85\.0\s+86\.2/, 'average over datasets; null skipped');
  t.match(out, /AUPRO-zsad = cal_pro_score/);

  const md = await cli(['show', join(results, 'full-1'), '--md']);
  t.match(md, /\| Dataset \| Image AUROC \| Image AP \| Pixel AUROC \| Pixel AUPRO \| Pixel AUPRO-zsad \|/);
  t.match(md, /\| mvtec \| 93\.3 \| 97\.2 \| 92\.8 \| 90\.0 \| 86\.2 \|/);
  t.match(md, /\| \*\*Average\*\* \| \*\*89\.1\*\* \|/);

  const csv = await cli(['show', 'full-1', '--results-dir', results, '--csv']);
  t.equal(csv.split('\n')[1], 'mvtec,93.3,97.2,92.8,90.0,86.2');
  t.equal(csv.split('\n')[2], 'visa,85.0,87.0,95.0,80.0,');

  const json = JSON.parse(await cli(['show', 'full-1', '--results-dir', results, '--json']));
  t.equal(json.rows[0].cells[0].value, 0.933);

  const cats = await cli(['show', 'full-1', '--results-dir', results, '--categories', '--metrics', 'aupro']);
  t.match(cats, /\n  all\s+90\.0\n/);
  await t.rejects(cli(['show', 'nope', '--results-dir', results]), /run "nope" not found/);
  await t.rejects(cli(['show', 'full-1', '--results-dir', results, '--metrics', 'auc']), /unknown metric "auc"/);
});

t.test('compare: column group per run, variants x datasets, deltas to a baseline', async (t) => {
  const out = await cli(['compare', 'full-1', 'nogate-1', '--results-dir', results, '--metrics', 'pixel_auroc,aupro']);
  t.match(out, /Dataset\s+entroad Pixel AUROC\s+entroad Pixel AUPRO\s+wo-gating Pixel AUROC\s+wo-gating Pixel AUPRO/);
  t.match(out, /mvtec\s+92\.8\s+90\.0\s+79\.7\s+50\.0/);

  const abl = await cli(['compare', 'full-1', 'nogate-1', '--results-dir', results, '--rows', 'runs',
    '--metrics', 'pixel_auroc,aupro_zsad', '--labels', 'full,w/o gating', '--baseline', 'full-1', '--md']);
  t.match(abl, /\| Variant \| mvtec Pixel AUROC \| mvtec Pixel AUPRO-zsad \| visa Pixel AUROC \| visa Pixel AUPRO-zsad \| Average Pixel AUROC \| Average Pixel AUPRO-zsad \|/);
  t.match(abl, /\| full \| 92\.8 \| 86\.2 \| 95\.0 \| - \|/);
  t.match(abl, /\| w\/o gating \| 79\.7 \(-13\.1\) \| 42\.8 \(-43\.4\) \| 90\.0 \(-5\.0\) \| 60\.0 \|/);
  t.match(abl, /difference to the baseline full/);

  const csv = await cli(['compare', 'nogate-1', '--baseline', 'full-1', '--results-dir', results, '--metrics', 'aupro', '--csv']);
  const lines = csv.trim().split('\n');
  t.equal(lines[0], 'Dataset,entroad (baseline) Pixel AUPRO,wo-gating Pixel AUPRO,wo-gating Pixel AUPRO delta');
  t.equal(lines[1], 'mvtec,90.0,50.0,-40.0');
  await t.rejects(cli(['compare', 'full-1', '--results-dir', results, '--md', '--csv']), /choose one of/);
});

t.test('plot: one line per dataset, SVG and PNG', async (t) => {
  const sweepDir = join(results, 'sweep-1');
  mkdirSync(sweepDir, { recursive: true });
  const points = [0.1, 0.5, 0.9].map((alpha, i) => {
    const id = `sw-${i}`;
    writeRun(id, 'entroad', { mvtec: v(0.9, 0.9, 0.9, 0.80 + 0.05 * i, 0.7), visa: v(0.8, 0.8, 0.8, 0.7 - 0.02 * i, 0.6) }, { 'params.alpha': alpha });
    return { runId: id, dir: `results/${id}`, overrides: { 'params.alpha': alpha }, status: 'ok' };
  });
  points.push({ runId: 'sw-failed', dir: 'results/sw-failed', overrides: { 'params.alpha': 1 }, status: 'failed' });
  writeFileSync(join(sweepDir, 'sweep.json'), JSON.stringify({ sweepId: 'sweep-1', pipeline: 'p.yaml', points }));

  const out = await cli(['plot', 'sweep-1', '--results-dir', results, '--x', 'alpha', '--y', 'aupro', '--out', join(root, 'alpha.png')]);
  t.match(out, /Pixel AUPRO vs alpha: 6 points/);
  const svg = readFileSync(join(root, 'alpha.svg'), 'utf8');
  t.match(svg, /<svg/);
  t.match(svg, /Pixel AUPRO \(%\)/);
  t.match(svg, />mvtec</);
  t.match(svg, />visa</);
  t.ok(existsSync(join(root, 'alpha.png')));
  const png = readFileSync(join(root, 'alpha.png'));
  t.equal(png.subarray(1, 4).toString(), 'PNG');

  await t.rejects(cli(['plot', 'sweep-1', '--results-dir', results, '--x', 'beta', '--y', 'aupro']), /--x beta: point sw-0 does not set it/);
});
