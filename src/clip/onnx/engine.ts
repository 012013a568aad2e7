/**
 * The `onnx` vision engine: CLIP's vision tower built as an ONNX graph from
 * the loaded weights (vit.ts), cached on disk (cache.ts) and run with
 * onnxruntime-node (session.ts).
 *
 * One graph, and one session, per distinct request (input size, position
 * interpolation, requested outputs); sessions stay open until dispose().
 * The batch size is free per call.
 *
 * Known limits: weights are fp32 only; the CUDA provider is untested here
 * (see session.ts); a tower above about 500 M parameters exceeds protobuf's
 * 2 GB limit (see vit.ts).
 */
import ort from 'onnxruntime-node';
import type {
  EngineOptions,
  Tensor,
  VisionEngine,
  VisionOutputs,
  VisionRequest,
} from '../engine.ts';
import { cachedGraph, graphKey } from './cache.ts';
import { chooseSession, openSession } from './session.ts';
import { normaliseRequest, type GraphSpec } from './spec.ts';
import { buildVisionGraph } from './vit.ts';
import type { VisionWeightsSource } from './weights-view.ts';

export async function createOnnxVisionEngine(
  weights: VisionWeightsSource,
  opts: EngineOptions,
): Promise<VisionEngine> {
  const choice = chooseSession(opts.backend, opts.threads);
  const v = weights.config.vision;
  const sessions = new Map<string, Promise<ort.InferenceSession>>();

  const sessionFor = (spec: GraphSpec) => {
    const key = graphKey(weights.digest, spec);
    let s = sessions.get(key);
    if (!s) {
      const file = cachedGraph(weights.digest, spec, () => buildVisionGraph(weights, spec));
      s = openSession(file, choice);
      sessions.set(key, s);
      s.catch(() => sessions.delete(key)); // a failed open is retried on the next call
    }
    return s;
  };

  return {
    name: 'onnx',
    detail:
      `onnxruntime-node ${ort.env.versions.common ?? ''} ${choice.provider}, ` +
      `${choice.threads} intra-op threads`,
    geometry: {
      width: v.width,
      layers: v.layers,
      heads: v.heads,
      patchSize: v.patchSize,
      imageSize: v.imageSize,
      embedDim: weights.config.embedDim,
    },

    async encode(pixels: Float32Array, batch: number, req: VisionRequest): Promise<VisionOutputs> {
      const spec = normaliseRequest(req, v);
      const S = spec.size;
      if (!Number.isInteger(batch) || batch < 1 || pixels.length !== batch * 3 * S * S) {
        throw new Error(
          `onnx engine: pixels has ${pixels.length} values; ` +
            `expected batch ${batch} x 3 x ${S} x ${S} = ${batch * 3 * S * S}`,
        );
      }
      const session = await sessionFor(spec);
      const result = await session.run({ pixels: new ort.Tensor('float32', pixels, [batch, 3, S, S]) });
      return collect(result, spec);
    },

    async dispose() {
      const open = [...sessions.values()];
      sessions.clear();
      for (const s of open) {
        await s.then((x) => x.release()).catch(() => undefined);
      }
    },
  };
}

function toTensor(t: ort.Tensor): Tensor {
  return { data: t.data as Float32Array, shape: t.dims.slice() };
}

function collect(result: ort.InferenceSession.OnnxValueMapType, spec: GraphSpec): VisionOutputs {
  const get = (name: string) => toTensor(result[name] as ort.Tensor);
  const byLayer = (prefix: string, layers: number[]) =>
    new Map(layers.map((l) => [l, get(`${prefix}.${l}`)] as [number, Tensor]));
  return {
    imageEmbeds: get('imageEmbeds'),
    global: get('global'),
    tokens: byLayer('tokens', spec.tokenLayers),
    attn: byLayer('attn', spec.attnLayers),
    vvTokens: byLayer('vvTokens', spec.vvLayers),
    vvTokensLnPost: byLayer('vvTokensLnPost', spec.vvLayers),
  };
}
