/**
 * Speed of the Stage-2 side of the method:
 * - routing (Eq. 5-7) and gating (Eq. 8) per image, at the tiny backbone's
 *   shape (N 16, E 64) and at ViT-L/14@518's (N 1369, E 768);
 * - the per-image inference tail at 518 px: two branch maps upsampled
 *   37 -> 518, fused, Gaussian (sigma 4), top 1 %;
 * - one Stage-2 training step (batch 8, two branches, four map layers):
 *   on the tiny backbone at its own scale (grid 4, loss at 32 px); with the
 *   tiny text tower but paper-sized maps (grid 37, loss at 518 px); and with
 *   a ViT-L/14-shaped random text tower (width 768, 12 blocks, E 768);
 * - the branch maps of inference per image with that text tower.
 * Figures vary by about 20% between runs on shared machines.
 */
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../src/clip/backend.ts';
import { Rng } from '../src/util/rng.ts';
import { expectedTensors, wrap, type ClipConfig, type ClipWeights } from '../src/clip/weights.ts';
import { routeTokens } from '../src/method/routing.ts';
import { gate } from '../src/method/gating.ts';
import { resizeBilinear } from '../src/method/bilinear.ts';
import { fuseMaps, scoreMap } from '../src/method/fusion.ts';
import { Stage2Model, stage2Loss, branchWeights, type Stage2Batch } from '../src/method/stage2-model.ts';
import { trainStage2 } from '../src/method/stage2-train.ts';
import { createPromptEncoder, loadBackbone } from '../src/method/stage2-prompt.ts';

const secs = (t0: number) => (performance.now() - t0) / 1000;
const fmt = (s: number) => `${s.toFixed(s < 0.1 ? 4 : 2)} s`;
const prompt = {
  nCtx: 12,
  deepLayers: [2, 3, 4, 5, 6, 7, 8, 9],
  deepLength: 4,
  normalWords: 'object.',
  anomalyWords: 'damaged object.',
  seed: 111,
};

function routingPerImage(N: number, E: number, reps: number): number {
  const rng = new Rng(1);
  const p = Float32Array.from({ length: N }, () => rng.next());
  const e = Float32Array.from({ length: N }, () => 1 + rng.next());
  const z = rng.normalArray(N * E);
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const out = routeTokens(p, e, z, { T: 0.1, useEntropy: true });
    gate(out.pMax, out.sigmaE);
  }
  return secs(t0) / reps;
}

function inferTail(reps: number): number {
  const rng = new Rng(2);
  const mA = Float32Array.from({ length: 37 * 37 }, () => rng.next());
  const mB = Float32Array.from({ length: 37 * 37 }, () => rng.next());
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const fused = fuseMaps(resizeBilinear(mA, 37, 37, 518, 518), resizeBilinear(mB, 37, 37, 518, 518), 0.7, 0.3);
    scoreMap(fused, 518, { sigma: 4, k: 0.7, aRet: 0.5 });
  }
  return secs(t0) / reps;
}

function randomBatch(B: number, g: number, E: number, lossSize: number, layers: number): Stage2Batch {
  const rng = new Rng(3);
  const Y = new Float32Array(B * lossSize * lossSize);
  Y.fill(1, 0, Math.floor(lossSize * lossSize / 4)); // image 0 partly anomalous
  return {
    Z: Array.from({ length: layers }, () => tf.tensor3d(rng.normalArray(B * g * g * E, 1 / Math.sqrt(E)), [B, g * g, E])),
    tN: tf.tensor2d(rng.normalArray(B * E, 1 / Math.sqrt(E)), [B, E]),
    tA: tf.tensor2d(rng.normalArray(B * E, 1 / Math.sqrt(E)), [B, E]),
    Y,
  };
}

/** Seconds per Stage-2 step (after one warm-up step). */
async function stepSeconds(weights: ClipWeights, g: number, lossSize: number, steps: number): Promise<number> {
  const E = weights.config.embedDim;
  const model = Stage2Model.create(createPromptEncoder(weights, prompt), 2, 111);
  const times: number[] = [];
  let t0 = 0;
  try {
    await trainStage2(
      model,
      { count: 8 * (steps + 1), load: async () => randomBatch(8, g, E, lossSize, 4) },
      { epochs: 1, batchSize: 8, lr: 4e-4, beta1: 0.5, beta2: 0.999, seed: 1, tauS: 0.07, lambdaA: 0.7, lambdaB: 0.3, grid: g, lossSize },
      {
        onStart: () => (t0 = performance.now()),
        onStep: () => {
          times.push(secs(t0));
          t0 = performance.now();
        },
      },
    );
  } finally {
    model.dispose();
  }
  const rest = times.slice(1);
  return rest.reduce((a, b) => a + b, 0) / rest.length;
}

/** Seconds per image for the branch maps of inference (batch 8, after a warm-up). */
function inferMapsPerImage(weights: ClipWeights): number {
  const E = weights.config.embedDim;
  const model = Stage2Model.create(createPromptEncoder(weights, prompt), 2, 111);
  const run = () => {
    const b = randomBatch(8, 37, E, 1, 4);
    tf.tidy(() => model.branches.map((_, m) => tf.addN(model.anomalyProbs(m, b.Z, b.tN, b.tA, 0.07)).dataSync()));
    tf.dispose([...b.Z, b.tN, b.tA]);
  };
  run();
  const t0 = performance.now();
  run();
  const s = secs(t0) / 8;
  model.dispose();
  return s;
}

/** A ViT-L/14-shaped random text tower (vision tower left out). */
function vitLText(): ClipWeights {
  const config: ClipConfig = {
    vision: { width: 1024, layers: 24, heads: 16, patchSize: 14, imageSize: 336, intermediate: 4096, eps: 1e-5 },
    text: { width: 768, layers: 12, heads: 12, intermediate: 3072, vocabSize: 49408, contextLength: 77, eps: 1e-5 },
    embedDim: 768,
    logitScale: Math.log(100),
  };
  const rng = new Rng(5);
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [name, shape] of expectedTensors(config)) {
    if (name.startsWith('vision') || name.startsWith('visual')) continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = /norm/.test(name) && name.endsWith('weight');
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = isNormWeight ? 1 : 0.02 * (rng.next() - 0.5);
    tensors.set(name, { data, shape });
  }
  return wrap(config, tensors, { name: 'random ViT-L/14 text tower', pretrained: false, digest: '', dir: null, dtype: 'F32' });
}

export async function bench(): Promise<void> {
  const backend = await initTf(process.env.ENTROAD_BACKEND ?? 'wasm');
  console.log(`tfjs backend: ${backend}`);
  console.log(`routing + gating per image, tiny shape (N 16, E 64):        ${fmt(routingPerImage(16, 64, 2000))}`);
  console.log(`routing + gating per image, ViT-L/14@518 (N 1369, E 768):   ${fmt(routingPerImage(1369, 768, 20))}`);
  console.log(`infer tail per image at 518 (upsample, fuse, Gaussian, top 1%): ${fmt(inferTail(5))}`);

  const tiny = await loadBackbone('tiny', 0);
  console.log(`Stage-2 step, tiny backbone (grid 4, loss 32 px, batch 8):  ${fmt(await stepSeconds(tiny, 4, 32, 4))}`);
  console.log(`Stage-2 step, tiny text tower, grid 37, loss 518 px:        ${fmt(await stepSeconds(tiny, 37, 518, 2))}`);
  console.log(`infer branch maps per image, tiny text tower, grid 37:       ${fmt(inferMapsPerImage(tiny))}`);

  const big = vitLText();
  console.log(`Stage-2 step, ViT-L/14 text tower, grid 37, loss 518 px:    ${fmt(await stepSeconds(big, 37, 518, 1))}`);
  console.log(`infer branch maps per image, ViT-L/14 text tower, grid 37:   ${fmt(inferMapsPerImage(big))}`);
}
