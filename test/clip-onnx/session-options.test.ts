/**
 * Choosing the execution provider and thread count: tfjs backend names fall
 * through to the CPU, 'cuda' is honoured and fails with instructions when
 * the CUDA provider is not installed (npm ci never downloads it).
 */
import t from 'tap';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOnnxVisionEngine } from '../../src/clip/onnx/engine.ts';
import { chooseSession, cudaProviderInstalled } from '../../src/clip/onnx/session.ts';
import { tinyWeights } from './fixtures/load.ts';

t.test('provider and threads', async (t) => {
  const saved = process.env.ENTROAD_ONNX_PROVIDER;
  t.teardown(() => {
    if (saved === undefined) delete process.env.ENTROAD_ONNX_PROVIDER;
    else process.env.ENTROAD_ONNX_PROVIDER = saved;
  });
  delete process.env.ENTROAD_ONNX_PROVIDER;
  t.same(chooseSession(undefined, undefined), { provider: 'cpu', threads: availableParallelism() }, 'all cores by default');
  for (const b of ['auto', 'wasm', 'tensorflow', 'cpu']) t.equal(chooseSession(b, 3).provider, 'cpu', `tfjs backend ${b} -> cpu`);
  t.equal(chooseSession('cuda', 1).provider, 'cuda');
  process.env.ENTROAD_ONNX_PROVIDER = 'cuda';
  t.equal(chooseSession(undefined, 1).provider, 'cuda', 'the environment variable asks for CUDA');
  process.env.ENTROAD_ONNX_PROVIDER = 'gpu';
  t.throws(() => chooseSession(undefined, 1), /ENTROAD_ONNX_PROVIDER="gpu": expected cpu or cuda/);
  delete process.env.ENTROAD_ONNX_PROVIDER;
  t.throws(() => chooseSession(undefined, 0), /threads must be a positive integer/);
});

t.test('CUDA asked for but not installed: a clear error', { skip: cudaProviderInstalled() && 'the CUDA provider is installed here' }, async (t) => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-onnx-'));
  process.env.ENTROAD_CACHE_DIR = cacheDir;
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const engine = await createOnnxVisionEngine(tinyWeights(), { engine: 'onnx', backend: 'cuda' });
  await t.rejects(engine.encode(new Float32Array(3 * 32 * 32), 1, { size: 32 }), /CUDA execution provider is not installed.*--onnxruntime-node-install=cuda12/);
  await engine.dispose();
});
