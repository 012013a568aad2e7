/**
 * The `dataset` node: samples.json, a content key without absolute paths,
 * the stat cache, and a generated benchmark as its input.
 */
import t from 'tap';
import { cpSync, existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetNode, type DatasetParams } from '../../src/nodes/dataset.ts';
import { getNodeType } from '../../src/nodes/index.ts';
import { generateBenchmark } from '../../src/data/synthetic/generate.ts';
import type { NodeContext, Artifact } from '../../src/runner/types.ts';
import type { DatasetManifest } from '../../src/data/types.ts';
import { maskPng, put, rgbPng, tempDir } from './helpers.ts';

process.env.ENTROAD_CACHE_DIR = tempDir();

function ctx(params: Partial<DatasetParams>, inputs: Record<string, Artifact> = {}): NodeContext<DatasetParams> {
  const out = tempDir();
  const logs: string[] = [];
  return {
    nodeId: 'data',
    params: { split: 'test', mask_threshold: 0, allow_missing_masks: false, format: 'mvtec', ...params } as DatasetParams,
    inputs,
    inputLists: {},
    outputs: { dataset: join(out, 'dataset') },
    tmpDir: tempDir(),
    runtime: { backend: 'cpu', engine: 'tfjs', jobs: 1, workers: 1, verbose: false },
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m), data: () => {} },
    progress: { total: () => {}, tick: () => {} },
    signal: new AbortController().signal,
    key: 'k',
  };
}

async function layout(root: string): Promise<void> {
  put(join(root, 'readme.txt'), 'x');
  put(join(root, 'tile/test/good/000.png'), await rgbPng(4, 4));
  put(join(root, 'tile/test/crack/000.png'), await rgbPng(4, 4, [5, 6, 7]));
  put(join(root, 'tile/ground_truth/crack/000_mask.png'), await maskPng(4, 4));
}

t.test('registered, volatile, with the contract ports', async (t) => {
  t.equal(getNodeType('dataset'), datasetNode);
  t.equal(datasetNode.volatile, true);
  t.same(datasetNode.inputs.root, { kind: 'folder', optional: true, description: datasetNode.inputs.root.description });
  t.equal(datasetNode.outputs.dataset.kind, 'dataset');
});

t.test('writes samples.json; a copied dataset gives the same key', async (t) => {
  const a = tempDir();
  await layout(a);
  const b = tempDir();
  cpSync(a, b, { recursive: true });

  const ca = ctx({ root: a });
  const ra = await datasetNode.run(ca);
  const rb = await datasetNode.run(ctx({ root: b }));
  t.same(ra!.contentKey, rb!.contentKey, 'same content, different folder: same key');
  t.notOk(JSON.stringify(ra!.contentKey).includes(a), 'no absolute path in the key');

  const m = JSON.parse(readFileSync(join(ca.outputs.dataset, 'samples.json'), 'utf8')) as DatasetManifest;
  t.equal(m.name, 'mvtec');
  t.equal(m.domain, 'industrial');
  t.equal(m.hasMasks, true);
  t.equal(m.maskThreshold, 0);
  t.equal(m.samples.length, 2);
  t.equal(m.samples[0].imagePath, join(a, 'tile/test/crack/000.png'));
  t.equal(m.samples[0].maskPath, join(a, 'tile/ground_truth/crack/000_mask.png'));
  t.match(m.samples[0].imageHash, /^[0-9a-f]{64}$/);
  t.ok(existsSync(join(process.env.ENTROAD_CACHE_DIR!, 'hash-index.json')), 'stat cache written under the cache dir');

  // mtime alone never changes the key; content does.
  utimesSync(join(b, 'tile/test/good/000.png'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  t.same((await datasetNode.run(ctx({ root: b })))!.contentKey, ra!.contentKey, 'touched file: same key');
  writeFileSync(join(b, 'tile/test/good/000.png'), await rgbPng(4, 4, [0, 0, 1]));
  t.not(JSON.stringify((await datasetNode.run(ctx({ root: b })))!.contentKey), JSON.stringify(ra!.contentKey), 'changed bytes: new key');
  // The threshold changes every binarised mask, so it is part of the key.
  t.not(JSON.stringify((await datasetNode.run(ctx({ root: a, mask_threshold: 127 })))!.contentKey), JSON.stringify(ra!.contentKey));
});

t.test('the stat cache answers unchanged files without reading them', async (t) => {
  const a = tempDir();
  await layout(a);
  const f = join(a, 'tile/test/good/000.png');
  const st = statSync(f);
  // Plant a fake hash for the file's (size, mtime): it must be used as is.
  const cache = tempDir();
  const entry = { size: st.size, mtimeMs: st.mtimeMs, sha256: 'f'.repeat(64), type: 'png' };
  writeFileSync(join(cache, 'hash-index.json'), JSON.stringify({ version: 1, entries: { [f]: entry } }));
  process.env.ENTROAD_CACHE_DIR = cache;
  const c = ctx({ root: a });
  await datasetNode.run(c);
  const m = JSON.parse(readFileSync(join(c.outputs.dataset, 'samples.json'), 'utf8')) as DatasetManifest;
  t.equal(m.samples.find((s) => s.imagePath === f)!.imageHash, 'f'.repeat(64));
  const index = JSON.parse(readFileSync(join(cache, 'hash-index.json'), 'utf8'));
  t.equal(Object.keys(index.entries).length, 3, 'the other files were hashed and added');
  t.equal(index.entries[f].sha256, 'f'.repeat(64));
});

t.test('errors name the node, the file and what is expected', async (t) => {
  await t.rejects(datasetNode.run(ctx({})), /node "data": set the param "root" .* or connect the input "root"/);
  const a = tempDir();
  put(join(a, 'tile/test/crack/000.png'), await rgbPng(4, 4));
  await t.rejects(datasetNode.run(ctx({ root: a })), /1 problem\(s\):\n.*tile\/ground_truth: missing: category "tile"/);
  const r = await datasetNode.run(ctx({ root: a, allow_missing_masks: true }));
  t.match(r!.summary, /1 image \(1 anomalous\), 1 category/);
  await t.rejects(datasetNode.run(ctx({ root: a, split: 'train' })), /tile\/train: category "tile" has no train\/ folder/);
});

t.test('a generated benchmark as input: subdir picks the domain', async (t) => {
  const gen = tempDir();
  await generateBenchmark(gen, { seed: 1, size: 32, perCategory: { train_good: 1, test_good: 1, test_anomalous: 2 } });
  const input: Artifact = { kind: 'folder', dir: gen, key: 'abc' };
  const c = ctx({ subdir: 'medical' }, { root: input });
  const r = await datasetNode.run(c);
  const m = JSON.parse(readFileSync(join(c.outputs.dataset, 'samples.json'), 'utf8')) as DatasetManifest;
  t.equal(m.domain, 'medical', 'domain from benchmark.json');
  t.equal(m.name, 'synthetic-medical');
  t.same([...new Set(m.samples.map((s) => s.category))], ['abdomen', 'chest', 'head']);
  t.equal(m.samples.length, 9);
  t.match(r!.summary, /9 images \(6 anomalous\), 3 categories/);
  const ci = ctx({ subdir: 'objects' }, { root: input });
  await datasetNode.run(ci);
  t.equal(JSON.parse(readFileSync(join(ci.outputs.dataset, 'samples.json'), 'utf8')).domain, 'industrial');
});
