import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import { Rng } from '../../../src/util/rng.ts';
import {
  branchLoss,
  branchWeights,
  Stage2Model,
  stage2Loss,
  type Stage2Batch,
} from '../../../src/method/stage2-model.ts';
import { trainStage2, type Stage2Data, type StepRecord } from '../../../src/method/stage2-train.ts';
import { FakePrompt } from './fake-prompt.ts';

await initTf(process.env.ENTROAD_BACKEND ?? 'wasm');

const g = 4; // grid
const N = g * g;
const E = 8;
const W = 12; // text width
const S = 16; // loss size

/** A fixed batch: Z rows unit-norm, a square defect in the masks of images 0 and 2. */
function fixedBatch(B: number, layers = 2, seed = 5): { Z: Float32Array[]; tN: Float32Array; tA: Float32Array; Y: Float32Array } {
  const rng = new Rng(seed);
  const Z = Array.from({ length: layers }, () => {
    const z = rng.normalArray(B * N * E);
    for (let r = 0; r < B * N; r++) {
      let s = 0;
      for (let d = 0; d < E; d++) s += z[r * E + d] ** 2;
      for (let d = 0; d < E; d++) z[r * E + d] /= Math.sqrt(s);
    }
    return z;
  });
  const Y = new Float32Array(B * S * S);
  for (const b of [0, 2].filter((b) => b < B)) {
    for (let y = 4; y < 10; y++) for (let x = 6; x < 12; x++) Y[b * S * S + y * S + x] = 1;
  }
  return { Z, tN: rng.normalArray(B * E, 0.3), tA: rng.normalArray(B * E, 0.3), Y };
}

function toBatch(raw: ReturnType<typeof fixedBatch>, B: number): Stage2Batch {
  return {
    Z: raw.Z.map((z) => tf.tensor3d(z, [B, N, E])),
    tN: tf.tensor2d(raw.tN, [B, E]),
    tA: tf.tensor2d(raw.tA, [B, E]),
    Y: raw.Y,
  };
}

const opts = {
  epochs: 1,
  batchSize: 4,
  lr: 5e-3,
  beta1: 0.5,
  beta2: 0.999,
  seed: 111,
  tauS: 0.07,
  lambdaA: 0.7,
  lambdaB: 0.3,
  grid: g,
  lossSize: S,
};

function fixedData(B: number, count: number): Stage2Data {
  const raw = fixedBatch(B);
  return { count, load: async () => toBatch(raw, B) };
}

function lossOf(model: Stage2Model, B: number): number {
  const batch = toBatch(fixedBatch(B), B);
  const v = tf.tidy(() => stage2Loss(model, batch, branchWeights(0.7, 0.3, 2), 0.07, opts).loss.dataSync()[0]);
  tf.dispose([...batch.Z, batch.tN, batch.tA]);
  return v;
}

t.test('lambda normalisation (Eq. 19)', async (t) => {
  t.same(branchWeights(0.7, 0.3, 2), [0.7, 0.3]);
  t.same(branchWeights(2, 2, 2), [0.5, 0.5]);
  t.same(branchWeights(0.7, 0.3, 1), [1], 'one branch: lambda_B = 0');
  t.throws(() => branchWeights(0, 0, 2), /positive sum/);
});

t.test('S_a is the two-class softmax over (Z u_n, Z u_a) / tau_s', async (t) => {
  const model = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
  const raw = fixedBatch(2, 1);
  const b = toBatch(raw, 2);
  const [Sa] = model.anomalyProbs(1, b.Z, b.tN, b.tA, 0.07);
  const { uN, uA } = model.textFeatures(1, b.tN, b.tA);
  const un = uN.arraySync();
  const ua = uA.arraySync();
  const sa = Sa.arraySync();
  let worst = 0;
  for (let i = 0; i < 2; i++) {
    for (let n = 0; n < N; n++) {
      const row = raw.Z[0].subarray((i * N + n) * E, (i * N + n + 1) * E);
      const ln = row.reduce((s, v, d) => s + v * un[i][d], 0) / 0.07;
      const la = row.reduce((s, v, d) => s + v * ua[i][d], 0) / 0.07;
      const m = Math.max(ln, la);
      const expect = Math.exp(la - m) / (Math.exp(ln - m) + Math.exp(la - m));
      worst = Math.max(worst, Math.abs(sa[i][n] - expect));
    }
  }
  t.ok(worst < 1e-5, `max deviation ${worst}`);
  for (const r of un) t.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5, 'u_n unit norm');
  tf.dispose([...b.Z, b.tN, b.tA, b.Y, Sa, uN, uA]);
  model.dispose();
});

t.test('branch loss of a perfect constant map is small, of an inverted one large', async (t) => {
  // S_a exactly equal to the mask at grid level -> upsampled values are within (0,1)
  const Y = new Float32Array(S * S);
  const good = branchLoss([tf.fill([1, N], 1e-4) as tf.Tensor2D], Y, { grid: g, lossSize: S });
  const bad = branchLoss([tf.fill([1, N], 0.9) as tf.Tensor2D], Y, { grid: g, lossSize: S });
  // normal image: dice(S_a, 0) = 1 - eps/(sum S_a + eps); dice(S_n, 1) ~ S_a share
  t.ok(good.dataSync()[0] < bad.dataSync()[0]);
  // focal of constant 0.9 on Y = 0: -(0.5)(0.81) log(0.1 + 1e-5)
  const focal = -0.5 * 0.81 * Math.log(0.1 + 1e-5);
  const dice1 = 1 - 1e-5 / (0.9 * S * S + 1e-5);
  const dice2 = 1 - (2 * 0.1 * S * S + 1e-5) / (0.1 * S * S + S * S + 1e-5);
  t.ok(Math.abs(bad.dataSync()[0] - (focal + dice1 + dice2)) < 1e-5, 'Eq. 18 by hand');
});

t.test('gradients reach exactly the prompt learner and both MLPs; frozen weights unchanged', async (t) => {
  const prompt = new FakePrompt(W, E, 1);
  const model = Stage2Model.create(prompt, 2, 3);
  t.equal(model.variables.length, 2 + 2 * 4, 'prompt (2) + two MLPs (4 each)');
  const frozenBefore = prompt.frozen.dataSync().slice();
  const batch = toBatch(fixedBatch(4), 4);
  const { grads } = tf.variableGrads(
    () => stage2Loss(model, batch, [0.7, 0.3], 0.07, opts).loss,
    model.variables,
  );
  for (const v of model.variables) {
    const gnorm = tf.norm(grads[v.name]).dataSync()[0];
    t.ok(gnorm > 0 && Number.isFinite(gnorm), `gradient reaches ${v.name.split('.').slice(0, 4).join('.')}`);
  }
  tf.dispose(Object.values(grads));
  await trainStage2(model, fixedData(4, 8), opts);
  t.same(prompt.frozen.dataSync(), frozenBefore, 'frozen projection unchanged by training');
  tf.dispose([...batch.Z, batch.tN, batch.tA]);
  model.dispose();
});

t.test('a few steps reduce the loss on a fixed batch', async (t) => {
  const model = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
  const before = lossOf(model, 4);
  const steps: StepRecord[] = [];
  await trainStage2(model, fixedData(4, 24), { ...opts }, { onStep: (r) => steps.push(r) });
  const after = lossOf(model, 4);
  t.equal(steps.length, 6, '24 images / batch 4 = 6 steps');
  t.ok(after < before - 1e-3, `loss ${before.toFixed(5)} -> ${after.toFixed(5)}`);
  t.ok(steps.every((s) => s.lossB !== null && Math.abs(s.loss - (0.7 * s.lossA + 0.3 * s.lossB!)) < 1e-4), 'L = 0.7 L_A + 0.3 L_B');
  model.dispose();
});

t.test('same seed, same numbers; one-branch model trains branch A only', async (t) => {
  const run = async (branches: 1 | 2) => {
    const model = Stage2Model.create(new FakePrompt(W, E, 1), branches, 3);
    const losses: number[] = [];
    const raw = fixedBatch(4);
    const data: Stage2Data = { count: 10, load: async (idx) => toBatch(fixedBatch(idx.length, 2, idx[0]), idx.length) };
    await trainStage2(model, data, { ...opts, batchSize: 3 }, { onStep: (r) => losses.push(r.loss) });
    const state = model.state();
    model.dispose();
    void raw;
    return { losses, state };
  };
  const a = await run(2);
  const b = await run(2);
  t.same(a.losses, b.losses, 'identical loss sequence');
  t.same(Object.keys(a.state).sort(), Object.keys(b.state).sort());
  for (const k of Object.keys(a.state)) t.same(a.state[k].data, b.state[k].data, `identical ${k}`);
  t.equal(a.losses.length, 4, 'ceil(10 / 3) steps, last batch kept');
  const one = await run(1);
  t.notOk(Object.keys(one.state).some((k) => k.startsWith('branchB.')), 'no branch B parameters');
});

t.test('a NaN loss stops training with the step number', async (t) => {
  const model = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
  let calls = 0;
  const data: Stage2Data = {
    count: 8,
    load: async () => {
      calls++;
      const raw = fixedBatch(2);
      if (calls === 3) raw.Z[0][0] = NaN;
      return toBatch(raw, 2);
    },
  };
  await t.rejects(trainStage2(model, data, { ...opts, batchSize: 2 }), /loss is NaN at step 3 \(epoch 1, batch 3\)/);
  model.dispose();
});

t.test('state round-trips through load', async (t) => {
  const a = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
  const b = Stage2Model.create(new FakePrompt(W, E, 1), 2, 99); // same frozen tower, other init
  t.not(lossOf(a, 2), lossOf(b, 2), "differs before load");
  await trainStage2(a, fixedData(2, 2), { ...opts, batchSize: 2 });
  b.load(a.state());
  t.equal(lossOf(a, 2), lossOf(b, 2));
  const bad = { ...a.state() };
  bad['branchB.fc1.kernel'] = { dtype: 'F32', shape: [3, 3], data: new Float32Array(9) };
  t.throws(() => b.load(bad), /branchB\.fc1\.kernel" has shape \[3,3\], expected \[8,12\]/);
  a.dispose();
  b.dispose();
});

t.test('gradient slices (microBatch) give the whole batch\'s step', async (t) => {
  const run = async (microBatch?: number) => {
    const model = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
    const losses: number[] = [];
    // slices must see the same images as the whole batch: images are built one by one
    const perImage: Stage2Data = {
      count: 8,
      load: async (idx) => {
        const parts = idx.map((i) => fixedBatch(1, 2, 100 + i));
        const B = idx.length;
        return toBatch({
          Z: [0, 1].map((l) => Float32Array.from(parts.flatMap((p) => [...p.Z[l]]))),
          tN: Float32Array.from(parts.flatMap((p) => [...p.tN])),
          tA: Float32Array.from(parts.flatMap((p) => [...p.tA])),
          Y: Float32Array.from(parts.flatMap((p) => [...p.Y])),
        }, B);
      },
    };
    await trainStage2(model, perImage, { ...opts, batchSize: 4, microBatch }, { onStep: (r) => losses.push(r.loss) });
    const s = model.state();
    model.dispose();
    return { losses, s };
  };
  const whole = await run();
  const sliced = await run(1);
  t.equal(whole.losses.length, 2);
  t.ok(whole.losses.every((l, i) => Math.abs(l - sliced.losses[i]) < 1e-5), `losses ${whole.losses} vs ${sliced.losses}`);
  let worst = 0;
  for (const k of Object.keys(whole.s)) {
    whole.s[k].data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - sliced.s[k].data[i]))));
  }
  t.ok(worst < 1e-5, `parameters agree within ${worst}`);
});

t.test('training and inference leave no tensors behind', async (t) => {
  const before = tf.memory().numTensors;
  const model = Stage2Model.create(new FakePrompt(W, E, 1), 2, 3);
  await trainStage2(model, fixedData(2, 4), { ...opts, batchSize: 2, microBatch: 1 });
  const b = toBatch(fixedBatch(2), 2);
  tf.dispose(model.anomalyProbs(0, b.Z, b.tN, b.tA, 0.07));
  tf.dispose([...b.Z, b.tN, b.tA]);
  model.dispose();
  t.equal(tf.memory().numTensors, before);
});
