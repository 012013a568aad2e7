import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import {
  project, rawSimilarity, quantileThresholds, quantileDropMask, retrieve,
} from '../../../src/method/retrieval.ts';
import { Rng } from '../../../src/util/rng.ts';
import { l2NormalizeRows } from '../../../src/method/smoothing.ts';
import { g, gi, goldenJson, excess } from './golden.ts';

await initTf('wasm');
const tol = (a: ArrayLike<number>, name: string) => excess(a, g(name), 1e-5, 1e-5) <= 0;
const proj = (p: 'q' | 'k') => ({
  weight: tf.tensor2d(g(`retrieval.W${p}`), [5, 6]),
  bias: tf.tensor1d(g(`retrieval.b${p}`)),
});

t.test('raw similarity, thresholds, masks (q80, q95)', async (t) => {
  const raw = rawSimilarity(g('retrieval.q'), g('retrieval.keys'), 6);
  t.ok(tol(raw, 'retrieval.raw_sim'));
  for (const qq of [80, 95]) {
    const thr = quantileThresholds(raw, 4, 10, qq / 100);
    t.ok(tol(thr, `retrieval.thr_q${qq}`), `thr q${qq}`);
    t.ok(excess(thr, goldenJson.cases.retrieval[`q${qq}`].thr, 1e-6) <= 0, `thr q${qq} vs float64 scalars`);
    t.same([...quantileDropMask(raw, 4, 10, qq / 100)], [...gi(`retrieval.mask_q${qq}`)], `mask q${qq} exact`);
  }
  t.equal(quantileDropMask(raw, 4, 10, 0.95)[3], 1, 'q[0] = keys[3] drops its own copy');
});

t.test('projected retrieval with and without the filter', async (t) => {
  const q = project(tf.tensor2d(g('retrieval.q'), [4, 6]), proj('q'));
  const k = project(tf.tensor2d(g('retrieval.keys'), [10, 6]), proj('k'));
  t.ok(tol(q.dataSync(), 'retrieval.proj_q'));
  t.ok(tol(k.dataSync(), 'retrieval.proj_k'));
  const V = tf.tensor2d(g('retrieval.values'), [10, 2]);
  const raw = rawSimilarity(g('retrieval.q'), g('retrieval.keys'), 6);

  const plain = retrieve(q, k, V);
  t.ok(tol(plain.sim.dataSync(), 'retrieval.sim'));
  t.ok(tol(plain.w.dataSync(), 'retrieval.w_nofilter'));
  t.ok(tol(plain.o.dataSync(), 'retrieval.o_nofilter'));
  for (const qq of [80, 95]) {
    const r = retrieve(q, k, V, quantileDropMask(raw, 4, 10, qq / 100));
    t.ok(tol(r.sim.dataSync(), `retrieval.sim_masked_q${qq}`), `sim_masked q${qq} (with -inf)`);
    t.ok(tol(r.w.dataSync(), `retrieval.w_q${qq}`));
    t.ok(tol(r.o.dataSync(), `retrieval.o_q${qq}`));
  }
  const a80 = retrieve(q, k, V, quantileDropMask(raw, 4, 10, 0.8)).anomaly.dataSync();
  t.ok(excess(a80, goldenJson.cases.retrieval.anomaly_probability_q80, 1e-5, 1e-5) <= 0);
});

t.test('ties at the threshold are kept, only strictly greater is dropped', async (t) => {
  const raw = rawSimilarity(g('retrieval_tie.q'), g('retrieval_tie.keys'), 6);
  t.ok(tol(raw, 'retrieval_tie.raw_sim'));
  const thr = Float32Array.from(quantileThresholds(raw, 2, 10, 0.8));
  t.same([...thr], [...g('retrieval_tie.thr_q80')], 'thr exact');
  const drop = quantileDropMask(raw, 2, 10, 0.8);
  t.same([...drop], [...gi('retrieval_tie.mask_q80')]);
  const q = project(tf.tensor2d(g('retrieval_tie.q'), [2, 6]), proj('q'));
  const k = project(tf.tensor2d(g('retrieval_tie.keys'), [10, 6]), proj('k'));
  const r = retrieve(q, k, tf.tensor2d(g('retrieval_tie.values'), [10, 2]), drop);
  t.ok(tol(r.sim.dataSync(), 'retrieval_tie.sim_masked_q80'));
  t.ok(tol(r.w.dataSync(), 'retrieval_tie.w_q80'));
  t.ok(tol(r.o.dataSync(), 'retrieval_tie.o_q80'));
});

t.test('property: a training query never retrieves its own key', async (t) => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 200; trial++) {
    const C = rng.int(2, 9);
    const M = rng.int(2, 60);
    const qq = rng.next() < 0.5 ? 0.8 : 0.95;
    const K = l2NormalizeRows(rng.normalArray(M * C), C);
    const self = rng.int(0, M);
    const q = K.slice(self * C, (self + 1) * C); // the query is in the memory
    const raw = rawSimilarity(q, K, C);
    const drop = quantileDropMask(raw, 1, M, qq);
    if (drop[self] !== 1) t.fail(`trial ${trial}: M=${M} C=${C} q=${qq} kept its own key`);
    if (drop.every((d) => d === 1)) t.fail(`trial ${trial}: every key dropped`);
  }
  t.pass('200 random memories');
});

t.test('gradients pass through the filter to both projections, finite', async (t) => {
  const raw = rawSimilarity(g('retrieval.q'), g('retrieval.keys'), 6);
  const drop = quantileDropMask(raw, 4, 10, 0.8);
  const pq = proj('q');
  const pk = proj('k');
  const xq = tf.tensor2d(g('retrieval.q'), [4, 6]);
  const xk = tf.tensor2d(g('retrieval.keys'), [10, 6]);
  const V = tf.tensor2d(g('retrieval.values'), [10, 2]);
  const grads = tf.grads((wq: tf.Tensor, wk: tf.Tensor) => {
    const r = retrieve(
      project(xq, { weight: wq as tf.Tensor2D, bias: pq.bias }),
      project(xk, { weight: wk as tf.Tensor2D, bias: pk.bias }),
      V, drop,
    );
    return r.anomaly.sum();
  })([pq.weight, pk.weight]);
  for (const gr of grads) {
    const d = gr.dataSync();
    t.ok(d.every(Number.isFinite), 'finite');
    t.ok(d.some((v) => v !== 0), 'non-zero');
  }
});

t.test('quickselect thresholds equal sort-and-interpolate on random rows with ties', async (t) => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 300; trial++) {
    const M = rng.int(1, 80);
    const row = new Float32Array(M);
    for (let j = 0; j < M; j++) row[j] = rng.next() < 0.3 ? rng.int(0, 3) : rng.normal();
    const qq = [0, 0.5, 0.8, 0.95, 1][rng.int(0, 5)];
    const s = Float64Array.from(row).sort();
    const pos = qq * (M - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, M - 1);
    const want = s[lo] + (pos - lo) * (s[hi] - s[lo]);
    const got = quantileThresholds(row, 1, M, qq)[0];
    if (Math.abs(got - want) > 1e-12) t.fail(`trial ${trial}: M=${M} q=${qq}: ${got} vs ${want}`);
  }
  t.pass('300 rows');
});

t.test('matMul2d: same value and gradients as tf.matMul, without transpose flags', async (t) => {
  const { matMul2d } = await import('../../../src/method/stage1-matmul.ts');
  const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
  const w = tf.randomNormal([5, 3], 0, 1, 'float32', 3);
  t.ok(excess(matMul2d(a, b).dataSync(), tf.matMul(a, b).dataSync(), 1e-6) <= 0);
  const f = (mm: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) =>
    tf.sum(tf.mul(mm(x as tf.Tensor2D, y as tf.Tensor2D), w));
  const [ga, gb] = tf.grads(f(matMul2d))([a, b]);
  const [ra, rb] = tf.grads(f((x, y) => tf.matMul(x, y)))([a, b]);
  t.ok(excess(ga.dataSync(), ra.dataSync(), 1e-5) <= 0, 'd/da');
  t.ok(excess(gb.dataSync(), rb.dataSync(), 1e-5) <= 0, 'd/db');
});
