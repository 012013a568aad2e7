import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import {
  Stage1Model, MemoryTensors, stage1Loss, quantileFilter, trainStage1, stage1Forward, type Stage1Hyper,
} from '../../../src/method/stage1.ts';
import { syntheticImages, syntheticBank, batchOf, E, D, SIZE, G } from './synthetic.ts';

await initTf('wasm');
const images = syntheticImages(12);
const bank = syntheticBank(images);
const hyper: Stage1Hyper = {
  lr: 4e-4, beta1: 0.5, beta2: 0.999, batchSize: 4, epochs: 2, seed: 111, qImage: 0.95, qPatch: 0.8,
};
const load = async (idx: number[]) => batchOf(images, idx);

t.test('memory bank: one image key per image, at most two patch keys', async (t) => {
  t.equal(bank.ownerImg.length, 12);
  t.same([...bank.Vimg.subarray(0, 4)], [1, 0, 0, 1], 'one-hot [normal, anomaly] image values');
  // normal images give one normal key; anomalous ones (a 2x2 block of a 3x3 grid) give both
  t.equal(bank.ownerPat.length, 6 + 6 * 2);
  for (let j = 0; j < bank.ownerPat.length; j++) {
    let ss = 0;
    for (let c = 0; c < D; c++) ss += bank.Kpat[j * D + c] ** 2;
    t.ok(Math.abs(ss - 1) < 1e-5, `patch key ${j} unit norm`);
  }
});

t.test('gradients reach exactly the four projections', async (t) => {
  const model = Stage1Model.init(E, D, 5);
  const mem = new MemoryTensors(bank);
  const batch = batchOf(images, [0, 1, 2, 3]);
  const drops = quantileFilter(mem, batch, 0.95, 0.8);
  const before = bank.Kpat.slice();
  // no varList: tfjs differentiates every trainable variable that exists
  const { value, grads } = tf.variableGrads(
    () => stage1Loss(model, mem, batch, { masks: batch.masks, labels: batch.labels, size: SIZE }, drops).total,
  );
  t.ok(Number.isFinite(value.dataSync()[0]));
  const names = Object.keys(grads).map((n) => n.replace(/^stage1_\d+\//, '')).sort();
  t.same(names, ['img_k.bias', 'img_k.weight', 'img_q.bias', 'img_q.weight', 'pat_k.bias', 'pat_k.weight', 'pat_q.bias', 'pat_q.weight']);
  for (const [n, gr] of Object.entries(grads)) {
    const d = gr.dataSync();
    t.ok(d.every(Number.isFinite) && d.some((v) => v !== 0), `${n}: finite and non-zero`);
  }
  t.same([...bank.Kpat], [...before], 'memory keys untouched');
  model.dispose();
  mem.dispose();
});

t.test('training: same seed, same numbers; the loss goes down; no self-retrieval', async (t) => {
  const run = async (seed: number) => {
    const model = Stage1Model.init(E, D, seed);
    const mem = new MemoryTensors(bank);
    const recs = await trainStage1(model, mem, images.length, load, { ...hyper, seed, epochs: 30, lr: 1e-2 }, SIZE);
    const params = model.toParams();
    model.dispose();
    mem.dispose();
    return { recs, params };
  };
  const a = await run(111);
  const b = await run(111);
  const c = await run(112);
  t.same(a.recs.map((r) => r.loss), b.recs.map((r) => r.loss), 'identical losses');
  t.same([...a.params['pat_q.weight'].data], [...b.params['pat_q.weight'].data], 'identical weights');
  t.not(a.params['pat_q.weight'].data[0], c.params['pat_q.weight'].data[0], 'another seed differs');
  t.equal(a.recs.length, 30 * 3, '3 steps per epoch');
  const first = a.recs.slice(0, 3).reduce((s, r) => s + r.loss, 0);
  const last = a.recs.slice(-3).reduce((s, r) => s + r.loss, 0);
  t.ok(last < first, `loss falls over training (${(first / 3).toFixed(4)} -> ${(last / 3).toFixed(4)})`);
  t.ok(a.recs.every((r) => r.selfKept === 0), 'the image filter drops every query\'s own key');
});

t.test('a non-finite loss stops training with the step number', async (t) => {
  const model = Stage1Model.init(E, D, 1);
  const mem = new MemoryTensors(bank);
  let calls = 0;
  const poisoned = async (idx: number[]) => {
    const b = batchOf(images, idx);
    if (++calls === 2) b.qPat[0] = NaN;
    return b;
  };
  await t.rejects(trainStage1(model, mem, images.length, poisoned, hyper, SIZE), /loss is NaN at step 1/);
  model.dispose();
  mem.dispose();
});

t.test('forward shapes and probability ranges', async (t) => {
  const model = Stage1Model.init(E, D, 2);
  const mem = new MemoryTensors(bank);
  const { aRet, p } = stage1Forward(model, mem, batchOf(images, [0, 5]));
  t.same(aRet.shape, [2]);
  t.same(p.shape, [2, G * G]);
  t.ok([...p.dataSync(), ...aRet.dataSync()].every((v) => v >= 0 && v <= 1));
  model.dispose();
  mem.dispose();
});

t.test('precomputed keys give the same retrieval as keys projected in the forward pass', async (t) => {
  const { projectKeys } = await import('../../../src/method/stage1.ts');
  const model = Stage1Model.init(E, D, 3);
  const mem = new MemoryTensors(bank);
  const batch = batchOf(images, [2, 3, 4]);
  const keys = projectKeys(model, mem);
  const a = stage1Forward(model, mem, batch);
  const b = stage1Forward(model, mem, batch, {}, keys);
  t.same([...a.p.dataSync()], [...b.p.dataSync()]);
  t.same([...a.aRet.dataSync()], [...b.aRet.dataSync()]);
  model.dispose();
  mem.dispose();
});
