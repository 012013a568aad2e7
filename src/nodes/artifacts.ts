/**
 * On-disk formats of the artifacts that flow between the method nodes.
 * Every per-image table is ordered like the dataset's `samples.json`
 * (`sampleIds` repeats the order so a mismatch is caught, not guessed).
 *
 * features/      (clip-features, port `features`)
 *   index.json           FeatureIndex
 *   img-<i>.safetensors  per image i (0-based, sample order):
 *     global     [E]      original-stream class token * proj (Stage 1 image memory)
 *     patch.<L>  [N,E]    smoothed, L2-normalised V-V patch features of map layer L
 *     mem        [N,D]    smoothed layer-<memLayer> V-V tokens after ln_post (patch memory)
 *     entropy.<L>[N]      structural entropy of layer L's q-k attention (Eq. 1-2)
 *     attn.<L>   [T,T]    F16, only when `keep_attention` is set
 * retrieval/     retrieval.safetensors: a_ret [B], p [B,N]; index.json {sampleIds}
 * entropy/       entropy.safetensors: e [B,N] (Eq. 3 mean over Omega); index.json
 * routed/        routed.safetensors: t_n, t_a_raw, t_a [B,E]; g, sigma_e, p_max [B]; index.json
 * model/         model.safetensors (named parameters) + model.json {kind, ...}
 * maps/          index.json MapsIndex; map-<i>.safetensors: map [H,W] (F32, eval size)
 * scores/        scores.json ScoresFile
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../util/safetensors.ts';

export interface FeatureIndex {
  sampleIds: string[];
  /** Patch grid side g (N = g*g). */
  grid: number;
  /** Input side in pixels. */
  size: number;
  embedDim: number; // E
  memDim: number; // D
  mapLayers: number[];
  entropyLayers: number[];
  memLayer: number;
  backbone: { name: string; pretrained: boolean; digest: string };
}

export interface MapsIndex {
  sampleIds: string[];
  /** Maps are stored at size x size (the evaluation size). */
  size: number;
}

export interface ScoresFile {
  sampleIds: string[];
  /** Final image score a (Eq. 22). */
  scores: number[];
  /** Components, for analysis. */
  aLoc?: number[];
  aRet?: number[];
}

export function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

export const featureFile = (dir: string, i: number) => join(dir, `img-${i}.safetensors`);
export const mapFile = (dir: string, i: number) => join(dir, `map-${i}.safetensors`);

export function writeMap(dir: string, i: number, map: Float32Array, size: number): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(mapFile(dir, i), { map: { dtype: 'F32', shape: [size, size], data: map } });
}

export function readMap(dir: string, i: number): Float32Array {
  return readSafetensors(mapFile(dir, i)).float32('map');
}

export function writeTable(path: string, tensors: Record<string, TensorToWrite>): void {
  writeSafetensors(path, tensors);
}
