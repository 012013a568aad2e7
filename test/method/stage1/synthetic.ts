/**
 * A small synthetic auxiliary set for Stage-1 tests: anomalous patches are
 * shifted along a fixed direction, so retrieval has something to learn.
 */
import { Rng } from '../../../src/util/rng.ts';
import { MemoryBuilder, type MemoryImage } from '../../../src/method/stage1-memory.ts';
import { patchQueries, type TrainingBatch } from '../../../src/method/stage1.ts';
import { l2NormalizeRows } from '../../../src/method/smoothing.ts';

export const E = 6;
export const D = 5;
export const G = 3;
export const SIZE = 6; // 2 px per cell

export function syntheticImages(n: number, seed = 1): MemoryImage[] {
  const rng = new Rng(seed);
  const out: MemoryImage[] = [];
  for (let i = 0; i < n; i++) {
    const label = (i % 2) as 0 | 1;
    const mask = new Uint8Array(SIZE * SIZE);
    const mem = rng.normalArray(G * G * D, 0.3);
    if (label) {
      const r = rng.int(0, G - 1);
      const c = rng.int(0, G - 1);
      for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const cell = (r + dr) * G + (c + dc);
        for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) mask[((r + dr) * 2 + y) * SIZE + (c + dc) * 2 + x] = 1;
        mem[cell * D] += 2; // anomaly direction
      }
    }
    for (let k = 0; k < G * G; k++) mem[k * D + 1] += 1; // a shared normal component
    const global = rng.normalArray(E);
    global[0] += label ? 2 : -2;
    out.push({ global, mem, label, mask });
  }
  return out;
}

export function syntheticBank(images: MemoryImage[]) {
  const b = new MemoryBuilder(E, D, G, SIZE);
  images.forEach((im, i) => b.add(i, im));
  return b.build();
}

export function batchOf(images: MemoryImage[], indices: number[]): TrainingBatch {
  const B = indices.length;
  const N = G * G;
  const qImg = new Float32Array(B * E);
  const qPat = new Float32Array(B * N * D);
  const masks = new Float32Array(B * SIZE * SIZE);
  const labels = new Float32Array(B);
  indices.forEach((i, b) => {
    qImg.set(l2NormalizeRows(images[i].global, E), b * E);
    qPat.set(patchQueries(images[i].mem, D, true), b * N * D);
    masks.set(images[i].mask, b * SIZE * SIZE);
    labels[b] = images[i].label;
  });
  return { B, N, qImg, qPat, masks, labels, indices };
}
