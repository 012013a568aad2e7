/**
 * The `tfjs` vision engine. With one thread the tower runs in this process
 * on the chosen backend; with N > 1 it runs in N worker_threads, each with
 * its own backend instance (the wasm backend is single-threaded in Node),
 * and each `encode` batch is split into N contiguous chunks.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { initTf } from '../backend.ts';
import type { EngineOptions, Tensor, VisionEngine, VisionOutputs, VisionRequest } from '../engine.ts';
import type { ClipWeights } from '../weights.ts';
import { shareWeights } from './shared-weights.ts';
import { VisionTower, checkVisionRequest, visionTensorNames, type WeightSource } from './vision.ts';

interface Pending {
  resolve: (o: VisionOutputs) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  readonly ready: Promise<string>;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.once('message', (m) => (m.ready ? resolve(m.backend) : reject(new Error(`tfjs worker: ${m.error}`))));
      worker.once('error', reject);
    });
    worker.on('message', (m) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id)!;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m.out);
    });
    worker.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  run(pixels: Float32Array, batch: number, req: VisionRequest): Promise<VisionOutputs> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, pixels, batch, req }, [pixels.buffer as ArrayBuffer]);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Concatenate per-chunk outputs along the batch axis (axis 0). */
function concatBatch(parts: Tensor[]): Tensor {
  const n = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new Float32Array(n);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { data, shape: [parts.reduce((a, p) => a + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}

function mergeOutputs(parts: VisionOutputs[]): VisionOutputs {
  if (parts.length === 1) return parts[0];
  const maps = (key: 'tokens' | 'attn' | 'vvTokens' | 'vvTokensLnPost') => {
    const m = new Map<number, Tensor>();
    for (const l of parts[0][key].keys()) m.set(l, concatBatch(parts.map((p) => p[key].get(l)!)));
    return m;
  };
  return {
    imageEmbeds: concatBatch(parts.map((p) => p.imageEmbeds)),
    tokens: maps('tokens'),
    attn: maps('attn'),
    vvTokens: maps('vvTokens'),
    vvTokensLnPost: maps('vvTokensLnPost'),
    global: parts[0].global ? concatBatch(parts.map((p) => p.global!)) : undefined,
  };
}

export async function createTfjsVisionEngine(weights: ClipWeights | WeightSource, opts: EngineOptions): Promise<VisionEngine> {
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const requested = opts.backend ?? 'auto';
  const v = weights.config.vision;
  const geometry = {
    width: v.width, layers: v.layers, heads: v.heads, patchSize: v.patchSize,
    imageSize: v.imageSize, embedDim: weights.config.embedDim,
  };

  if (threads === 1) {
    const backend = await initTf(requested);
    const tower = new VisionTower(weights);
    return {
      name: 'tfjs',
      detail: `tfjs ${backend}, 1 thread (in process)`,
      geometry,
      async encode(pixels, batch, req) {
        return tower.forward(pixels, batch, req);
      },
      async dispose() {
        tower.dispose();
      },
    };
  }

  const shared = shareWeights(weights, visionTensorNames(weights.config));
  const boot = new URL('./worker-boot.mjs', import.meta.url);
  const handles = Array.from(
    { length: threads },
    () => new WorkerHandle(new Worker(boot, { workerData: { backend: requested, weights: shared }, execArgv: [] })),
  );
  let backends: string[];
  try {
    backends = await Promise.all(handles.map((h) => h.ready));
  } catch (e) {
    await Promise.all(handles.map((h) => h.terminate()));
    throw e;
  }

  return {
    name: 'tfjs',
    detail: `tfjs ${backends[0]}, ${threads} worker threads`,
    geometry,
    async encode(pixels: Float32Array, batch: number, req: VisionRequest) {
      checkVisionRequest(weights.config, req); // fail once, not once per worker
      if (!Number.isInteger(batch) || batch < 1) throw new Error(`encode: batch ${batch} must be a positive integer`);
      const per = 3 * req.size * req.size;
      const chunks = Math.min(threads, batch);
      const jobs: Promise<VisionOutputs>[] = [];
      let start = 0;
      for (let i = 0; i < chunks; i++) {
        const n = Math.floor(batch / chunks) + (i < batch % chunks ? 1 : 0);
        jobs.push(handles[i].run(pixels.slice(start * per, (start + n) * per), n, req));
        start += n;
      }
      return mergeOutputs(await Promise.all(jobs));
    },
    async dispose() {
      await Promise.all(handles.map((h) => h.terminate()));
    },
  };
}
