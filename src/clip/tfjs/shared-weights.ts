/**
 * The vision weights packed into one SharedArrayBuffer, so N workers read
 * them without N copies on the JavaScript heap (each backend still uploads
 * its own copy into its wasm memory).
 */
import type { ClipConfig } from '../weights.ts';
import type { WeightSource } from './vision.ts';

export interface SharedWeights {
  config: ClipConfig;
  buffer: SharedArrayBuffer;
  /** name -> [offset in floats, length, shape] */
  index: Record<string, [number, number, number[]]>;
}

export function shareWeights(src: WeightSource, names: string[]): SharedWeights {
  let total = 0;
  const index: SharedWeights['index'] = {};
  for (const n of names) {
    const t = src.get(n);
    index[n] = [total, t.data.length, t.shape];
    total += t.data.length;
  }
  const buffer = new SharedArrayBuffer(total * 4);
  const all = new Float32Array(buffer);
  for (const n of names) all.set(src.get(n).data, index[n][0]);
  return { config: src.config, buffer, index };
}

export function viewShared(w: SharedWeights): WeightSource {
  return {
    config: w.config,
    get(name) {
      const e = w.index[name];
      if (!e) throw new Error(`shared vision weights: no tensor "${name}"`);
      return { data: new Float32Array(w.buffer, e[0] * 4, e[1]), shape: e[2] };
    },
  };
}
