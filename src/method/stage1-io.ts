/**
 * Reading and writing the artifacts around Stage 1: per-image features (as
 * `clip-features` writes them), the memory bank, the Stage-1 model, and the
 * dataset's masks at the input size.
 *
 * memory/  memory.safetensors
 *            K_img [M1,E]  L2-normalised global features of the auxiliary images
 *            V_img [M1,2]  one-hot image label [normal, anomaly]
 *            K_pat [M2,D]  L2-normalised normal / anomaly prototypes (mask rule)
 *            V_pat [M2,2]  one-hot prototype class
 *            owner_img [M1], owner_pat [M2] (I32)  index of the sample each key came from
 *          memory.json MemoryInfo
 * model/   model.safetensors (torch Linear layout: weight [out,in], bias [out])
 *            img_q.*, img_k.* [E,E]; pat_q.*, pat_k.* [E,D]
 *          model.json Stage1ModelInfo
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readSafetensors, writeSafetensors } from '../util/safetensors.ts';
import { featureFile, readJson, writeJson, type FeatureIndex } from '../nodes/artifacts.ts';
import type { DatasetManifest, Sample } from '../data/types.ts';
import { readMask, resizeMask } from '../data/image-io.ts';

export function readFeatureIndex(dir: string): FeatureIndex {
  const index = readJson<FeatureIndex>(join(dir, 'index.json'));
  if (!Array.isArray(index.sampleIds) || !index.grid || !index.embedDim || !index.memDim) {
    throw new Error(`${join(dir, 'index.json')}: not a features index (sampleIds, grid, embedDim, memDim expected)`);
  }
  return index;
}

/** Named tensors of image i of a features artifact, as float32. */
export function readFeatureImage(dir: string, i: number, names: string[]): Record<string, Float32Array> {
  const file = readSafetensors(featureFile(dir, i));
  const out: Record<string, Float32Array> = {};
  for (const n of names) out[n] = file.float32(n);
  return out;
}

export function readDataset(dir: string): DatasetManifest {
  return readJson<DatasetManifest>(join(dir, 'samples.json'));
}

/** Features must be listed in the dataset's order; say which id differs otherwise. */
export function checkSameSamples(features: FeatureIndex, dataset: DatasetManifest, node: string): void {
  const ids = dataset.samples.map((s) => s.id);
  if (ids.length !== features.sampleIds.length) {
    throw new Error(
      `${node}: the features list ${features.sampleIds.length} images but the dataset has ${ids.length}; ` +
        'connect the features computed from this same dataset',
    );
  }
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== features.sampleIds[i]) {
      throw new Error(
        `${node}: sample ${i} is "${features.sampleIds[i]}" in the features but "${ids[i]}" in the dataset; ` +
          'connect the features computed from this same dataset',
      );
    }
  }
}

/**
 * The ground-truth mask of a sample at size x size (0/1): binarised at load,
 * bilinear to the input size, > 0.5. A normal image without a mask file is
 * all zero; an anomalous image without one cannot supervise Stage 1.
 */
export async function maskAtSize(sample: Sample, size: number, node: string): Promise<Uint8Array> {
  if (!sample.maskPath) {
    if (sample.label === 0) return new Uint8Array(size * size);
    throw new Error(
      `${node}: anomalous sample "${sample.id}" has no mask; Stage 1 needs pixel masks for the ` +
        'anomalous images of the auxiliary dataset (use a benchmark with masks, e.g. MVTec AD or VisA)',
    );
  }
  const m = await readMask(sample.maskPath);
  return resizeMask(m.data, m.width, m.height, size);
}

export interface MemoryBank {
  E: number;
  D: number;
  Kimg: Float32Array;
  Vimg: Float32Array;
  Kpat: Float32Array;
  Vpat: Float32Array;
  ownerImg: Int32Array;
  ownerPat: Int32Array;
}

export interface MemoryInfo {
  sampleIds: string[];
  embedDim: number;
  memDim: number;
  imageKeys: number;
  patchKeys: { normal: number; anomaly: number };
  grid: number;
  size: number;
}

export function writeMemoryBank(dir: string, mb: MemoryBank, info: MemoryInfo): void {
  const M1 = mb.ownerImg.length;
  const M2 = mb.ownerPat.length;
  writeSafetensors(join(dir, 'memory.safetensors'), {
    K_img: { dtype: 'F32', shape: [M1, mb.E], data: mb.Kimg },
    V_img: { dtype: 'F32', shape: [M1, 2], data: mb.Vimg },
    K_pat: { dtype: 'F32', shape: [M2, mb.D], data: mb.Kpat },
    V_pat: { dtype: 'F32', shape: [M2, 2], data: mb.Vpat },
    owner_img: { dtype: 'I32', shape: [M1], data: mb.ownerImg },
    owner_pat: { dtype: 'I32', shape: [M2], data: mb.ownerPat },
  });
  writeJson(join(dir, 'memory.json'), info);
}

export function readMemoryBank(dir: string): { bank: MemoryBank; info: MemoryInfo } {
  const f = readSafetensors(join(dir, 'memory.safetensors'));
  const [, E] = f.shape('K_img');
  const [, D] = f.shape('K_pat');
  const bank: MemoryBank = {
    E,
    D,
    Kimg: f.float32('K_img'),
    Vimg: f.float32('V_img'),
    Kpat: f.float32('K_pat'),
    Vpat: f.float32('V_pat'),
    ownerImg: f.int32('owner_img'),
    ownerPat: f.int32('owner_pat'),
  };
  return { bank, info: readJson<MemoryInfo>(join(dir, 'memory.json')) };
}

export interface Stage1ModelInfo {
  kind: 'stage1';
  embedDim: number;
  memDim: number;
  /** Whether patch queries (ln_post tokens) are L2-normalised before projection. */
  normalizePatchQueries: boolean;
  params: Record<string, unknown>;
  steps: number;
  finalLoss: number;
}

export const STAGE1_NAMES = ['img_q', 'img_k', 'pat_q', 'pat_k'] as const;
export type Stage1Name = (typeof STAGE1_NAMES)[number];

/** Named parameters: `<proj>.weight` [out,in] and `<proj>.bias` [out]. */
export type Stage1Params = Record<string, { data: Float32Array; shape: number[] }>;

export function writeStage1Model(dir: string, params: Stage1Params, info: Stage1ModelInfo): void {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, p] of Object.entries(params)) tensors[name] = { dtype: 'F32', ...p };
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeJson(join(dir, 'model.json'), info);
}

export function readStage1Model(dir: string, node: string): { params: Stage1Params; info: Stage1ModelInfo } {
  const infoPath = join(dir, 'model.json');
  if (!existsSync(infoPath)) throw new Error(`${node}: ${infoPath} is missing; connect a stage1-train model`);
  const info = readJson<Stage1ModelInfo>(infoPath);
  if (info.kind !== 'stage1') {
    throw new Error(`${node}: the model input is a "${info.kind}" model; connect the output of a stage1-train node`);
  }
  const f = readSafetensors(join(dir, 'model.safetensors'));
  const params: Stage1Params = {};
  for (const n of STAGE1_NAMES) {
    for (const part of ['weight', 'bias']) {
      const key = `${n}.${part}`;
      params[key] = { data: f.float32(key), shape: f.shape(key) };
    }
  }
  return { params, info };
}
