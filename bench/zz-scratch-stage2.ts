import * as tf from '@tensorflow/tfjs';
import { initTf } from '../src/clip/backend.ts';
import { Stage2Model, stage2Loss } from '../src/method/stage2-model.ts';
import { createPromptEncoder } from '../src/method/stage2-prompt.ts';
import { Rng } from '../src/util/rng.ts';
import { expectedTensors, wrap } from '../src/clip/weights.ts';
await initTf('wasm');
const config: any = {
  vision: { width: 1024, layers: 24, heads: 16, patchSize: 14, imageSize: 336, intermediate: 4096, eps: 1e-5 },
  text: { width: 768, layers: 12, heads: 12, intermediate: 3072, vocabSize: 49408, contextLength: 77, eps: 1e-5 },
  embedDim: 768, logitScale: Math.log(100) };
const rng = new Rng(5);
const tensors = new Map();
for (const [name, shape] of expectedTensors(config)) {
  if (name.startsWith('vision') || name.startsWith('visual')) continue;
  const n = shape.reduce((a: number, b: number) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = /norm/.test(name) && name.endsWith('weight') ? 1 : 0.02 * (rng.next() - 0.5);
  tensors.set(name, { data, shape });
}
const w = wrap(config, tensors, { name: 'x', pretrained: false, digest: '', dir: null, dtype: 'F32' });
const mb = () => (tf.memory().numBytes / 2 ** 20).toFixed(0) + ' MB';
const model = Stage2Model.create(createPromptEncoder(w, { nCtx: 12, deepLayers: [2,3,4,5,6,7,8,9], deepLength: 4, normalWords: 'object.', anomalyWords: 'damaged object.', seed: 1 }), 2, 1);
console.log('model', mb());
const B = 8, N = 1369, E = 768;
const Z = [0,1,2,3].map(() => tf.randomNormal([B, N, E]) as tf.Tensor3D);
const tN = tf.randomNormal([B, E]) as tf.Tensor2D, tA = tf.randomNormal([B, E]) as tf.Tensor2D;
console.log('batch', mb());
const t0 = performance.now();
const u = tf.tidy(() => model.textFeatures(0, tN, tA).uN.dataSync());
console.log('text fwd', mb(), (performance.now() - t0) / 1000);

for (const what of ['text', 'maps1', 'loss1']) {
  const t1 = performance.now();
  let peak = 0;
  const { grads, value } = tf.variableGrads(() => {
    let out: tf.Scalar;
    if (what === 'text') out = tf.sum(model.textFeatures(0, tN, tA).uN);
    else if (what === 'maps1') out = tf.sum(model.anomalyProbs(0, Z.slice(0, 1), tN, tA, 0.07)[0]);
    else out = tf.sum(model.anomalyProbs(0, Z, tN, tA, 0.07)[3]);
    peak = tf.memory().numBytes;
    return out;
  }, model.variables);
  console.log(what, 'fwd peak', (peak / 2 ** 20).toFixed(0), 'after', mb(), (performance.now() - t1) / 1000);
  tf.dispose([value, ...Object.values(grads)]);
}
