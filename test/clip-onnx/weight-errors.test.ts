/**
 * Weights that do not fit the config fail at graph build with the tensor
 * named, before anything is cached.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOnnxVisionEngine } from '../../src/clip/onnx/engine.ts';
import { tinyWeights } from './fixtures/load.ts';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-onnx-'));
process.env.ENTROAD_CACHE_DIR = cacheDir;
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const px = new Float32Array(3 * 32 * 32);

t.test('a tensor with the wrong shape is named', async (t) => {
  const w = tinyWeights();
  const bad = 'vision_model.encoder.layers.1.mlp.fc1.weight';
  const get = w.get;
  w.get = (n) => (n === bad ? { data: new Float32Array(64 * 128), shape: [128, 64] } : get(n));
  const engine = await createOnnxVisionEngine(w, { engine: 'onnx', threads: 1 });
  await t.rejects(
    engine.encode(px, 1, { size: 32 }),
    /tensor "vision_model\.encoder\.layers\.1\.mlp\.fc1\.weight" has shape \[128,64\], expected \[256,64\]/,
  );
  const dir = path.join(cacheDir, 'onnx');
  t.ok(!existsSync(dir) || readdirSync(dir).length === 0, 'nothing cached');
  await engine.dispose();
});

t.test('a missing tensor is named', async (t) => {
  const w = tinyWeights();
  const has = w.has;
  w.has = (n) => n !== 'vision_model.post_layernorm.bias' && has(n);
  const engine = await createOnnxVisionEngine(w, { engine: 'onnx', threads: 1 });
  await t.rejects(engine.encode(px, 1, { size: 32 }), /missing tensor "vision_model\.post_layernorm\.bias"/);
  await engine.dispose();
});
