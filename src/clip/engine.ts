/**
 * The seam between feature nodes and whatever runs the frozen vision tower.
 *
 * Engines: `tfjs` (TensorFlow.js on wasm / tfjs-node / cpu, `src/clip/tfjs/`)
 * and `onnx` (onnxruntime-node, `src/clip/onnx/`). Both load the same
 * Hugging Face CLIP folder (or the seeded `tiny` backbone) and must pass the
 * same goldens. Nodes never import an engine directly: they call
 * `createVisionEngine` (in `src/clip/engines.ts`).
 *
 * Layers are 1-indexed blocks, as in the method description: layer L is the
 * residual stream after block L. Token 0 is the class token; patch token
 * 1 + r*g + c is grid row r, column c.
 */

export interface VisionRequest {
  /** Square input side in pixels (e.g. 518); the position table is resized. */
  size: number;
  /** Blocks whose residual-stream tokens are returned as `tokens.L`. */
  tokenLayers?: number[];
  /** Blocks whose head-averaged q-k attention is returned as `attn.L`. */
  attnLayers?: number[];
  /**
   * First block (1-indexed) of the V-V stream; omit for no V-V stream.
   * With it, `vvLayers` selects the blocks whose V-V outputs are returned.
   */
  vvFrom?: number;
  vvLayers?: number[];
  /** Global feature with post_layernorm (false = method default, no ln_post). */
  globalLnPost?: boolean;
  /** 'bilinear' (method default) or 'bicubic' position-table resize. */
  posInterp?: 'bilinear' | 'bicubic';
}

/** Flat row-major float32 tensors with their shapes. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

export interface VisionOutputs {
  /** [B,E] post_layernorm(class token) * proj: CLIP's encode_image. */
  imageEmbeds: Tensor;
  /** layer -> [B,T,D] residual stream after that block. */
  tokens: Map<number, Tensor>;
  /** layer -> [B,T,T] head-averaged q-k attention probabilities. */
  attn: Map<number, Tensor>;
  /** layer -> [B,T,E] post_layernorm(V-V state) * proj (when vvFrom set). */
  vvTokens: Map<number, Tensor>;
  /** layer -> [B,T,D] post_layernorm(V-V state), before proj (patch memory). */
  vvTokensLnPost: Map<number, Tensor>;
  /** [B,E] original-stream class token * proj, ln_post per `globalLnPost`. */
  global?: Tensor;
}

export interface VisionGeometry {
  width: number; // D
  layers: number;
  heads: number;
  patchSize: number;
  imageSize: number; // native input size
  embedDim: number; // E (projection)
}

export interface VisionEngine {
  /** 'tfjs' | 'onnx' */
  readonly name: string;
  /** Human description: backend, threads, provider. */
  readonly detail: string;
  readonly geometry: VisionGeometry;
  /**
   * Run a batch of preprocessed images: `pixels` is [B,3,size,size],
   * normalised with CLIP's mean/std.
   */
  encode(pixels: Float32Array, batch: number, req: VisionRequest): Promise<VisionOutputs>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  engine: 'tfjs' | 'onnx';
  /** tfjs backend: 'wasm' | 'tensorflow' | 'cpu' (ignored by onnx). */
  backend?: string;
  /** Threads for the engine (onnx intra-op) or worker count (tfjs). */
  threads?: number;
}
