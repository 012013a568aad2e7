/**
 * The onnx and tfjs engines give the same numbers on clip-tiny, through the
 * public factory (createVisionEngine) and the project's weight loader, for
 * the method's request at 32 px and at 48 px (bilinear table, V-V stream).
 * Agreement is asserted at the goldens' tolerances (abs 1e-4 + rel 1e-4,
 * attention abs 1e-5); the largest differences are printed as comments.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VisionOutputs, VisionRequest } from '../../src/clip/engine.ts';
import { createVisionEngine } from '../../src/clip/engines.ts';
import { loadClipWeights } from '../../src/clip/weights.ts';
import { excess, fixtureDir, goldens, maxAbsDiff } from './fixtures/load.ts';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-onnx-'));
process.env.ENTROAD_CACHE_DIR = cacheDir;
t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));

const weights = await loadClipWeights(fixtureDir('clip-tiny'));
const m = goldens('method');

async function both(pixels: Float32Array, batch: number, req: VisionRequest): Promise<VisionOutputs[]> {
  const outs: VisionOutputs[] = [];
  for (const engine of ['tfjs', 'onnx'] as const) {
    const e = await createVisionEngine(weights, { engine, threads: 1 });
    try {
      outs.push(await e.encode(pixels.slice(), batch, req));
    } finally {
      await e.dispose();
    }
  }
  return outs;
}

const cases: { name: string; input: string; batch: number; req: VisionRequest }[] = [
  { name: '32 px, B=3', input: 'vv32.input', batch: 3, req: { size: 32, tokenLayers: [1, 2, 3], attnLayers: [1, 2, 3], vvFrom: 2, vvLayers: [2, 3] } },
  { name: '48 px bilinear, B=1', input: 'vv48.input', batch: 1, req: { size: 48, tokenLayers: [1, 2, 3], attnLayers: [1, 2, 3], vvFrom: 2, vvLayers: [2, 3], globalLnPost: true } },
];

for (const c of cases) {
  t.test(`tfjs and onnx agree: ${c.name}`, async (t) => {
    const [a, b] = await both(m.float32(c.input), c.batch, c.req);
    const diffs: string[] = [];
    const check = (what: string, x: Float32Array, y: Float32Array, abs: number, rel: number) => {
      t.ok(excess(y, x, abs, rel) <= 0, what);
      diffs.push(`${what} ${maxAbsDiff(x, y).toExponential(1)}`);
    };
    for (const l of [1, 2, 3]) {
      check(`tokens.${l}`, a.tokens.get(l)!.data, b.tokens.get(l)!.data, 1e-4, 1e-4);
      check(`attn.${l}`, a.attn.get(l)!.data, b.attn.get(l)!.data, 1e-5, 0);
    }
    for (const l of [2, 3]) {
      check(`vvTokens.${l}`, a.vvTokens.get(l)!.data, b.vvTokens.get(l)!.data, 1e-4, 1e-4);
      check(`vvTokensLnPost.${l}`, a.vvTokensLnPost.get(l)!.data, b.vvTokensLnPost.get(l)!.data, 1e-4, 1e-4);
    }
    check('imageEmbeds', a.imageEmbeds.data, b.imageEmbeds.data, 1e-4, 1e-4);
    check('global', a.global!.data, b.global!.data, 1e-4, 1e-4);
    t.comment(`max |tfjs - onnx|: ${diffs.join(', ')}`);
  });
}
