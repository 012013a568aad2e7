/**
 * Reading and writing the per-image tables that flow between the Stage-2
 * nodes (formats in `src/nodes/artifacts.ts`): features, entropy, retrieval
 * and routed tokens. Every table carries the dataset's sample order, and a
 * node that joins two tables checks that they agree instead of guessing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../util/safetensors.ts';
import {
  featureFile,
  readJson,
  writeJson,
  writeTable,
  type FeatureIndex,
} from '../nodes/artifacts.ts';
import type { DatasetManifest } from '../data/types.ts';

export function readFeatureIndex(dir: string): FeatureIndex {
  const idx = readJson<FeatureIndex>(join(dir, 'index.json'));
  if (!Array.isArray(idx.sampleIds) || !(idx.grid > 0)) {
    throw new Error(`${join(dir, 'index.json')}: not a features index (no sampleIds or grid)`);
  }
  return idx;
}

/** One tensor of image i's feature file, checked for its size. */
export function readFeature(dir: string, i: number, name: string, expected: number): Float32Array {
  return readFeatures(dir, i, [name], expected)[0];
}

/** Several tensors of image i's feature file, reading the file once. */
export function readFeatures(dir: string, i: number, names: string[], expected: number): Float32Array[] {
  const file = featureFile(dir, i);
  const st = readSafetensors(file);
  return names.map((name) => {
    if (!st.tensors.has(name)) {
      throw new Error(`${file}: no tensor "${name}" (has ${[...st.tensors.keys()].join(', ')})`);
    }
    const data = st.float32(name);
    if (data.length !== expected) {
      throw new Error(`${file}: tensor "${name}" has ${data.length} values, expected ${expected}`);
    }
    return data;
  });
}

/** Throw unless every requested layer is among the features' map layers. */
export function checkMapLayers(node: string, param: string, wanted: number[], idx: FeatureIndex): void {
  const missing = wanted.filter((l) => !idx.mapLayers.includes(l));
  if (missing.length) {
    throw new Error(
      `${node}: param ${param} asks for layer(s) ${missing.join(', ')} but the features hold patch maps ` +
        `of [${idx.mapLayers.join(', ')}] only; set ${param} to a subset of those`,
    );
  }
}

export function readSampleIds(dir: string): string[] {
  return readJson<{ sampleIds: string[] }>(join(dir, 'index.json')).sampleIds;
}

export function readDataset(dir: string): DatasetManifest {
  return readJson<DatasetManifest>(join(dir, 'samples.json'));
}

/** Throw when two artifacts list different images (or a different order). */
export function checkSameSamples(node: string, a: string[], aName: string, b: string[], bName: string): void {
  if (a.length !== b.length) {
    throw new Error(
      `${node}: input "${aName}" has ${a.length} images but "${bName}" has ${b.length}; ` +
        'connect inputs computed from the same dataset',
    );
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      throw new Error(
        `${node}: inputs "${aName}" and "${bName}" disagree at image ${i} ("${a[i]}" vs "${b[i]}"); ` +
          'connect inputs computed from the same dataset',
      );
    }
  }
}

/** A [B, ...] table read back from safetensors. */
function tableTensor(file: string, name: string, rows: number): { data: Float32Array; width: number } {
  const st = readSafetensors(file);
  if (!st.tensors.has(name)) throw new Error(`${file}: no tensor "${name}"`);
  const shape = st.shape(name);
  if (shape[0] !== rows) throw new Error(`${file}: tensor "${name}" has ${shape[0]} rows, index.json lists ${rows} images`);
  const data = st.float32(name);
  return { data, width: data.length / rows };
}

// ---- entropy/: e [B,N] (Eq. 3)

export interface EntropyTable {
  sampleIds: string[];
  layers: number[];
  /** [B,N] */
  e: Float32Array;
  N: number;
}

export function writeEntropy(dir: string, t: EntropyTable): void {
  const B = t.sampleIds.length;
  writeTable(join(dir, 'entropy.safetensors'), { e: { dtype: 'F32', shape: [B, t.N], data: t.e } });
  writeJson(join(dir, 'index.json'), { sampleIds: t.sampleIds, layers: t.layers, N: t.N });
}

export function readEntropy(dir: string): EntropyTable {
  const idx = readJson<{ sampleIds: string[]; layers?: number[] }>(join(dir, 'index.json'));
  const { data, width } = tableTensor(join(dir, 'entropy.safetensors'), 'e', idx.sampleIds.length);
  return { sampleIds: idx.sampleIds, layers: idx.layers ?? [], e: data, N: width };
}

// ---- retrieval/: a_ret [B], p [B,N] (Eq. 4)

export interface RetrievalTable {
  sampleIds: string[];
  aRet: Float32Array;
  /** [B,N] */
  p: Float32Array;
  N: number;
}

export function readRetrieval(dir: string): RetrievalTable {
  const sampleIds = readSampleIds(dir);
  const file = join(dir, 'retrieval.safetensors');
  const aRet = tableTensor(file, 'a_ret', sampleIds.length).data;
  const { data, width } = tableTensor(file, 'p', sampleIds.length);
  return { sampleIds, aRet, p: data, N: width };
}

// ---- routed/: t_n, t_a_raw, t_a [B,E]; g, sigma_e, p_max [B] (Eq. 5-8)

export interface RoutedTable {
  sampleIds: string[];
  E: number;
  tN: Float32Array; // [B,E]
  tARaw: Float32Array; // [B,E]
  tA: Float32Array; // [B,E]
  g: Float32Array; // [B]
  sigmaE: Float32Array; // [B]
  pMax: Float32Array; // [B]
  /** How the tokens were made (for the record, not read by the method). */
  info: Record<string, unknown>;
}

export function writeRouted(dir: string, t: RoutedTable): void {
  const B = t.sampleIds.length;
  const mat = (data: Float32Array) => ({ dtype: 'F32' as const, shape: [B, t.E], data });
  const vec = (data: Float32Array) => ({ dtype: 'F32' as const, shape: [B], data });
  writeTable(join(dir, 'routed.safetensors'), {
    t_n: mat(t.tN),
    t_a_raw: mat(t.tARaw),
    t_a: mat(t.tA),
    g: vec(t.g),
    sigma_e: vec(t.sigmaE),
    p_max: vec(t.pMax),
  });
  writeJson(join(dir, 'index.json'), { sampleIds: t.sampleIds, E: t.E, ...t.info });
}

export function readRouted(dir: string): RoutedTable {
  const file = join(dir, 'routed.safetensors');
  if (!existsSync(file)) throw new Error(`${dir}: no routed.safetensors (not a routed-tokens artifact)`);
  const idx = readJson<{ sampleIds: string[]; E: number } & Record<string, unknown>>(join(dir, 'index.json'));
  const B = idx.sampleIds.length;
  const { sampleIds, E, ...info } = idx;
  return {
    sampleIds,
    E,
    tN: tableTensor(file, 't_n', B).data,
    tARaw: tableTensor(file, 't_a_raw', B).data,
    tA: tableTensor(file, 't_a', B).data,
    g: tableTensor(file, 'g', B).data,
    sigmaE: tableTensor(file, 'sigma_e', B).data,
    pMax: tableTensor(file, 'p_max', B).data,
    info,
  };
}
