/**
 * Extraction speed of the vision engines on CLIP-shaped random models:
 * ViT-B/16 at 224 px and ViT-L/14 (native 336) at 518 px, with the request
 * the method makes (tokens and attention at four blocks, the V-V stream from
 * block 2 with its outputs at the same blocks, the global feature).
 *
 * Prints seconds per image, images per second, GFLOP/s (multiply-adds x 2 of
 * the request, counted below) and the ratio to PyTorch CPU on the same shape
 * and request (bench/torch_vit.py) when /usr/bin/python3 has torch. The tfjs
 * engine is measured when src/clip/engines.ts provides it.
 *
 * onnx and torch run single images with all cores intra-op, after a warm-up
 * image (for onnx it includes building and caching the graph). The tfjs
 * engine splits a batch over one worker per core, so it gets a batch of
 * `cores` images; on ViT-L/14@518 without a warm-up (one pass is minutes).
 *
 * ENTROAD_BENCH_ENGINES=onnx,tfjs,torch limits what runs;
 * ENTROAD_BENCH_SHAPES=B,L limits the shapes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VisionEngine, VisionRequest } from '../src/clip/engine.ts';
import { createOnnxVisionEngine } from '../src/clip/onnx/engine.ts';
import type { VisionWeightsSource } from '../src/clip/onnx/weights-view.ts';

interface Shape {
  id: string;
  name: string;
  width: number;
  layers: number;
  heads: number;
  patch: number;
  imageSize: number; // native size: the position table has (imageSize/patch)^2 + 1 rows
  size: number; // bench input size
  mlp: number;
  embed: number;
  images: number; // timed single images (onnx, torch) after a warm-up image
  tfjsWarmup: boolean; // tfjs runs one batch of `cores` images (its workers split a batch), after a warm-up batch if set
}

export const SHAPES: Shape[] = [
  { id: 'B', name: 'ViT-B/16@224', width: 768, layers: 12, heads: 12, patch: 16, imageSize: 224, size: 224, mlp: 3072, embed: 512, images: 3, tfjsWarmup: true },
  { id: 'L', name: 'ViT-L/14@518', width: 1024, layers: 24, heads: 16, patch: 14, imageSize: 336, size: 518, mlp: 4096, embed: 768, images: 1, tfjsWarmup: false },
];

const here = path.dirname(fileURLToPath(import.meta.url));

/** The method's request: four evenly spaced blocks, V-V from block 2. */
function methodRequest(s: Shape): VisionRequest {
  const layers = [1, 2, 3, 4].map((i) => (i * s.layers) / 4);
  return { size: s.size, tokenLayers: layers, attnLayers: layers, vvFrom: 2, vvLayers: layers };
}

/** Floating-point operations (2 per multiply-add) of one image. */
function flopsPerImage(s: Shape, req: VisionRequest): number {
  const D = s.width;
  const g = s.size / s.patch;
  const N = g * g;
  const T = N + 1;
  const attention = 2 * T * T * D * 2; // scores and probabilities x values, all heads
  const block = 2 * T * D * 3 * D + attention + 2 * T * D * D + 2 * 2 * T * D * s.mlp;
  const lastVv = Math.max(0, ...(req.vvLayers ?? []));
  const vvBlocks = req.vvFrom ? Math.max(0, lastVv - req.vvFrom + 1) : 0;
  const vvOut = (req.vvLayers?.length ?? 0) * 2 * T * D * s.embed;
  return 2 * N * D * 3 * s.patch * s.patch + s.layers * block + vvBlocks * (attention + 2 * T * D * D) + vvOut;
}

/** A CLIP-shaped random model (xorshift uniform weights; the values do not matter for speed). */
export function randomWeights(s: Shape): VisionWeightsSource {
  let state = 0x9e3779b9;
  const fill = (n: number, scale: number, offset = 0) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      a[i] = offset + scale * ((state >>> 0) / 4294967296 - 0.5);
    }
    return a;
  };
  const D = s.width;
  const g0 = s.imageSize / s.patch;
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  const put = (name: string, shape: number[], scale: number, offset = 0) =>
    tensors.set(name, { data: fill(shape.reduce((a, b) => a * b, 1), scale, offset), shape });
  const P = 'vision_model';
  put(`${P}.embeddings.patch_embedding.weight`, [D, 3, s.patch, s.patch], 0.05);
  put(`${P}.embeddings.class_embedding`, [D], 0.05);
  put(`${P}.embeddings.position_embedding.weight`, [1 + g0 * g0, D], 0.02);
  for (const ln of ['pre_layrnorm', 'post_layernorm']) {
    put(`${P}.${ln}.weight`, [D], 0.1, 1);
    put(`${P}.${ln}.bias`, [D], 0.1);
  }
  for (let i = 0; i < s.layers; i++) {
    const n = `${P}.encoder.layers.${i}`;
    for (const ln of ['layer_norm1', 'layer_norm2']) {
      put(`${n}.${ln}.weight`, [D], 0.1, 1);
      put(`${n}.${ln}.bias`, [D], 0.1);
    }
    for (const pr of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      put(`${n}.self_attn.${pr}.weight`, [D, D], 0.07);
      put(`${n}.self_attn.${pr}.bias`, [D], 0.02);
    }
    put(`${n}.mlp.fc1.weight`, [s.mlp, D], 0.07);
    put(`${n}.mlp.fc1.bias`, [s.mlp], 0.02);
    put(`${n}.mlp.fc2.weight`, [D, s.mlp], 0.03);
    put(`${n}.mlp.fc2.bias`, [D], 0.02);
  }
  put('visual_projection.weight', [s.embed, D], 0.07);
  return {
    name: `random ${s.name}`,
    digest: `bench-random-${s.name}`,
    config: {
      vision: { width: D, layers: s.layers, heads: s.heads, patchSize: s.patch, imageSize: s.imageSize, intermediate: s.mlp, eps: 1e-5 },
      embedDim: s.embed,
    },
    has: (name) => tensors.has(name),
    get: (name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`random weights: no tensor ${name}`);
      return t;
    },
  };
}

interface Timing {
  setup: number; // seconds of the warm-up pass (graph build, session start), or 0 without one
  perImage: number;
  batch: number;
  detail: string;
}

/**
 * Time `passes` encodes of `batch` images after an optional warm-up pass.
 * Every call gets fresh pixels: an engine may take over the buffer.
 */
async function timeEngine(engine: VisionEngine, s: Shape, req: VisionRequest, batch: number, warmup: boolean, passes: number): Promise<Timing> {
  const pixels = () => new Float32Array(batch * 3 * s.size * s.size).map((_, i) => Math.sin(i * 0.001));
  let setup = 0;
  if (warmup) {
    const t0 = performance.now();
    await engine.encode(pixels(), batch, req);
    setup = (performance.now() - t0) / 1000;
  }
  let busy = 0;
  for (let i = 0; i < passes; i++) {
    const px = pixels();
    const t0 = performance.now();
    await engine.encode(px, batch, req);
    busy += performance.now() - t0;
  }
  return { setup, perImage: busy / 1000 / (passes * batch), batch, detail: engine.detail };
}

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function timeTorch(s: Shape, req: VisionRequest): Timing {
  const cfg = {
    width: s.width, layers: s.layers, heads: s.heads, patch: s.patch, size: s.size, mlp: s.mlp,
    embed: s.embed, images: s.images, warmup: 1, out_layers: req.tokenLayers, vv_from: req.vvFrom ?? 0, threads: null, // PyTorch's defaults
  };
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/python3', [path.join(here, 'torch_vit.py'), JSON.stringify(cfg)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_vit.py failed: ${r.stderr.slice(-500)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const total = (performance.now() - t0) / 1000;
  return {
    setup: total - out.s_per_image * s.images,
    perImage: out.s_per_image,
    batch: 1,
    detail: `PyTorch ${out.torch} CPU, ${out.threads} intra-op thread(s) + BLAS pool`,
  };
}

async function tfjsFactory(): Promise<((w: VisionWeightsSource) => Promise<VisionEngine>) | null> {
  const file = path.join(here, '../src/clip/engines.ts');
  if (!existsSync(file)) return null;
  const mod = await import(file);
  if (typeof mod.createVisionEngine !== 'function') return null;
  return (w) => mod.createVisionEngine(w, { engine: 'tfjs' });
}

export async function bench(): Promise<void> {
  const threads = availableParallelism();
  const wantEngines = (process.env.ENTROAD_BENCH_ENGINES ?? 'onnx,tfjs,torch').split(',');
  const wantShapes = (process.env.ENTROAD_BENCH_SHAPES ?? 'B,L').split(',');
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'entroad-bench-onnx-'));
  const savedCache = process.env.ENTROAD_CACHE_DIR;
  process.env.ENTROAD_CACHE_DIR = cacheDir; // random models: do not fill the user's cache
  const hasTorch = wantEngines.includes('torch') && torchAvailable();
  const tfjs = wantEngines.includes('tfjs') ? await tfjsFactory() : null;
  console.log(`${threads} cores; onnx and torch batch 1, tfjs batch ${threads}; request: tokens + attention at 4 blocks, V-V from block 2, global`);
  if (!hasTorch) console.log('PyTorch column skipped: /usr/bin/python3 cannot import torch');
  if (wantEngines.includes('tfjs') && !tfjs) console.log('tfjs engine skipped: src/clip/engines.ts has no createVisionEngine yet');

  const rows: string[][] = [];
  try {
    for (const s of SHAPES.filter((x) => wantShapes.includes(x.id))) {
      const req = methodRequest(s);
      const gflop = flopsPerImage(s, req) / 1e9;
      const results: { engine: string; t: Timing }[] = [];
      const weights = randomWeights(s);

      if (wantEngines.includes('onnx')) {
        const engine = await createOnnxVisionEngine(weights, { engine: 'onnx', threads });
        try {
          results.push({ engine: 'onnx', t: await timeEngine(engine, s, req, 1, true, s.images) });
        } finally {
          await engine.dispose();
        }
      }
      if (tfjs) {
        try {
          const engine = await tfjs(weights);
          try {
            results.push({ engine: 'tfjs', t: await timeEngine(engine, s, req, threads, s.tfjsWarmup, 1) });
          } finally {
            await engine.dispose();
          }
        } catch (e) {
          console.log(`tfjs on ${s.name} failed: ${(e as Error).message}`);
        }
      }
      if (hasTorch) results.push({ engine: 'torch', t: timeTorch(s, req) });

      const torch = results.find((r) => r.engine === 'torch');
      for (const r of results) {
        rows.push([
          s.name,
          r.engine,
          String(r.t.batch),
          r.t.perImage.toFixed(2),
          (1 / r.t.perImage).toFixed(3),
          (gflop / r.t.perImage).toFixed(0),
          torch ? `${(torch.t.perImage / r.t.perImage).toFixed(2)}x` : '-',
          r.t.setup.toFixed(1),
          r.t.detail,
        ]);
      }
      console.log(`${s.name}: ${gflop.toFixed(0)} GFLOP per image`);
      printTable(HEAD, rows.slice(-results.length));
    }
  } finally {
    if (savedCache === undefined) delete process.env.ENTROAD_CACHE_DIR;
    else process.env.ENTROAD_CACHE_DIR = savedCache;
    rmSync(cacheDir, { recursive: true, force: true });
  }
  console.log('\nall shapes:');
  printTable(HEAD, rows);
  console.log('first s: the warm-up pass (onnx: graph build, cache write, session start; torch: process start, model build); 0 = none');
}

const HEAD = ['shape', 'engine', 'batch', 's/image', 'images/s', 'GFLOP/s', 'vs torch', 'first s', 'detail'];

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
