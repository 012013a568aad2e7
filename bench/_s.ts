import ort from 'onnxruntime-node';
import { buildVisionGraph } from '../src/clip/onnx/vit.ts';
import { normaliseRequest } from '../src/clip/onnx/spec.ts';
import { writeFileSync } from 'node:fs';
import { SHAPES, randomWeights } from './engines.ts';
const s = SHAPES[0];
const w = randomWeights(s);
const spec = normaliseRequest({ size: 224, tokenLayers: [3,6,9,12], attnLayers: [3,6,9,12], vvFrom: 2, vvLayers: [3,6,9,12] }, w.config.vision);
writeFileSync('/tmp/b.onnx', buildVisionGraph(w, spec));
const variants: Record<string, any> = {
  spin2: { intraOpNumThreads: 2 },
  nospin2: { intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '0' } } } },
  t1: { intraOpNumThreads: 1 },
};
const sess: Record<string, ort.InferenceSession> = {};
for (const [k, o] of Object.entries(variants)) sess[k] = await ort.InferenceSession.create('/tmp/b.onnx', { executionProviders: ['cpu'], graphOptimizationLevel: 'all', interOpNumThreads: 1, ...o });
const px = new ort.Tensor('float32', new Float32Array(3*224*224).fill(0.1), [1,3,224,224]);
const acc: Record<string, number[]> = {};
for (const k in sess) await sess[k].run({ pixels: px });
for (let r = 0; r < 3; r++) for (const k in sess) { const t0 = performance.now(); await sess[k].run({ pixels: px }); (acc[k] ??= []).push((performance.now() - t0) / 1000); }
for (const k in acc) console.log(k, acc[k].map((x) => x.toFixed(2)).join(' '));
