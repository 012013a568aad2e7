/**
 * A VisionRequest checked against the model and put in canonical form
 * (sorted, de-duplicated layers, defaults filled in). One GraphSpec is one
 * built ONNX graph: the graph cache and the session cache are keyed by it.
 */
import type { VisionRequest } from '../engine.ts';
import type { PosInterp } from '../pos-embed.ts';
import type { VisionConfig } from './weights-view.ts';

export interface GraphSpec {
  size: number;
  posInterp: PosInterp;
  tokenLayers: number[];
  attnLayers: number[];
  /** 0 = no V-V stream. */
  vvFrom: number;
  vvLayers: number[];
  globalLnPost: boolean;
}

function layerList(what: string, layers: number[] | undefined, lo: number, hi: number): number[] {
  const out = [...new Set(layers ?? [])].sort((a, b) => a - b);
  for (const l of out) {
    if (!Number.isInteger(l) || l < lo || l > hi) {
      throw new Error(
        `VisionRequest.${what}: layer ${l} is outside ${lo}..${hi} (layers are 1-indexed blocks)`,
      );
    }
  }
  return out;
}

export function normaliseRequest(req: VisionRequest, v: VisionConfig): GraphSpec {
  const L = v.layers;
  if (!Number.isInteger(req.size) || req.size < v.patchSize) {
    throw new Error(`VisionRequest.size: ${req.size} is not a whole number of ${v.patchSize}-pixel patches`);
  }
  if (req.size % v.patchSize !== 0) {
    throw new Error(
      `VisionRequest.size: ${req.size} is not a multiple of the patch size ${v.patchSize}; ` +
        `use e.g. ${Math.round(req.size / v.patchSize) * v.patchSize}`,
    );
  }
  const vvFrom = req.vvFrom ?? 0;
  if (req.vvFrom !== undefined && (!Number.isInteger(vvFrom) || vvFrom < 1 || vvFrom > L)) {
    throw new Error(`VisionRequest.vvFrom: ${req.vvFrom} is outside 1..${L}`);
  }
  if (!vvFrom && req.vvLayers?.length) {
    throw new Error('VisionRequest.vvLayers needs vvFrom (the first block of the V-V stream)');
  }
  const interp = req.posInterp ?? 'bilinear';
  if (interp !== 'bilinear' && interp !== 'bicubic') {
    throw new Error(`VisionRequest.posInterp: "${interp}" is not 'bilinear' or 'bicubic'`);
  }
  return {
    size: req.size,
    posInterp: interp,
    tokenLayers: layerList('tokenLayers', req.tokenLayers, 1, L),
    attnLayers: layerList('attnLayers', req.attnLayers, 1, L),
    vvFrom,
    vvLayers: vvFrom ? layerList('vvLayers', req.vvLayers, vvFrom, L) : [],
    globalLnPost: req.globalLnPost ?? false,
  };
}
