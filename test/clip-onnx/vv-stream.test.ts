/**
 * The V-V dual stream and the bilinear 48x48 forward against the method
 * fixture: vv32 (V-V from block 2, the method's setting), vv32_from1 (from
 * block 1) and vv48 / vision48_bilinear (48x48, bilinear position table).
 * Tolerances from the fixture: abs 1e-4 + rel 1e-4, attention abs 1e-5.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOnnxVisionEngine } from '../../src/clip/onnx/engine.ts';
import { excess, goldens, pick, tinyWeights } from './fixtures/load.ts';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-onnx-'));
process.env.ENTROAD_CACHE_DIR = cacheDir;
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const m = goldens('method');
const engine = await createOnnxVisionEngine(tinyWeights(), { engine: 'onnx', threads: 1 });
t.teardown(() => engine.dispose());

const runs = [
  { run: 'vv32', input: 'vv32.input', batch: 3, size: 32, T: 17, vvFrom: 2 },
  { run: 'vv32_from1', input: 'vv32.input', batch: 3, size: 32, T: 17, vvFrom: 1 },
  { run: 'vv48', input: 'vv48.input', batch: 1, size: 48, T: 37, vvFrom: 2 },
];

for (const r of runs) {
  t.test(`${r.run}: V-V tokens from block ${r.vvFrom}, both global variants`, async (t) => {
    const vvLayers = [];
    for (let l = r.vvFrom; l <= 3; l++) vvLayers.push(l);
    const n = vvLayers.length;
    const req = { size: r.size, vvFrom: r.vvFrom, vvLayers, tokenLayers: [1, 2, 3], posInterp: 'bilinear' as const };
    const out = await engine.encode(m.float32(r.input), r.batch, req);
    const withLn = await engine.encode(m.float32(r.input), r.batch, { ...req, globalLnPost: true });

    const lnPost = m.float32(`${r.run}.vv_tokens_ln_post`);
    const proj = m.float32(`${r.run}.vv_tokens_proj`);
    vvLayers.forEach((l, j) => {
      const a = out.vvTokensLnPost.get(l)!;
      t.same(a.shape, [r.batch, r.T, 64], `vvTokensLnPost.${l} shape`);
      t.ok(excess(a.data, pick(lnPost, [r.batch, n, r.T, 64], j), 1e-4, 1e-4) <= 0, `vvTokensLnPost.${l}`);
      const p = out.vvTokens.get(l)!;
      t.same(p.shape, [r.batch, r.T, 24], `vvTokens.${l} shape`);
      t.ok(excess(p.data, pick(proj, [r.batch, n, r.T, 24], j), 1e-4, 1e-4) <= 0, `vvTokens.${l}`);
    });
    if (r.run !== 'vv32_from1') {
      const orig = m.float32(`${r.run}.orig_block_out`);
      for (const l of [1, 2, 3]) {
        const ref = pick(orig, [r.batch, 3, r.T, 64], l - 1);
        t.ok(excess(out.tokens.get(l)!.data, ref, 1e-4, 1e-4) <= 0, `original stream after block ${l} untouched`);
      }
    }
    t.ok(excess(out.global!.data, m.float32(`${r.run}.global_no_ln_post`), 1e-4, 1e-4) <= 0, 'global without ln_post');
    t.ok(excess(withLn.global!.data, m.float32(`${r.run}.global_ln_post`), 1e-4, 1e-4) <= 0, 'global with ln_post');
  });
}

t.test('vision48_bilinear: the plain forward with the bilinear table', async (t) => {
  const out = await engine.encode(m.float32('vv48.input'), 1, {
    size: 48,
    tokenLayers: [1, 2, 3],
    attnLayers: [1, 2, 3],
  }); // posInterp defaults to bilinear, the method's choice
  const blockOut = m.float32('vision48_bilinear.block_out');
  const attnMean = m.float32('vision48_bilinear.attn_mean');
  for (const l of [1, 2, 3]) {
    t.ok(excess(out.tokens.get(l)!.data, pick(blockOut, [1, 3, 37, 64], l - 1), 1e-4, 1e-4) <= 0, `tokens.${l}`);
    t.ok(excess(out.attn.get(l)!.data, pick(attnMean, [1, 3, 37, 37], l - 1), 1e-5) <= 0, `attn.${l}`);
  }
  t.ok(excess(out.imageEmbeds.data, m.float32('vision48_bilinear.image_embeds'), 1e-4, 1e-4) <= 0, 'image embeds');
});

t.test('a request without vvFrom returns no V-V outputs', async (t) => {
  const out = await engine.encode(m.float32('vv32.input'), 3, { size: 32 });
  t.equal(out.vvTokens.size, 0);
  t.equal(out.vvTokensLnPost.size, 0);
});
