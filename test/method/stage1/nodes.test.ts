// The four Stage-1 nodes on small datasets: clip-features end to end against
// the method goldens (clip-tiny fixture weights, the preprocessed fixture
// image), then memory-bank -> stage1-train -> retrieval on the tiny backbone.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../../src/util/safetensors.ts';
import { getNodeType } from '../../../src/nodes/index.ts';
import '../../../src/nodes/method/clip-features.ts';
import '../../../src/nodes/method/memory-bank.ts';
import '../../../src/nodes/method/stage1-train.ts';
import '../../../src/nodes/method/retrieval.ts';
import { initTf } from '../../../src/clip/backend.ts';
import { neighbourSmooth, l2NormalizeRows } from '../../../src/method/smoothing.ts';
import { structuralEntropy } from '../../../src/method/entropy.ts';
import { Rng } from '../../../src/util/rng.ts';
import { g, excess, fixtureDir } from './golden.ts';
import { runNode, writeDataset, resolveParams, type SynthImage } from './node-context.ts';

await initTf('wasm');
const root = mkdtempSync(join(tmpdir(), 'entroad-stage1-nodes-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const clipTinyDir = join(fixtureDir, '../clip-tiny');
const clipGolden = readSafetensors(join(clipTinyDir, 'golden.safetensors'));

/** A 32x32 image: noise, plus a bright square where the mask is 1. */
function synthImage(rng: Rng, anomalous: boolean): SynthImage {
  const size = 32;
  const rgb = new Uint8Array(size * size * 3);
  for (let k = 0; k < rgb.length; k++) rgb[k] = 90 + rng.int(0, 40);
  if (!anomalous) return { rgb, size };
  const mask = new Uint8Array(size * size);
  const y0 = rng.int(0, 16);
  const x0 = rng.int(0, 16);
  for (let y = y0; y < y0 + 16; y++)
    for (let x = x0; x < x0 + 16; x++) {
      mask[y * size + x] = 1;
      rgb.fill(250, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  return { rgb, size, mask };
}

for (const engine of ['tfjs', 'onnx']) t.test(`clip-features end to end against the V-V and entropy goldens (${engine} engine)`, async (t) => {
  const rng = new Rng(4);
  const images = [synthImage(rng, false), synthImage(rng, false)];
  // preproc.raw0.cropped_u8 is 32x32 already: preprocessing at 32 leaves it
  // unresized, so its network input is vv32.input[2]
  images.push({ rgb: clipGolden.bytes('preproc.raw0.cropped_u8'), size: 32 });
  const ds = await writeDataset(root, `golden-ds-${engine}`, images);
  const params = {
    backbone: clipTinyDir, size: 32, map_layers: [2, 3], entropy_layers: [1, 2, 3], mem_layer: 3,
    vv_from: 2, batch_size: 2, keep_attention: true,
  };
  const ran = await runNode(root, 'clip-features', `feat-${engine}`, params, { dataset: ds }, { engine });
  const dir = ran.outputs.features;
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  t.match(index, { grid: 4, size: 32, embedDim: 24, memDim: 64, mapLayers: [2, 3], memLayer: 3 });
  t.equal(index.sampleIds.length, 3);
  t.equal(ran.ticks, 3, 'progress ticks once per image');

  const f = readSafetensors(join(dir, 'img-2.safetensors'));
  const T = 17;
  const row = (name: string, j: number, C: number) => {
    const all = g(name); // [3, nvv, T, C]
    const nvv = all.length / (3 * T * C);
    return all.subarray(((2 * nvv + j) * T + 1) * C, (2 * nvv + j + 1) * T * C); // image 2, class dropped
  };
  t.ok(excess(f.float32('global'), g('vv32.global_no_ln_post').subarray(48, 72), 1e-4, 1e-4) <= 0, 'global without ln_post');
  for (const [j, l] of [[0, 2], [1, 3]]) {
    const want = l2NormalizeRows(neighbourSmooth(row('vv32.vv_tokens_proj', j, 24), 4, 24), 24);
    t.ok(excess(f.float32(`patch.${l}`), want, 1e-4, 1e-4) <= 0, `patch.${l} = smoothed, normalised V-V tokens`);
  }
  const wantMem = neighbourSmooth(row('vv32.vv_tokens_ln_post', 1, 64), 4, 64);
  t.ok(excess(f.float32('mem'), wantMem, 1e-4, 1e-4) <= 0, 'mem = smoothed ln_post V-V tokens of block 3');
  const perLayer = g('entropy32.per_layer'); // [3,3,16]
  for (const l of [1, 2, 3]) {
    const want = perLayer.subarray((2 * 3 + l - 1) * 16, (2 * 3 + l) * 16);
    t.ok(excess(f.float32(`entropy.${l}`), want, 1e-4) <= 0, `entropy.${l} end to end (atol 1e-4)`);
    t.equal(f.tensors.get(`attn.${l}`)!.dtype, 'F16', `attn.${l} kept as F16`);
  }

  const key = await getNodeType('clip-features')!.keyParams!(resolveParams('clip-features', params) as never);
  t.notMatch(JSON.stringify(key), clipTinyDir, 'the folder path does not enter the key');
  t.match(JSON.stringify(key), /"digest":"[0-9a-f]{64}"/, 'its content digest does');
});

t.test('clip-features rejects layers beyond the backbone, naming the param', async (t) => {
  const ds = await writeDataset(root, 'one', [synthImage(new Rng(1), false)]);
  await t.rejects(
    runNode(root, 'clip-features', 'bad', { size: 32 }, { dataset: ds }),
    /param map_layers names block\(s\) 6, 12, 18, 24 .* has 4 blocks.*\[1, 2, 3, 4\]/,
  );
});

t.test('memory-bank -> stage1-train -> retrieval on the tiny backbone', async (t) => {
  const rng = new Rng(9);
  const images = Array.from({ length: 10 }, (_, i) => synthImage(rng, i % 2 === 1));
  const ds = await writeDataset(root, 'aux', images);
  const feat = await runNode(root, 'clip-features', 'aux-feat', {
    size: 32, map_layers: [2, 3, 4], entropy_layers: [1, 2, 3, 4], mem_layer: 4, batch_size: 4,
  }, { dataset: ds });
  const features = feat.outputs.features;
  const f0 = readSafetensors(join(features, 'img-0.safetensors'));
  t.notOk(f0.tensors.has('attn.4'), 'no attention stored by default');
  t.same(f0.shape('patch.4'), [16, 64]);

  const mb = await runNode(root, 'memory-bank', 'mem', {}, { features, dataset: ds });
  const memFile = readSafetensors(join(mb.outputs.memory, 'memory.safetensors'));
  t.same(memFile.shape('K_img'), [10, 64]);
  t.same([...memFile.int32('owner_img')], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const ownerPat = [...memFile.int32('owner_pat')];
  const vPat = memFile.float32('V_pat');
  // a 16x16 square on a 4x4 grid of 8px cells always fills at least one whole cell
  for (let i = 0; i < 10; i++) {
    const keys = ownerPat.map((o, j) => [o, j]).filter(([o]) => o === i).map(([, j]) => vPat[j * 2 + 1]);
    t.same(keys, i % 2 ? [0, 1] : [0], `image ${i}: ${i % 2 ? 'normal + anomaly' : 'normal'} prototype`);
  }

  const train = (id: string) =>
    runNode(root, 'stage1-train', id, { batch_size: 4, epochs: 2 }, { features, memory: mb.outputs.memory, dataset: ds });
  const s1 = await train('s1');
  const losses = s1.records.filter((r) => r.event === 'loss');
  t.equal(losses.length, 6, 'one loss record per step (3 steps x 2 epochs)');
  t.match(losses[0].fields, { step: 0, epoch: 0, loss: Number, focal: Number, dice: Number, bce: Number });
  t.equal(s1.ticks, 6);
  const info = JSON.parse(readFileSync(join(s1.outputs.model, 'model.json'), 'utf8'));
  t.match(info, { kind: 'stage1', embedDim: 64, memDim: 64, steps: 6, normalizePatchQueries: true });
  const model = readSafetensors(join(s1.outputs.model, 'model.safetensors'));
  t.same(model.shape('pat_q.weight'), [64, 64]);
  const again = await train('s1-again');
  t.same(
    readFileSync(join(again.outputs.model, 'model.safetensors')),
    readFileSync(join(s1.outputs.model, 'model.safetensors')),
    'same seed, same bytes',
  );

  const retrieve = (id: string, filter: boolean) =>
    runNode(root, 'retrieval', id, { filter }, { features, memory: mb.outputs.memory, model: s1.outputs.model });
  const r = await retrieve('ret', false);
  const rf = readSafetensors(join(r.outputs.retrieval, 'retrieval.safetensors'));
  t.same(rf.shape('a_ret'), [10]);
  t.same(rf.shape('p'), [10, 16]);
  t.ok([...rf.float32('p'), ...rf.float32('a_ret')].every((v) => v >= 0 && v <= 1), 'probabilities');
  const ids = (d: string) => JSON.parse(readFileSync(join(d, 'index.json'), 'utf8')).sampleIds;
  t.same(ids(r.outputs.retrieval), ids(features), 'sampleIds in the features order');
  const filtered = readSafetensors(join((await retrieve('ret-f', true)).outputs.retrieval, 'retrieval.safetensors'));
  t.not(filtered.float32('a_ret')[0], rf.float32('a_ret')[0], 'the filter changes the retrieval of a memory image');
});

t.test('stage1-train refuses an anomalous image without a mask', async (t) => {
  const rng = new Rng(2);
  const ds = await writeDataset(root, 'nomask', [synthImage(rng, false), synthImage(rng, true)]);
  const samples = JSON.parse(readFileSync(join(ds, 'samples.json'), 'utf8'));
  samples.samples[1].maskPath = null;
  (await import('node:fs')).writeFileSync(join(ds, 'samples.json'), JSON.stringify(samples));
  const feat = await runNode(root, 'clip-features', 'nm-feat', {
    size: 32, map_layers: [4], entropy_layers: [4], mem_layer: 4,
  }, { dataset: ds });
  await t.rejects(
    runNode(root, 'memory-bank', 'nm-mem', {}, { features: feat.outputs.features, dataset: ds }),
    /anomalous sample "cat\/bad\/1.png" has no mask/,
  );
});
