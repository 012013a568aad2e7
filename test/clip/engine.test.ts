import t from 'tap';
import { loadClipWeights } from '../../src/clip/weights.ts';
import { createVisionEngine } from '../../src/clip/engines.ts';
import { CLIP_TINY, clipGolden, excess, pick } from './fixtures/helpers.ts';

const g = clipGolden();
const w = await loadClipWeights(CLIP_TINY);
const req = { size: 32, tokenLayers: [1, 3], attnLayers: [2], vvFrom: 2, vvLayers: [3] };

t.test('worker-thread engine splits the batch and equals the reference', async (t) => {
  const pool = await createVisionEngine(w, { engine: 'tfjs', backend: 'wasm', threads: 2 });
  t.teardown(() => pool.dispose());
  t.match(pool.detail, /tfjs wasm, 2 worker threads/);
  t.same(pool.geometry, { width: 64, layers: 3, heads: 4, patchSize: 8, imageSize: 32, embedDim: 24 });
  const o = await pool.encode(g.float32('images.input'), 3, req); // chunks of 2 and 1 images
  t.same(o.imageEmbeds.shape, [3, 24]);
  t.ok(excess(o.imageEmbeds.data, g.float32('vision.image_embeds'), 1e-4) <= 1e-4, 'image_embeds');
  t.ok(excess(o.tokens.get(3)!.data, pick(g.float32('vision.block_out'), [3, 3, 17, 64], 2), 1e-4) <= 1e-4, 'tokens.3');
  t.ok(excess(o.attn.get(2)!.data, pick(g.float32('vision.attn_mean'), [3, 3, 17, 17], 1)) <= 1e-5, 'attn.2');
  t.same(o.vvTokens.get(3)!.shape, [3, 17, 24]);
  t.same(o.global!.shape, [3, 24]);
  await t.rejects(pool.encode(g.float32('images.input'), 3, { size: 32, tokenLayers: [9] }), /layer 9 is outside/);
});

t.test('in-process engine (1 thread) and engine names', async (t) => {
  const one = await createVisionEngine(w, { engine: 'tfjs', backend: 'wasm', threads: 1 });
  t.match(one.detail, /tfjs wasm, 1 thread/);
  const o = await one.encode(g.float32('images.input'), 3, req);
  t.ok(excess(o.imageEmbeds.data, g.float32('vision.image_embeds'), 1e-4) <= 1e-4);
  await one.dispose();
  await t.rejects(createVisionEngine(w, { engine: 'torch' as any }), /unknown vision engine "torch"/);
});
