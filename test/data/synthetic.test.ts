/**
 * The generated benchmark: same seed, same bytes; masks cover exactly the
 * drawn defects; the MVTec adapter reads every domain.
 */
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generateBenchmark, renderSample } from '../../src/data/synthetic/generate.ts';
import { DOMAINS } from '../../src/data/synthetic/scenes.ts';
import { listDataset, countByCategory } from '../../src/data/adapters/index.ts';
import { readImage, readMask } from '../../src/data/image-io.ts';
import { syntheticBenchmarkNode } from '../../src/nodes/synthetic-benchmark.ts';
import { getNodeType } from '../../src/nodes/index.ts';
import { tempDir } from './helpers.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

const per = { train_good: 1, test_good: 2, test_anomalous: 4 };

t.test('same seed, same bytes; another seed, other bytes', async (t) => {
  const a = tempDir();
  const b = tempDir();
  const c = tempDir();
  await generateBenchmark(a, { seed: 7, size: 48, perCategory: per });
  await generateBenchmark(b, { seed: 7, size: 48, perCategory: per });
  await generateBenchmark(c, { seed: 8, size: 48, perCategory: per });
  const fa = files(a);
  t.same(fa, files(b));
  t.same(fa, files(c), 'the layout does not depend on the seed');
  let differ = 0;
  for (const f of fa) {
    t.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} identical`);
    if (f.endsWith('.png') && !readFileSync(join(a, f)).equals(readFileSync(join(c, f)))) differ++;
  }
  t.ok(differ > fa.length / 2, 'most images change with the seed');
});

t.test('masks cover exactly the drawn defects', async (t) => {
  const size = 64;
  for (const [domain, spec] of Object.entries(DOMAINS)) {
    for (const [category, cat] of Object.entries(spec.categories)) {
      for (const defect of cat.defects) {
        for (let i = 0; i < 3; i++) {
          const s = renderSample(domain, category, defect, `${domain}/${category}/test/${defect}/${i}`, 11, size);
          const ch = s.image.channels;
          let changed = 0;
          let wrong = 0;
          for (let p = 0; p < size * size; p++) {
            let diff = false;
            for (let c = 0; c < ch; c++) if (s.image.data[p * ch + c] !== s.clean.data[p * ch + c]) diff = true;
            if (diff) changed++;
            if (diff !== (s.mask![p] === 1)) wrong++;
          }
          t.equal(wrong, 0, `${domain}/${category}/${defect}#${i}: changed pixels == mask (${changed} px)`);
          t.ok(changed >= 6, 'the defect is not empty');
        }
      }
    }
  }
  const normal = renderSample('objects', 'disc', null, 'objects/disc/test/good/0', 1, 32);
  t.equal(normal.mask, null);
  t.same(normal.image.data, normal.clean.data);
});

t.test('localized and diffuse defects differ in extent', async (t) => {
  const area = (d: string, cat: string, dom: string) => {
    let total = 0;
    for (let i = 0; i < 4; i++) total += renderSample(dom, cat, d, `k${i}`, 3, 128).mask!.reduce((a, b) => a + b, 0);
    return total / 4;
  };
  const hole = area('hole', 'weave', 'textures');
  const blotch = area('blotch', 'weave', 'textures');
  const scratch = area('scratch', 'weave', 'textures');
  t.ok(hole < 200 && scratch < 300, `holes (${hole}) and scratches (${scratch}) are small`);
  t.ok(blotch > 3 * hole, `blotches (${blotch}) are large`);
});

t.test('written files: MVTec layout, PNG pixels equal the drawing, masks 0/255', async (t) => {
  const out = tempDir();
  const info = await generateBenchmark(out, { seed: 2, size: 40, perCategory: per });
  t.same(Object.keys(info.domains), ['textures', 'objects', 'medical']);
  t.equal(info.domains.medical.domain, 'medical');
  t.equal(info.domains.textures.domain, 'industrial');
  t.same(JSON.parse(readFileSync(join(out, 'benchmark.json'), 'utf8')), info);
  for (const domain of Object.keys(DOMAINS)) {
    const l = listDataset('mvtec', join(out, domain), { split: 'test' });
    t.same(l.problems, [], `${domain}: no problems`);
    const counts = countByCategory(l);
    t.equal(Object.keys(counts).length, 3);
    for (const c of Object.values(counts)) t.same(c, { normal: 2, anomalous: 4, masks: 4 });
    t.equal(listDataset('mvtec', join(out, domain), { split: 'train' }).samples.length, 3);
  }
  const l = listDataset('mvtec', join(out, 'medical'), { split: 'test', categories: ['head'] });
  for (const s of l.samples.filter((x) => x.label === 1)) {
    const rel = relative(join(out, 'medical'), s.image); // head/test/<defect>/NNN.png
    const r = renderSample('medical', 'head', s.defectType, `medical/${rel}`, 2, 40);
    const img = await readImage(s.image);
    const gray = Array.from({ length: 40 * 40 }, (_, i) => img.data[i * 3]);
    t.same(gray, [...r.image.data], `${rel}: written pixels are the drawing`);
    t.equal(readFileSync(s.image)[25], 0, 'medical images are mode L');
    const m = await readMask(s.mask!);
    t.equal(m.nonBinaryPixels, 0, 'mask is 0/255');
    t.same([...m.data], [...r.mask!], 'mask file is the exact mask');
  }
});

t.test('the synthetic-benchmark node', async (t) => {
  t.equal(getNodeType('synthetic-benchmark'), syntheticBenchmarkNode);
  t.equal(syntheticBenchmarkNode.outputs.folder.kind, 'folder');
  t.notOk(syntheticBenchmarkNode.volatile);
  const out = tempDir();
  const r = await syntheticBenchmarkNode.run({
    nodeId: 'gen', params: { seed: 0, size: 32, per_category: { train_good: 1, test_good: 1, test_anomalous: 1 } },
    inputs: {}, inputLists: {}, outputs: { folder: out }, tmpDir: tempDir(),
    runtime: { backend: 'cpu', engine: 'tfjs', jobs: 1, workers: 1, verbose: false },
    log: { info: () => {}, warn: () => {}, data: () => {} }, progress: { total: () => {}, tick: () => {} },
    signal: new AbortController().signal, key: 'k',
  });
  t.match(r!.summary, /3 domains, 9 categories, 32 px/);
  t.ok(statSync(join(out, 'objects/pill/test/good/000.png')).isFile());
});
