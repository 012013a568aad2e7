/**
 * Creating a vision engine by name. Nodes call this, never an engine module
 * directly, so a faster engine slots in without touching them.
 */
import type { EngineOptions, VisionEngine } from './engine.ts';
import type { ClipWeights } from './weights.ts';
import { createTfjsVisionEngine } from './tfjs/engine.ts';

export async function createVisionEngine(weights: ClipWeights, opts: EngineOptions): Promise<VisionEngine> {
  if (opts.engine === 'onnx') {
    const { createOnnxVisionEngine } = await import('./onnx/engine.ts');
    return createOnnxVisionEngine(weights, opts);
  }
  if (opts.engine !== 'tfjs') throw new Error(`unknown vision engine "${opts.engine}"; expected tfjs or onnx`);
  return createTfjsVisionEngine(weights, opts);
}
