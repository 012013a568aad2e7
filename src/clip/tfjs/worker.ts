/**
 * One extraction worker: its own tfjs backend (wasm runs one thread per
 * backend in Node, so parallelism comes from workers) and its own copy of
 * the vision tower, built from weights shared read-only with the parent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initTf } from '../backend.ts';
import { VisionTower } from './vision.ts';
import type { SharedWeights } from './shared-weights.ts';
import { viewShared } from './shared-weights.ts';

const { backend, weights } = workerData as { backend: string; weights: SharedWeights };

try {
  const name = await initTf(backend);
  const tower = new VisionTower(viewShared(weights));
  parentPort!.on('message', (m: { id: number; pixels: Float32Array; batch: number; req: any }) => {
    try {
      const out = tower.forward(m.pixels, m.batch, m.req);
      parentPort!.postMessage({ id: m.id, out });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).message });
    }
  });
  parentPort!.postMessage({ ready: true, backend: name });
} catch (e) {
  parentPort!.postMessage({ ready: false, error: (e as Error).message });
}
