// Stage 2 on the real prompt learner over the tiny CLIP text tower: a few
// steps reduce the loss on a fixed batch, exactly the prompt learner and the
// branch MLPs are trainable, and nothing frozen moves.
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import { Rng } from '../../../src/util/rng.ts';
import { branchWeights, Stage2Model, stage2Loss, type Stage2Batch } from '../../../src/method/stage2-model.ts';
import { trainStage2 } from '../../../src/method/stage2-train.ts';
import { createPromptEncoder, loadBackbone } from '../../../src/method/stage2-prompt.ts';

await initTf(process.env.ENTROAD_BACKEND ?? 'wasm');

const g = 4;
const N = g * g;
const S = 32;
const B = 4;
const weights = await loadBackbone('tiny', 0);
const E = weights.config.embedDim;
const settings = {
  nCtx: 12,
  deepLayers: [2, 3, 4, 5, 6, 7, 8, 9],
  deepLength: 4,
  normalWords: 'object.',
  anomalyWords: 'damaged object.',
  seed: 111,
};

function batch(): Stage2Batch {
  const rng = new Rng(3);
  const unit = (n: number) => {
    const z = rng.normalArray(n * E);
    for (let r = 0; r < n; r++) {
      const s = Math.hypot(...z.subarray(r * E, (r + 1) * E));
      for (let d = 0; d < E; d++) z[r * E + d] /= s;
    }
    return z;
  };
  const Y = new Float32Array(B * S * S);
  for (let y = 8; y < 20; y++) for (let x = 4; x < 16; x++) Y[S * S + y * S + x] = 1; // image 1 anomalous
  return {
    Z: [unit(B * N), unit(B * N)].map((z) => tf.tensor3d(z, [B, N, E])),
    tN: tf.tensor2d(unit(B), [B, E]),
    tA: tf.tensor2d(unit(B), [B, E]),
    Y,
  };
}
const opts = { grid: g, lossSize: S };
const lossOf = (model: Stage2Model) => {
  const b = batch();
  const v = tf.tidy(() => stage2Loss(model, b, branchWeights(0.7, 0.3, 2), 0.07, opts).loss.dataSync()[0]);
  tf.dispose([...b.Z, b.tN, b.tA]);
  return v;
};

t.test('trainable = prompt learner + both MLPs; gradients reach all of them', async (t) => {
  const before = new Set(tf.engine().state.registeredVariables ? Object.keys(tf.engine().state.registeredVariables) : []);
  const model = Stage2Model.create(createPromptEncoder(weights, settings), 2, 111);
  const created = Object.values(tf.engine().state.registeredVariables).filter((v) => !before.has(v.name) && v.trainable);
  t.same(created.map((v) => v.name).sort(), model.variables.map((v) => v.name).sort(), 'no other trainable variable exists');
  // ctx_normal, ctx_anomaly, deep prompts of blocks 2..4 (the tiny tower has 4), two MLPs
  t.equal(model.variables.length, 2 + 3 + 8);
  const b = batch();
  const { grads } = tf.variableGrads(() => stage2Loss(model, b, [0.7, 0.3], 0.07, opts).loss, model.variables);
  for (const v of model.variables) {
    const n = tf.norm(grads[v.name]).dataSync()[0];
    t.ok(n > 0 && Number.isFinite(n), `gradient reaches ${v.name}`);
  }
  tf.dispose([...Object.values(grads), ...b.Z, b.tN, b.tA]);
  model.dispose();
});

t.test('a few steps reduce the loss; frozen tower unchanged; same seed same numbers', async (t) => {
  const run = async () => {
    const model = Stage2Model.create(createPromptEncoder(weights, settings), 2, 111);
    const initial = model.state();
    const zeros = tf.zeros([1, model.prompt.textWidth]) as tf.Tensor2D;
    const enc0 = model.prompt.encode(zeros, zeros);
    const ref = [enc0.normal.dataSync().slice(), enc0.anomaly.dataSync().slice()];
    const lossBefore = lossOf(model);
    const losses: number[] = [];
    await trainStage2(
      model,
      { count: 4 * B, load: async () => batch() },
      { epochs: 1, batchSize: B, lr: 5e-3, beta1: 0.5, beta2: 0.999, seed: 1, tauS: 0.07, lambdaA: 0.7, lambdaB: 0.3, ...opts },
      { onStep: (r) => losses.push(r.loss) },
    );
    const lossAfter = lossOf(model);
    // restoring the initial learnable state restores the text features exactly:
    // training changed nothing outside the learnable tensors
    model.load(initial);
    const enc1 = model.prompt.encode(zeros, zeros);
    const same = [enc1.normal.dataSync(), enc1.anomaly.dataSync()].every((a, k) => a.every((v, i) => v === ref[k][i]));
    tf.dispose([zeros, enc0.normal, enc0.anomaly, enc1.normal, enc1.anomaly]);
    model.dispose();
    return { lossBefore, lossAfter, losses, same };
  };
  const a = await run();
  t.ok(a.lossAfter < a.lossBefore - 1e-3, `loss ${a.lossBefore.toFixed(4)} -> ${a.lossAfter.toFixed(4)}`);
  t.ok(a.same, 'frozen text tower unchanged');
  const b = await run();
  t.same(b.losses, a.losses, 'same seed, same losses');
});
