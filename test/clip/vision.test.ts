import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../src/clip/backend.ts';
import { loadClipWeights } from '../../src/clip/weights.ts';
import { resizePosTable } from '../../src/clip/pos-embed.ts';
import { VisionTower } from '../../src/clip/tfjs/vision.ts';
import { CLIP_TINY, clipGolden, excess, methodGolden, pick } from './fixtures/helpers.ts';

// Tolerances from the fixtures' READMEs (float32 CPU).
const ATOL = 1e-4;
const RTOL = 1e-4;
const ATTN = 1e-5;

await initTf('wasm');
const g = clipGolden();
const m = methodGolden();
const w = await loadClipWeights(CLIP_TINY);
const tower = new VisionTower(w);
const all = [1, 2, 3];

t.test('clip-tiny 32x32: every layer, attention, embeddings', async (t) => {
  const o = tower.forward(g.float32('images.input'), 3, { size: 32, tokenLayers: all, attnLayers: all, globalLnPost: true, vvFrom: 3 });
  for (const l of all) {
    t.ok(excess(o.tokens.get(l)!.data, pick(g.float32('vision.block_out'), [3, 3, 17, 64], l - 1), RTOL) <= ATOL, `tokens.${l}`);
    t.same(o.tokens.get(l)!.shape, [3, 17, 64]);
    t.ok(excess(o.attn.get(l)!.data, pick(g.float32('vision.attn_mean'), [3, 3, 17, 17], l - 1)) <= ATTN, `attn.${l}`);
  }
  t.ok(excess(o.imageEmbeds.data, g.float32('vision.image_embeds'), RTOL) <= ATOL, 'image_embeds');
  t.ok(excess(o.global!.data, g.float32('vision.image_embeds'), RTOL) <= ATOL, 'global with ln_post = image_embeds');
});

t.test('clip-tiny 48x48 with the bicubic position table', async (t) => {
  const table = resizePosTable(w.get('vision_model.embeddings.position_embedding.weight').data, 64, 6, 'bicubic');
  t.ok(excess(table, g.float32('vision48.pos_embed')) <= 1e-5, 'bicubic table (A=-0.75, half-pixel)');
  const o = tower.forward(g.float32('vision48.input'), 1, { size: 48, tokenLayers: all, attnLayers: all, posInterp: 'bicubic' });
  for (const l of all) {
    t.ok(excess(o.tokens.get(l)!.data, pick(g.float32('vision48.block_out'), [1, 3, 37, 64], l - 1), RTOL) <= ATOL, `tokens.${l}`);
    t.ok(excess(o.attn.get(l)!.data, pick(g.float32('vision48.attn_mean'), [1, 3, 37, 37], l - 1)) <= ATTN, `attn.${l}`);
  }
  t.ok(excess(o.imageEmbeds.data, g.float32('vision48.image_embeds'), RTOL) <= ATOL, 'image_embeds');
});

t.test('bilinear position table and the 48x48 forward with it (method default)', async (t) => {
  const table = resizePosTable(w.get('vision_model.embeddings.position_embedding.weight').data, 64, 6, 'bilinear');
  t.ok(excess(table, m.float32('pos48_bilinear.pos_embed')) <= 1e-6, 'bilinear table');
  const o = tower.forward(m.float32('vv48.input'), 1, { size: 48, tokenLayers: all, attnLayers: all });
  for (const l of all) {
    t.ok(excess(o.tokens.get(l)!.data, pick(m.float32('vision48_bilinear.block_out'), [1, 3, 37, 64], l - 1), RTOL) <= ATOL, `tokens.${l}`);
    t.ok(excess(o.attn.get(l)!.data, pick(m.float32('vision48_bilinear.attn_mean'), [1, 3, 37, 37], l - 1)) <= ATTN, `attn.${l}`);
  }
  t.ok(excess(o.imageEmbeds.data, m.float32('vision48_bilinear.image_embeds'), RTOL) <= ATOL, 'image_embeds');
});

for (const [run, input, B, T, size, from] of [
  ['vv32', 'vv32.input', 3, 17, 32, 2],
  ['vv32_from1', 'vv32.input', 3, 17, 32, 1],
  ['vv48', 'vv48.input', 1, 37, 48, 2],
] as const) {
  t.test(`V-V stream ${run} (from block ${from})`, async (t) => {
    const vvLayers = all.filter((l) => l >= from);
    const n = vvLayers.length;
    const req = { size, vvFrom: from, vvLayers, tokenLayers: all };
    const o = tower.forward(m.float32(input), B, req);
    for (const [j, l] of vvLayers.entries()) {
      t.ok(excess(o.vvTokens.get(l)!.data, pick(m.float32(`${run}.vv_tokens_proj`), [B, n, T, 24], j), RTOL) <= ATOL, `vv_tokens.${l}`);
      t.same(o.vvTokens.get(l)!.shape, [B, T, 24]);
      t.ok(excess(o.vvTokensLnPost.get(l)!.data, pick(m.float32(`${run}.vv_tokens_ln_post`), [B, n, T, 64], j), RTOL) <= ATOL, `vv_tokens_ln_post.${l}`);
    }
    if (run !== 'vv32_from1') {
      for (const l of all) {
        t.ok(excess(o.tokens.get(l)!.data, pick(m.float32(`${run}.orig_block_out`), [B, 3, T, 64], l - 1), RTOL) <= ATOL, `original stream untouched, block ${l}`);
      }
    }
    t.ok(excess(o.global!.data, m.float32(`${run}.global_no_ln_post`), RTOL) <= ATOL, 'global (no ln_post, default)');
    const withLn = tower.forward(m.float32(input), B, { ...req, globalLnPost: true });
    t.ok(excess(withLn.global!.data, m.float32(`${run}.global_ln_post`), RTOL) <= ATOL, 'global with ln_post');
  });
}

t.test('request errors name the parameter; no tensors leak', async (t) => {
  const px = g.float32('images.input');
  t.throws(() => tower.forward(px, 3, { size: 32, tokenLayers: [4] }), /tokenLayers: layer 4 is outside 1\.\.3/);
  t.throws(() => tower.forward(px, 3, { size: 32, attnLayers: [0] }), /attnLayers: layer 0/);
  t.throws(() => tower.forward(px, 3, { size: 32, vvFrom: 2, vvLayers: [1] }), /vvLayers \(vvFrom 2\): layer 1 is outside 2\.\.3/);
  t.throws(() => tower.forward(px, 3, { size: 32, vvLayers: [2] }), /vvLayers given without vvFrom/);
  t.throws(() => tower.forward(px, 3, { size: 30 }), /not a multiple of the patch size 8/);
  t.throws(() => tower.forward(px, 2, { size: 32 }), /expected 2x3x32x32/);
  const before = tf.memory().numTensors;
  tower.forward(px, 3, { size: 32, tokenLayers: all, attnLayers: all, vvFrom: 1, vvLayers: all });
  t.equal(tf.memory().numTensors, before, 'every intermediate disposed');
});

t.test('tiny backbone: attention is not uniform', async (t) => {
  const tiny = new VisionTower(await loadClipWeights('tiny', { seed: 0 }));
  const px = new Float32Array(2 * 3 * 64 * 64).map((_, i) => Math.sin(i * 0.37) * 1.5);
  const o = tiny.forward(px, 2, { size: 64, attnLayers: [1, 4] });
  for (const l of [1, 4]) {
    const a = o.attn.get(l)!.data;
    const T = 65;
    let meanMax = 0;
    for (let r = 0; r < 2 * T; r++) meanMax += Math.max(...a.subarray(r * T, (r + 1) * T)) / (2 * T);
    t.ok(meanMax > 3 / T, `layer ${l}: mean row max ${meanMax.toFixed(3)} well above uniform ${(1 / T).toFixed(3)}`);
  }
  tiny.dispose();
});
