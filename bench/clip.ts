/**
 * Speed of the tfjs vision engine: images/s and achieved GFLOP/s for a
 * ViT-B/16 at 224 px and a ViT-L/14 at 518 px shaped tower (random weights
 * generated in memory), with one thread in process and with one worker per
 * core, on every tfjs backend that loads here (tensorflow, wasm; the pure-JS
 * cpu backend is about 0.4 GFLOP/s and is skipped).
 *
 * ViT-L/14 at 518 is about 1 TFLOP per image, minutes on wasm: it is timed
 * with 1 of its 24 blocks and extrapolated linearly to 24 (the patch
 * embedding and head are under 0.2 % of the work), and labelled so.
 */
import os from 'node:os';
import { initTf } from '../src/clip/backend.ts';
import { createTfjsVisionEngine } from '../src/clip/tfjs/engine.ts';
import type { WeightSource } from '../src/clip/tfjs/vision.ts';
import { visionTensorNames } from '../src/clip/tfjs/vision.ts';
import type { ClipConfig } from '../src/clip/weights.ts';
import { expectedTensors } from '../src/clip/weights.ts';
import { Rng } from '../src/util/rng.ts';

interface Shape {
  label: string;
  width: number;
  layers: number;
  /** Blocks actually run (extrapolated to `layers`). */
  timedLayers: number;
  heads: number;
  patch: number;
  native: number;
  size: number;
  embed: number;
}

const SHAPES: Shape[] = [
  { label: 'ViT-B/16 @224', width: 768, layers: 12, timedLayers: 12, heads: 12, patch: 16, native: 224, size: 224, embed: 512 },
  { label: 'ViT-L/14 @518', width: 1024, layers: 24, timedLayers: 1, heads: 16, patch: 14, native: 336, size: 518, embed: 768 },
];

function configOf(s: Shape, layers: number): ClipConfig {
  return {
    vision: { width: s.width, layers, heads: s.heads, patchSize: s.patch, imageSize: s.native, intermediate: 4 * s.width, eps: 1e-5 },
    text: { width: 64, layers: 1, heads: 1, intermediate: 64, vocabSize: 1, contextLength: 1, eps: 1e-5 },
    embedDim: s.embed,
    logitScale: 0,
  };
}

/** Random vision weights with sane scales (LayerNorm gains 1). */
function randomVision(config: ClipConfig): WeightSource {
  const shapes = expectedTensors(config);
  const rng = new Rng(1);
  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const name of visionTensorNames(config)) {
    const shape = shapes.get(name)!;
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const data = /norm|layrnorm/.test(name) && name.endsWith('.weight')
      ? new Float32Array(n).fill(1)
      : rng.normalArray(n, name.endsWith('.bias') ? 0.02 : 1 / Math.sqrt(fanIn));
    tensors.set(name, { data, shape });
  }
  return { config, get: (n) => tensors.get(n)! };
}

/** Multiply-adds x2 of one image through `layers` blocks. */
function gflop(s: Shape, layers: number): number {
  const D = s.width;
  const T = 1 + (s.size / s.patch) ** 2;
  const perBlock = 2 * T * (4 * D * D + 2 * D * 4 * D) + 2 * 2 * T * T * D;
  const patchEmbed = 2 * (T - 1) * 3 * s.patch * s.patch * D;
  return (layers * perBlock + patchEmbed) / 1e9;
}

async function measure(s: Shape, backend: string, threads: number): Promise<string> {
  const weights = randomVision(configOf(s, s.timedLayers));
  const engine = await createTfjsVisionEngine(weights, { engine: 'tfjs', backend, threads });
  try {
    const batch = threads; // one image per worker
    const pixels = () => new Rng(2).normalArray(batch * 3 * s.size * s.size);
    const req = { size: s.size };
    await engine.encode(pixels(), batch, req); // warm-up: heap growth, kernel set-up
    const t0 = performance.now();
    await engine.encode(pixels(), batch, req);
    const sec = (performance.now() - t0) / 1000;
    const flopTimed = gflop(s, s.timedLayers) * batch;
    const gfs = flopTimed / sec;
    const perImage = (sec / batch) * (gflop(s, s.layers) / gflop(s, s.timedLayers));
    const note = s.timedLayers < s.layers ? ` (timed ${s.timedLayers}/${s.layers} blocks, extrapolated)` : '';
    return `${s.label.padEnd(15)} ${backend.padEnd(10)} ${String(threads).padStart(2)} thr  ` +
      `${(1 / perImage).toFixed(3).padStart(7)} img/s  ${perImage.toFixed(2).padStart(7)} s/img  ` +
      `${gfs.toFixed(1).padStart(5)} GFLOP/s${note}`;
  } finally {
    await engine.dispose();
  }
}

async function available(): Promise<string[]> {
  const out: string[] = [];
  for (const b of ['tensorflow', 'wasm']) {
    try {
      await initTf(b);
      out.push(b);
    } catch {
      // not installed here
    }
  }
  return out;
}

export async function bench(): Promise<void> {
  const cores = os.availableParallelism();
  const backends = await available();
  console.log(`tfjs vision engine, random weights, ${cores} cores; backends: ${backends.join(', ')} (cpu skipped: ~0.4 GFLOP/s)`);
  for (const backend of backends) {
    for (const s of SHAPES) {
      for (const threads of [...new Set([1, cores])]) console.log(await measure(s, backend, threads));
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
