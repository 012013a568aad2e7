/**
 * Every adapter on the real benchmark samples in ../shared/data, read in
 * place. Expected counts are the files present there, counted by hand
 * against ../shared/data/README.md (VisA: the totals the README gives for
 * split_csv/1cls.csv).
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { listDataset, countByCategory } from '../../src/data/adapters/index.ts';
import { buildManifest } from '../../src/data/manifest.ts';
import { HashIndex } from '../../src/data/hash-index.ts';
import type { DatasetFormat } from '../../src/data/listing.ts';
import { repoRoot, runDataCli, sharedData, tempDir } from './helpers.ts';

const skip = !existsSync(sharedData) && `../shared/data not found at ${sharedData}: real-sample tests skipped`;

type Counts = Record<string, { normal: number; anomalous: number; masks: number }>;

const EXPECTED: [DatasetFormat, string, Counts][] = [
  ['mvtec', 'mvtec', {
    bottle: { normal: 2, anomalous: 3, masks: 0 }, // no ground_truth/ in the sample
    grid: { normal: 2, anomalous: 5, masks: 5 },
  }],
  ['headct', 'headct', { brain: { normal: 3, anomalous: 2, masks: 0 } }], // 100, 101, 188 normal; 000, 001 hemorrhage
  ['brainmri', 'brainmri', { brain: { normal: 4, anomalous: 3, masks: 0 } }],
  ['br35h', 'br35h', { brain: { normal: 3, anomalous: 3, masks: 0 } }], // pred/ not counted
  ['kvasir', 'kvasir', { colon: { normal: 0, anomalous: 3, masks: 3 } }],
];

t.test('data ls counts on every sample folder', { skip }, async (t) => {
  for (const [format, folder, expected] of EXPECTED) {
    const l = listDataset(format, join(sharedData, folder), { split: 'test' });
    t.same(countByCategory(l), expected, `${format}: counts`);
  }
  const visa = countByCategory(listDataset('visa', join(sharedData, 'visa'), { split: 'test' }));
  const sum = (k: 'normal' | 'anomalous') => Object.values(visa).reduce((n, c) => n + c[k], 0);
  t.equal(Object.keys(visa).length, 12, 'VisA: 12 classes');
  t.equal(sum('normal'), 962, 'VisA 1cls test normal');
  t.equal(sum('anomalous'), 1200, 'VisA 1cls test anomaly');
  t.same(visa.candle, { normal: 100, anomalous: 100, masks: 100 });
  const train = countByCategory(listDataset('visa', join(sharedData, 'visa'), { split: 'train' }));
  t.equal(Object.values(train).reduce((n, c) => n + c.normal + c.anomalous, 0), 8659, 'VisA 1cls train');
});

t.test('the CLI prints the same counts as JSON', { skip }, async (t) => {
  process.env.ENTROAD_CACHE_DIR = tempDir();
  for (const [format, folder, expected] of EXPECTED) {
    const r = await runDataCli(['ls', join(sharedData, folder), '--format', format, '--json', '--no-dupes']);
    t.equal(r.error, undefined, `${format}: no error`);
    t.same(JSON.parse(r.stdout), { categories: expected }, `${format}: --json`);
  }
  // One real start of the command line, end to end.
  const r = spawnSync(process.execPath, ['bin/entroad.mjs', 'data', 'ls', join(sharedData, 'kvasir'), '--format', 'kvasir', '--json'], {
    cwd: repoRoot, encoding: 'utf8', env: { ...process.env },
  });
  t.equal(r.status, 0, r.stderr.slice(0, 500));
  t.same(JSON.parse(r.stdout), { categories: { colon: { normal: 0, anomalous: 3, masks: 3 } } });
});

t.test('quirks of the real copies', { skip }, async (t) => {
  const mv = listDataset('mvtec', join(sharedData, 'mvtec'), { split: 'test' });
  t.notOk(mv.samples.some((s) => s.image.endsWith('.txt')), 'readme.txt / license.txt are not samples');
  t.match(mv.problems.map((p) => p.message).join('\n'), /category "bottle" has 3 anomalous test images but no ground_truth/);
  const grid = mv.samples.find((s) => s.defectType === 'bent')!;
  t.equal(grid.mask, join(sharedData, 'mvtec/grid/ground_truth/bent/000_mask.png'));

  const ok = listDataset('mvtec', join(sharedData, 'mvtec'), { split: 'test', allowMissingMasks: true });
  t.same(ok.problems, []);
  t.same(ok.categoriesWithoutMasks, ['bottle']);

  const br = listDataset('br35h', join(sharedData, 'br35h'), { split: 'test' });
  t.notOk(br.samples.some((s) => s.image.includes('/pred/')), 'pred/ is not a class');
  t.match(br.notes.join('\n'), /pred\/ \(1 unlabeled images\) ignored/);

  const mri = listDataset('brainmri', join(sharedData, 'brainmri'), { split: 'test' });
  t.ok(mri.samples.some((s) => s.image.endsWith('no/1 no.jpeg')), 'names with spaces and .jpeg');
  t.ok(mri.samples.every((s) => s.image.includes('/brain_tumor_dataset/')));

  const ct = listDataset('headct', join(sharedData, 'headct'), { split: 'test' });
  const byName = Object.fromEntries(ct.samples.map((s) => [s.image.split('/').pop(), s.label]));
  t.same(byName, { '000.png': 1, '001.png': 1, '100.png': 0, '101.png': 0, '188.png': 0 });
  t.equal(ct.hasMasks, false);

  const visa = listDataset('visa', join(sharedData, 'visa'), { split: 'test', categories: ['candle'] });
  const s5 = visa.samples.find((s) => s.image.endsWith('candle/Data/Images/Anomaly/005.JPG'))!;
  t.equal(s5.defectType, 'chunk of wax missing,foreign particals on candle', 'quoted multi-label from image_anno.csv');
  t.equal(s5.mask, join(sharedData, 'visa/candle/Data/Masks/Anomaly/005.png'));
  t.match(visa.problems[0].message, /missing: listed image does not exist/, 'the CSV-only sample reports its absent images');
});

t.test('manifests of the complete sample folders', { skip }, async (t) => {
  const index = new HashIndex(tempDir());
  for (const [format, folder] of [['kvasir', 'kvasir'], ['brainmri', 'brainmri'], ['br35h', 'br35h'], ['headct', 'headct']] as const) {
    const l = listDataset(format, join(sharedData, folder), { split: 'test' });
    const { manifest } = await buildManifest(l, { name: format, domain: 'medical', maskThreshold: 0, index });
    t.equal(manifest.samples.length, l.samples.length, `${format}: every image hashed`);
    for (const s of manifest.samples) {
      t.notOk(s.relPath.startsWith('/') || s.relPath.includes('..'), `${s.relPath} is relative`);
    }
  }
  const grid = listDataset('mvtec', join(sharedData, 'mvtec'), { split: 'test', categories: ['grid'] });
  const { manifest } = await buildManifest(grid, { name: 'mvtec', domain: 'industrial', maskThreshold: 0, index });
  t.equal(manifest.samples.filter((s) => s.maskHash).length, 5, 'grid masks hashed and size-checked');
  t.ok(readFileSync(index.file, 'utf8').includes('"sha256"'), 'stat cache written');
});
