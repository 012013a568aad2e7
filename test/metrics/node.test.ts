// The metrics and metrics-merge nodes on a tiny hand-built dataset: the maps
// and masks of fixture cases a and b (golden values known), masks written as
// 0/255 PNGs at twice the evaluation size, plus a category of normal images.
import t from 'tap';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { getNodeType } from '../../src/nodes/index.ts';
import '../../src/nodes/metrics.ts';
import { writeJson, writeMap } from '../../src/nodes/artifacts.ts';
import type { DatasetManifest, Sample } from '../../src/data/types.ts';
import type { MetricsFile } from '../../src/metrics/types.ts';
import type { NodeContext } from '../../src/runner/types.ts';

const cases = JSON.parse(readFileSync(new URL('../fixtures/metrics/cases.json', import.meta.url), 'utf8'));
const caseA = cases.cases[0];
const caseB = cases.cases[1];
const root = mkdtempSync(join(tmpdir(), 'entroad-metrics-node-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

async function writeMaskPng(path: string, mask: number[], size: number): Promise<void> {
  // nearest-neighbour 2x upsampling: the node must resize it back to `size`
  const big = Buffer.alloc(4 * size * size);
  for (let y = 0; y < 2 * size; y++)
    for (let x = 0; x < 2 * size; x++) big[y * 2 * size + x] = mask[(y >> 1) * size + (x >> 1)] ? 255 : 0;
  await sharp(big, { raw: { width: 2 * size, height: 2 * size, channels: 1 } }).png().toFile(path);
}

type Built = {
  dataset: string;
  maps: string;
  scores: string;
};

async function build(name: string, hasMasks: boolean, poison?: number): Promise<Built> {
  const dir = join(root, name);
  const [dataset, maps, scores, masks] = ['dataset', 'maps', 'scores', 'masks'].map((d) => join(dir, d));
  for (const d of [dataset, maps, scores, masks]) mkdirSync(d, { recursive: true });
  const samples: Sample[] = [];
  const scoreList: number[] = [];
  const size = 16;
  let i = 0;
  const add = async (category: string, k: number, map: Float32Array, mask: number[], score: number) => {
    const label = mask.some((v) => v) ? 1 : 0;
    const id = `${category}/test/${label ? 'bad' : 'good'}/${k}.png`;
    let maskPath: string | null = null;
    if (label && hasMasks) {
      maskPath = join(masks, `${category}-${k}.png`);
      await writeMaskPng(maskPath, mask, size);
    }
    samples.push({
      id, imagePath: join(dir, id), relPath: id, imageHash: 'x', category, label,
      maskPath, maskHash: maskPath ? 'y' : null, defectType: label ? 'bad' : 'good',
    });
    if (i === poison) map[37] = NaN;
    writeMap(maps, i++, map, size);
    scoreList.push(score);
  };
  for (const [cat, c] of [['alpha', caseA], ['beta', caseB]] as const) {
    for (let k = 0; k < c.shape[0]; k++) {
      const px = size * size;
      await add(cat, k, Float32Array.from(c.maps.slice(k * px, (k + 1) * px)), c.masks.slice(k * px, (k + 1) * px), c.image_scores[k]);
    }
  }
  for (let k = 0; k < 2; k++) await add('gamma', k, new Float32Array(256).fill(0.1 * k), new Array(256).fill(0), k);
  const manifest: DatasetManifest = { name, domain: 'industrial', split: 'test', hasMasks, samples, notes: [] };
  writeJson(join(dataset, 'samples.json'), manifest);
  writeJson(join(maps, 'index.json'), { sampleIds: samples.map((s) => s.id), size });
  writeJson(join(scores, 'scores.json'), { sampleIds: samples.map((s) => s.id), scores: scoreList });
  return { dataset, maps, scores };
}

function ctxFor(type: string, inputs: Record<string, string>, params: Record<string, unknown>, lists: Record<string, string[]> = {}) {
  const out = mkdtempSync(join(root, 'out-'));
  const kinds: Record<string, string> = { dataset: 'dataset', maps: 'anomaly-maps', scores: 'scores', metrics: 'metrics' };
  const ctx = {
    nodeId: `my-${type}`,
    params,
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, dir]) => [k, { kind: kinds[k], dir, key: 'k' }])),
    inputLists: Object.fromEntries(Object.entries(lists).map(([k, dirs]) => [k, dirs.map((dir) => ({ kind: kinds[k], dir, key: 'k' }))])),
    outputs: { metrics: out },
    tmpDir: out,
    runtime: { backend: 'cpu', engine: 'tfjs', jobs: 1, workers: 1, verbose: false },
    log: { info() {}, warn() {}, data() {} },
    progress: { total() {}, tick() {} },
    signal: new AbortController().signal,
    key: 'k',
  } as unknown as NodeContext;
  return { ctx, out };
}

const params = { fpr_limit: 0.3, connectivity: 8, zsad_steps: 200 };
const near = (a: number | null | undefined, b: number) => typeof a === 'number' && Math.abs(a - b) < 1e-6;
const golden = (c: typeof caseA, conn = 8, limit = 0.3) =>
  c.expected.aupro.find((e: { connectivity: number; fpr_limit: number }) => e.connectivity === conn && e.fpr_limit === limit).value;

t.test('metrics node: per category, mean, nulls with reasons', async (t) => {
  const b = await build('tiny', true);
  const { ctx, out } = ctxFor('metrics', b, params);
  const res = await getNodeType('metrics')!.run(ctx);
  t.match(res, { summary: /tiny: image AUROC/ });
  const f: MetricsFile = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  t.equal(f.evalSize, 16);
  const d = f.datasets.tiny;
  t.same(Object.keys(d.categories), ['alpha', 'beta', 'gamma']);
  const a = d.categories.alpha;
  t.ok(near(a.values.image_auroc, caseA.expected.image.auroc), 'alpha image auroc');
  t.ok(near(a.values.image_ap, caseA.expected.image.ap), 'alpha image ap');
  t.ok(near(a.values.pixel_auroc, caseA.expected.pixel.auroc), 'alpha pixel auroc (masks via PNG + resize)');
  t.ok(near(a.values.aupro, golden(caseA)), 'alpha aupro');
  t.same(a.counts, { normal: 1, anomalous: 3, masks: 3 });
  t.ok(near(d.categories.beta.values.aupro, golden(caseB)), 'beta aupro');
  const g = d.categories.gamma;
  t.equal(g.values.image_auroc, null);
  t.match(g.reasons?.image_auroc, /no anomalous images/);
  t.equal(g.values.aupro, null);
  t.match(g.reasons?.pixel_auroc, /only one class/);
  t.match(g.reasons?.aupro, /no anomalous region/);
  t.ok(near(d.mean.aupro, (golden(caseA) + golden(caseB)) / 2), 'mean skips the null category');
  t.ok(near(d.mean.image_auroc, (caseA.expected.image.auroc + caseB.expected.image.auroc) / 2));
  t.same(f.mean, d.mean, 'one dataset: mean over datasets = its mean');
  t.ok(typeof d.categories.alpha.values.aupro_zsad === 'number');

  const { ctx: c4, out: o4 } = ctxFor('metrics', b, { ...params, connectivity: 4, name: 'tiny4' });
  await getNodeType('metrics')!.run(c4);
  const f4: MetricsFile = JSON.parse(readFileSync(join(o4, 'metrics.json'), 'utf8'));
  t.ok(near(f4.datasets.tiny4.categories.alpha.values.aupro, golden(caseA, 4)), '4-connectivity param');

  // merge: datasets keyed by name, mean over datasets
  const nm = await build('nomasks', false);
  const { ctx: cn, out: on } = ctxFor('metrics', nm, params);
  await getNodeType('metrics')!.run(cn);
  const fn: MetricsFile = JSON.parse(readFileSync(join(on, 'metrics.json'), 'utf8'));
  t.equal(fn.datasets.nomasks.categories.alpha.values.pixel_auroc, null);
  t.match(fn.datasets.nomasks.categories.alpha.reasons?.aupro, /no pixel masks/);
  t.ok(near(fn.datasets.nomasks.categories.alpha.values.image_auroc, caseA.expected.image.auroc));

  const { ctx: cm, out: om } = ctxFor('metrics-merge', {}, {}, { metrics: [out, on] });
  await getNodeType('metrics-merge')!.run(cm);
  const fm: MetricsFile = JSON.parse(readFileSync(join(om, 'metrics.json'), 'utf8'));
  t.same(Object.keys(fm.datasets), ['tiny', 'nomasks']);
  t.ok(near(fm.mean.image_auroc, (d.mean.image_auroc! + fn.datasets.nomasks.mean.image_auroc!) / 2));
  t.ok(near(fm.mean.aupro, d.mean.aupro!), 'pixel mean over the datasets that have it');

  const { ctx: cd } = ctxFor('metrics-merge', {}, {}, { metrics: [out, out] });
  await t.rejects(getNodeType('metrics-merge')!.run(cd), /dataset "tiny" appears in both/);
});

t.test('metrics node: a NaN in a map names the sample', async (t) => {
  const b = await build('poisoned', true, 5);
  const { ctx } = ctxFor('metrics', b, params);
  await t.rejects(getNodeType('metrics')!.run(ctx), /sample beta\/test\/good\/1\.png holds NaN at row 2, column 5/);
});

t.test('metrics node: maps of another dataset are refused', async (t) => {
  const b = await build('order', true);
  const other = await build('order2', true);
  writeJson(join(other.maps, 'index.json'), { sampleIds: ['x'], size: 16 });
  const { ctx } = ctxFor('metrics', { ...b, maps: other.maps }, params);
  await t.rejects(getNodeType('metrics')!.run(ctx), /maps\/index.json lists 1 samples but the dataset has 12/);
});

t.test('metrics node: a map at another size names the sample and the file', async (t) => {
  const b = await build('wrongsize', true);
  writeMap(b.maps, 2, new Float32Array(15 * 15), 15);
  const { ctx } = ctxFor('metrics', b, params);
  await t.rejects(
    getNodeType('metrics')!.run(ctx),
    /map-2\.safetensors: map of sample alpha\/test\/bad\/2\.png has 225 values, expected 16x16/,
  );
});
