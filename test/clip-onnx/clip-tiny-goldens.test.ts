/**
 * The onnx engine reproduces openai/CLIP's outputs on clip-tiny: every
 * block's residual stream and head-averaged attention, the image embeddings,
 * and the 48x48 run with the bicubic position table.
 * Tolerances from the fixture: abs 1e-4 + rel 1e-4, attention abs 1e-5.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOnnxVisionEngine } from '../../src/clip/onnx/engine.ts';
import { excess, goldens, pick, tinyWeights } from './fixtures/load.ts';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-onnx-'));
process.env.ENTROAD_CACHE_DIR = cacheDir;
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const g = goldens('clip-tiny');
const weights = tinyWeights();
const engine = await createOnnxVisionEngine(weights, { engine: 'onnx', threads: 1 });
t.teardown(() => engine.dispose());

t.test('32x32, B=3: every block, attention and image embeds', async (t) => {
  const out = await engine.encode(g.float32('images.input'), 3, {
    size: 32,
    tokenLayers: [1, 2, 3],
    attnLayers: [1, 2, 3],
    globalLnPost: true,
  });
  const blockOut = g.float32('vision.block_out');
  const attnMean = g.float32('vision.attn_mean');
  for (const l of [1, 2, 3]) {
    const tok = out.tokens.get(l)!;
    t.same(tok.shape, [3, 17, 64], `tokens.${l} shape`);
    t.ok(excess(tok.data, pick(blockOut, [3, 3, 17, 64], l - 1), 1e-4, 1e-4) <= 0, `tokens.${l} within 1e-4`);
    const att = out.attn.get(l)!;
    t.same(att.shape, [3, 17, 17], `attn.${l} shape`);
    t.ok(excess(att.data, pick(attnMean, [3, 3, 17, 17], l - 1), 1e-5) <= 0, `attn.${l} within 1e-5`);
  }
  t.same(out.imageEmbeds.shape, [3, 24]);
  t.ok(excess(out.imageEmbeds.data, g.float32('vision.image_embeds'), 1e-4, 1e-4) <= 0, 'image embeds');
  t.ok(excess(out.global!.data, g.float32('vision.image_embeds'), 1e-4, 1e-4) <= 0, 'global with ln_post = image embeds');
});

t.test('48x48 with the bicubic position table', async (t) => {
  const out = await engine.encode(g.float32('vision48.input'), 1, {
    size: 48,
    tokenLayers: [1, 2, 3],
    attnLayers: [1, 2, 3],
    posInterp: 'bicubic',
  });
  const blockOut = g.float32('vision48.block_out');
  const attnMean = g.float32('vision48.attn_mean');
  for (const l of [1, 2, 3]) {
    t.ok(excess(out.tokens.get(l)!.data, pick(blockOut, [1, 3, 37, 64], l - 1), 1e-4, 1e-4) <= 0, `tokens.${l}`);
    t.ok(excess(out.attn.get(l)!.data, pick(attnMean, [1, 3, 37, 37], l - 1), 1e-5) <= 0, `attn.${l}`);
  }
  t.ok(excess(out.imageEmbeds.data, g.float32('vision48.image_embeds'), 1e-4, 1e-4) <= 0, 'image embeds');
});

t.test('batch size is free per call: one image alone equals its row in a batch', async (t) => {
  const all = g.float32('images.input');
  const one = all.slice(2 * 3 * 32 * 32);
  const out = await engine.encode(one, 1, { size: 32 });
  const ref = g.float32('vision.image_embeds').subarray(2 * 24);
  t.ok(excess(out.imageEmbeds.data, ref, 1e-4, 1e-4) <= 0);
});

t.test('built graphs are cached on disk, one per request shape', async (t) => {
  const files = readdirSync(path.join(cacheDir, 'onnx')).filter((f) => f.endsWith('.onnx'));
  t.equal(files.length, 3, 'three distinct requests -> three graphs');
  t.notOk(readdirSync(path.join(cacheDir, 'onnx')).some((f) => f.endsWith('.tmp')), 'no temporary files left');

  const again = await createOnnxVisionEngine(weights, { engine: 'onnx', threads: 1 });
  const out = await again.encode(g.float32('images.input'), 3, { size: 32 });
  await again.dispose();
  t.equal(readdirSync(path.join(cacheDir, 'onnx')).length, 3, 'a second engine reuses the cached graph');
  t.ok(excess(out.imageEmbeds.data, g.float32('vision.image_embeds'), 1e-4, 1e-4) <= 0);
});

t.test('requests the model cannot serve fail with the parameter named', async (t) => {
  const px = new Float32Array(3 * 32 * 32);
  await t.rejects(engine.encode(px, 1, { size: 32, tokenLayers: [4] }), /tokenLayers: layer 4 is outside 1\.\.3/);
  await t.rejects(engine.encode(px, 1, { size: 36 }), /size: 36 is not a multiple of the patch size 8/);
  await t.rejects(engine.encode(px, 2, { size: 32 }), /pixels has 3072 values; expected batch 2/);
  await t.rejects(engine.encode(px, 1, { size: 32, vvFrom: 2, vvLayers: [1] }), /vvLayers: layer 1 is outside 2\.\.3/);
});
