import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../src/clip/backend.ts';
import { loadClipWeights } from '../../src/clip/weights.ts';
import { TextTower, encodeText, textEmbedsWithTower } from '../../src/clip/tfjs/text.ts';
import { PromptLearner } from '../../src/clip/prompt-learner.ts';
import { Rng } from '../../src/util/rng.ts';
import { CLIP_TINY, clipGolden, excess, pick } from './fixtures/helpers.ts';

await initTf('wasm');
const g = clipGolden();
const w = await loadClipWeights(CLIP_TINY);
const ids = g.int32('text.input_ids'); // [17, 77], 0-padded

t.test('text tower: every block, attention, final LN and embeddings (full 77 positions)', async (t) => {
  const tower = new TextTower(w);
  const collect = { blockOut: new Map(), attnMean: new Map(), finalLn: [] as Float32Array[] };
  const e = textEmbedsWithTower(tower, ids, collect);
  for (const l of [1, 2]) {
    t.ok(excess(collect.blockOut.get(l)!, pick(g.float32('text.block_out'), [17, 2, 77, 32], l - 1), 1e-4) <= 1e-4, `block_out ${l}`);
    t.ok(excess(collect.attnMean.get(l)!, pick(g.float32('text.attn_mean'), [17, 2, 77, 77], l - 1)) <= 1e-5, `attn_mean ${l}`);
  }
  t.ok(excess(collect.finalLn[0], g.float32('text.final_ln'), 1e-4) <= 1e-4, 'final_ln');
  t.ok(excess(e, g.float32('text.text_embeds'), 1e-4) <= 1e-4, 'text_embeds');
  tower.dispose();
});

t.test('encodeText runs only up to the last EOT and gives the same embeddings', async (t) => {
  const e = await encodeText(w, ids);
  t.ok(excess(e, g.float32('text.text_embeds'), 1e-4) <= 1e-4);
  // logits_per_image from the golden image embeddings and ours.
  const img = g.float32('image_embeds_normalized');
  const logits = g.float32('logits_per_image');
  const scale = Math.exp(w.config.logitScale);
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    for (let s = 0; s < 17; s++) {
      let dot = 0;
      let nn = 0;
      for (let k = 0; k < 24; k++) {
        dot += img[i * 24 + k] * e[s * 24 + k];
        nn += e[s * 24 + k] ** 2;
      }
      worst = Math.max(worst, Math.abs((scale * dot) / Math.sqrt(nn) - logits[i * 17 + s]));
    }
  }
  t.ok(worst <= 2e-3, `logits_per_image within 2e-3 (${worst})`);
});

const baseOpts = { nCtx: 4, deepLayers: [], deepLength: 2, normalWords: 'damaged bottle.', anomalyWords: 'flawless bottle.', seed: 3 };

t.test('prompt learner with context = real word embeddings reproduces encode_text', async (t) => {
  const learner = PromptLearner.create(w, baseOpts);
  t.equal(learner.variables.length, 2, 'no deep prompts requested');
  const tower = new TextTower(w);
  // "a photo of a" as context vectors, minus per-image biases that add back.
  const ctx = tower.tokenEmbeddings([320, 1125, 539, 320]);
  const rng = new Rng(5);
  const biasN = rng.normalArray(2 * 32, 0.1);
  const biasA = rng.normalArray(2 * 32, 0.1);
  const minus = (b: Float32Array, row: number) => ctx.map((v, i) => v - b[row * 32 + (i % 32)]);
  learner.load({ ctx_normal: { data: minus(biasN, 0), shape: [4, 32] }, ctx_anomaly: { data: minus(biasA, 0), shape: [4, 32] } });
  const out = tf.tidy(() => {
    const r = learner.encode(tf.tensor2d(biasN, [2, 32]), tf.tensor2d(biasA, [2, 32]));
    return [r.normal.dataSync().slice(), r.anomaly.dataSync().slice()];
  });
  const ref = g.float32('text_embeds_normalized'); // [17, 24]: row 0 "a photo of a damaged bottle.", row 3 "... flawless bottle."
  t.ok(excess(out[0].subarray(0, 24), ref.subarray(0, 24)) <= 1e-5, 'image 0, normal prompt');
  t.ok(excess(out[1].subarray(0, 24), ref.subarray(3 * 24, 4 * 24)) <= 1e-5, 'image 0, anomaly prompt');
  t.ok(excess(out[0].subarray(24), ref.subarray(0, 24)) > 1e-3, 'image 1 has another bias, so another feature');
  tower.dispose();
  learner.dispose();
});

t.test('prompt learner gradients match finite differences', async (t) => {
  await initTf('cpu'); // finite differences want the most exact float32 kernels
  // initStd 0.5: at the method's 0.02 the tiny tower's LayerNorms see near-zero
  // inputs and the loss curves too fast for float32 finite differences.
  const learner = PromptLearner.create(w, { ...baseOpts, deepLayers: [2, 3, 9], normalWords: 'object.', anomalyWords: 'damaged object.', initStd: 0.5 });
  t.equal(learner.variables.length, 3, 'deep layers clipped to the 2-block tower: ctx_n, ctx_a, deep.2');
  t.same(Object.keys(learner.state()), ['ctx_normal', 'ctx_anomaly', 'deep.2']);
  const rng = new Rng(9);
  const R1 = tf.tensor2d(rng.normalArray(2 * 24), [2, 24]);
  const R2 = tf.tensor2d(rng.normalArray(2 * 24), [2, 24]);
  const bN = tf.tensor2d(rng.normalArray(2 * 32, 0.3), [2, 32]);
  const bA = tf.tensor2d(rng.normalArray(2 * 32, 0.3), [2, 32]);
  const loss = (bn: tf.Tensor2D, ba: tf.Tensor2D) => {
    const { normal, anomaly } = learner.encode(bn, ba);
    return tf.add(tf.sum(tf.mul(normal, R1)), tf.sum(tf.mul(anomaly, R2))) as tf.Scalar;
  };
  const { grads } = tf.variableGrads(() => loss(bN, bA), learner.variables);
  const [gN, gA] = tf.grads((bn: tf.Tensor, ba: tf.Tensor) => loss(bn as tf.Tensor2D, ba as tf.Tensor2D))([bN, bA]);
  const h = 2e-3;
  const f = () => tf.tidy(() => loss(bN, bA).dataSync()[0]);

  // Five entries with the largest analytic gradient per tensor.
  const top = (gr: Float32Array) => [...gr.keys()].sort((a, b) => Math.abs(gr[b]) - Math.abs(gr[a])).slice(0, 5);
  for (const v of learner.variables) {
    const gr = grads[v.name].dataSync() as Float32Array;
    t.ok(Math.max(...gr.map(Math.abs)) > 1e-3, `${v.name}: gradient reaches the variable`);
    for (const i of top(gr)) {
      const base = v.dataSync().slice() as Float32Array;
      const at = (d: number) => {
        const p = base.slice();
        p[i] += d;
        tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
        return f();
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
      t.ok(Math.abs(fd - gr[i]) <= 5e-4 + 2e-3 * Math.abs(gr[i]), `variable entry ${i}: analytic ${gr[i].toFixed(5)} vs fd ${fd.toFixed(5)}`);
    }
  }
  for (const [name, b, gb, other] of [['biasN', bN, gN, bA], ['biasA', bA, gA, bN]] as const) {
    const gr = gb.dataSync() as Float32Array;
    for (const i of top(gr)) {
      const at = (d: number) => tf.tidy(() => {
        const p = b.dataSync().slice();
        p[i] += d;
        const pb = tf.tensor2d(p, [2, 32]);
        return (name === 'biasN' ? loss(pb, other) : loss(other, pb)).dataSync()[0];
      });
      const fd = (at(h) - at(-h)) / (2 * h);
      t.ok(Math.abs(fd - gr[i]) <= 5e-4 + 2e-3 * Math.abs(gr[i]), `${name} entry ${i}: analytic ${gr[i].toFixed(5)} vs fd ${fd.toFixed(5)}`);
    }
  }
  // The same gradients on wasm, where Stage 2 trains (no missing kernels).
  const cpuGrads = learner.variables.map((v) => grads[v.name].dataSync().slice());
  await initTf('wasm');
  const wasm = tf.variableGrads(() => loss(bN, bA), learner.variables).grads;
  learner.variables.forEach((v, k) => t.ok(excess(wasm[v.name].dataSync(), cpuGrads[k]) <= 1e-3, `${v.name}: wasm gradient equals cpu`));
  learner.dispose();
});

t.test('prompt learner state round-trips and is seeded', async (t) => {
  const opts = { nCtx: 12, deepLayers: [2, 3, 4, 5, 6, 7, 8, 9], deepLength: 4, normalWords: 'object.', anomalyWords: 'damaged object.', seed: 111 };
  const a = PromptLearner.create(w, opts);
  const b = PromptLearner.create(w, opts);
  t.same(a.state(), b.state(), 'equal seeds, equal initialisation');
  const s = a.state();
  t.same(s.ctx_normal.shape, [12, 32]);
  t.same(s['deep.2'].shape, [4, 32]);
  const std = Math.sqrt(s.ctx_normal.data.reduce((acc, v) => acc + v * v, 0) / s.ctx_normal.data.length);
  t.ok(std > 0.015 && std < 0.025, `N(0, 0.02) initialisation (std ${std.toFixed(4)})`);
  const c = PromptLearner.create(w, { ...opts, seed: 112 });
  c.load(s);
  t.same(c.state(), s);
  t.throws(() => c.load({ ...s, ctx_normal: { data: new Float32Array(4), shape: [2, 2] } }), /"ctx_normal" has shape \[2,2\], expected \[12,32\]/);
  const { ctx_anomaly: _, ...partial } = s;
  t.throws(() => c.load(partial), /"ctx_anomaly" is missing/);
  t.throws(() => a.encode(tf.zeros([2, 32]) as tf.Tensor2D, tf.zeros([3, 32]) as tf.Tensor2D), /biases must both be \[B, 32\]/);
  for (const l of [a, b, c]) l.dispose();
});
