/**
 * `entroad data ls|meta|generate`, run in-process.
 */
import t from 'tap';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { listDataset, countByCategory } from '../../src/data/adapters/index.ts';
import { jpeg, maskPng, put, rgbPng, runDataCli, solid, tempDir } from './helpers.ts';

process.env.ENTROAD_CACHE_DIR = tempDir();

t.test('data generate writes the benchmark; data ls reads a domain', async (t) => {
  const out = tempDir();
  const g = await runDataCli(['generate', out, '--seed', '4', '--size', '32', '--train-good', '1', '--test-good', '2', '--test-anomalous', '3']);
  t.equal(g.error, undefined);
  t.match(g.stdout, /textures: industrial, categories weave, grain, mesh/);
  t.match(g.stdout, /medical: medical, categories head, chest, abdomen/);
  const ls = await runDataCli(['ls', join(out, 'objects'), '--format', 'mvtec', '--json']);
  t.same(JSON.parse(ls.stdout), {
    categories: {
      disc: { normal: 2, anomalous: 3, masks: 3 },
      pill: { normal: 2, anomalous: 3, masks: 3 },
      plate: { normal: 2, anomalous: 3, masks: 3 },
    },
  });
  const text = await runDataCli(['ls', join(out, 'objects'), '--format', 'mvtec']);
  t.match(text.stdout, /disc\s+2\s+3\s+3\n/);
  t.match(text.stdout, /total\s+6\s+9\s+9\n/);
  const top = await runDataCli(['ls', out, '--format', 'mvtec', '--no-dupes']);
  t.match(top.stdout, /a generated benchmark: point at one of its domain folders \(medical, objects, textures\)/);
  const bad = await runDataCli(['generate', out, '--seed', 'x']);
  t.match(bad.error?.message, /--seed must be an integer/);
});

t.test('data ls shows duplicates within and across datasets', async (t) => {
  const a = tempDir();
  const b = tempDir();
  const same = await jpeg(4, 4, 3, solid(4, 4, [77, 77, 77]));
  put(join(a, 'brain_tumor_dataset/no/17 no.jpg'), same);
  put(join(a, 'brain_tumor_dataset/no/27 no.jpg'), same);
  put(join(a, 'brain_tumor_dataset/yes/Y1.jpg'), await jpeg(4, 4, 3, solid(4, 4, [1, 1, 1])));
  put(join(b, 'no/no401.jpg'), same);
  put(join(b, 'yes/y0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [2, 2, 2])));
  const r = await runDataCli(['ls', a, '--format', 'brainmri', '--with', `br35h=${b}`]);
  t.equal(r.error, undefined);
  t.match(r.stdout, /duplicates within the dataset: 1 group\(s\) of byte-identical images \(1 extra copies\)\n {2}brainmri:brain\/brain_tumor_dataset\/no\/17 no\.jpg == brainmri:brain\/brain_tumor_dataset\/no\/27 no\.jpg/);
  t.match(r.stdout, /duplicates across datasets: 1 group\(s\).*\n.*== br35h@.*:brain\/no\/no401\.jpg/);
  const j = await runDataCli(['ls', a, '--format', 'brainmri', '--json', '--with', `br35h=${b}`]);
  t.same(JSON.parse(j.stdout), { categories: { brain: { normal: 2, anomalous: 1, masks: 0 } } }, 'stdout is the JSON alone');
  t.match(j.stderr, /duplicates across datasets/);
  t.match((await runDataCli(['ls', a, '--format', 'nope'])).error?.message, /argument 'nope' is invalid. Allowed choices are mvtec, visa/);
});

t.test('data meta writes the AnomalyCLIP convention, and it reads back', async (t) => {
  const root = tempDir();
  put(join(root, 'readme.txt'), 'x');
  put(join(root, 'bottle/train/good/000.png'), await rgbPng(4, 4));
  put(join(root, 'bottle/test/good/000.png'), await rgbPng(4, 4, [1, 1, 1]));
  put(join(root, 'bottle/test/broken_large/000.png'), await rgbPng(4, 4, [2, 2, 2]));
  put(join(root, 'bottle/ground_truth/broken_large/000_mask.png'), await maskPng(4, 4));
  const r = await runDataCli(['meta', root, '--format', 'mvtec']);
  t.equal(r.error, undefined);
  const text = readFileSync(join(root, 'meta.json'), 'utf8');
  t.ok(text.startsWith('{\n    "train": {\n        "bottle": [\n'), 'indent 4, train first');
  t.ok(text.endsWith('}\n'));
  const meta = JSON.parse(text);
  t.same(meta.test.bottle[0], {
    img_path: 'bottle/test/broken_large/000.png',
    mask_path: 'bottle/ground_truth/broken_large/000_mask.png',
    cls_name: 'bottle',
    specie_name: 'broken_large',
    anomaly: 1,
  });
  t.same(Object.keys(meta.test.bottle[1]), ['img_path', 'mask_path', 'cls_name', 'specie_name', 'anomaly'], 'key order of the convention');
  t.same(meta.train.bottle, [{ img_path: 'bottle/train/good/000.png', mask_path: '', cls_name: 'bottle', specie_name: 'good', anomaly: 0 }]);
  t.same(countByCategory(listDataset('meta', root, { split: 'test' })), countByCategory(listDataset('mvtec', root, { split: 'test' })), 'meta reads back the same counts');

  // Medical sets: train is an empty object.
  const br = tempDir();
  put(join(br, 'yes/y0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [5, 5, 5])));
  put(join(br, 'no/no0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [6, 6, 6])));
  const out = join(tempDir(), 'br35h-meta.json');
  t.equal((await runDataCli(['meta', br, '--format', 'br35h', '--out', out])).error, undefined);
  const m2 = JSON.parse(readFileSync(out, 'utf8'));
  t.same(m2.train, {});
  t.same(m2.test.brain.map((s: { anomaly: number; mask_path: string }) => [s.anomaly, s.mask_path]), [[0, ''], [1, '']]);

  // A folder with problems is refused unless forced.
  const broken = tempDir();
  put(join(broken, 'tile/test/crack/000.png'), await rgbPng(4, 4));
  const refused = await runDataCli(['meta', broken, '--format', 'mvtec']);
  t.match(refused.error?.message, /not writing meta\.json .*: fix the problems above or pass --force/);
  t.match(refused.stderr, /no ground_truth\/ folder/);
  t.notOk(existsSync(join(broken, 'meta.json')));
});
