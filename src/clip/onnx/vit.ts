/**
 * The CLIP vision tower as an ONNX graph, built from Hugging Face weights.
 *
 * Input `pixels` [batch, 3, S, S] (batch symbolic, S fixed per graph).
 * Outputs, by name, exactly what the GraphSpec asks for:
 *   imageEmbeds [B,E]     post_layernorm(class token) * proj (encode_image)
 *   global      [B,E]     class token * proj, post_layernorm if asked
 *   tokens.L    [B,T,D]   residual stream after block L
 *   attn.L      [B,T,T]   q-k attention probabilities averaged over heads
 *   vvTokensLnPost.L [B,T,D], vvTokens.L [B,T,E]   the V-V stream after block L
 *
 * Weights are fp32 initializers. Linear weights are stored transposed
 * ([in, out]) so every projection is a plain MatMul; q, k and v share one
 * [D, 3D] MatMul. The position table is resized in TypeScript (src/clip/pos-embed.ts, shared with the tfjs tower)
 * and stored as an initializer for this size.
 *
 * A ViT-L/14 vision tower is about 300 M parameters (1.2 GB fp32), under
 * protobuf's 2 GB message limit, so weights are stored inline; a tower
 * above about 500 M parameters would need ONNX external data, which this
 * builder does not write.
 */
import { GraphBuilder } from './graph.ts';
import { resizePosTable } from '../pos-embed.ts';
import type { GraphSpec } from './spec.ts';
import { tensorOf, transpose2d, type VisionWeightsSource } from './weights-view.ts';

const P = 'vision_model';

export function buildVisionGraph(w: VisionWeightsSource, spec: GraphSpec): Uint8Array {
  return new VisionGraph(w, spec).build();
}

class VisionGraph {
  private readonly gb = new GraphBuilder();
  private readonly D: number;
  private readonly H: number;
  private readonly hd: number;
  private readonly E: number;
  private readonly g: number; // patch grid side at this input size
  private readonly T: number; // tokens: 1 + g*g
  private readonly eps: { float: number };
  private readonly headShape: string;
  private readonly tokenShape: string;
  private readonly scale: string;
  private readonly geluSlope: string;
  private lnPostW: [string, string] | null = null;
  private projW: string | null = null;

  constructor(
    private readonly w: VisionWeightsSource,
    private readonly spec: GraphSpec,
  ) {
    const v = w.config.vision;
    if (v.width % v.heads !== 0) {
      throw new Error(`CLIP config: vision width ${v.width} is not divisible by ${v.heads} heads`);
    }
    this.D = v.width;
    this.H = v.heads;
    this.hd = v.width / v.heads;
    this.E = w.config.embedDim;
    this.g = spec.size / v.patchSize;
    this.T = 1 + this.g * this.g;
    this.eps = { float: v.eps };
    this.headShape = this.gb.i64('shape', [0, this.T, this.H, this.hd]);
    this.tokenShape = this.gb.i64('shape', [0, this.T, this.D]);
    this.scale = this.gb.scalar('scale', 1 / Math.sqrt(this.hd));
    this.geluSlope = this.gb.scalar('quickgelu', 1.702);
  }

  build(): Uint8Array {
    const { gb, spec, T, D, E } = this;
    const pixels = gb.input('pixels', ['batch', 3, spec.size, spec.size]);
    let x = this.layerNorm(this.embeddings(pixels), `${P}.pre_layrnorm`);

    const lastVv = spec.vvLayers.at(-1) ?? 0;
    let xvv: string | null = null;
    for (let b = 1; b <= this.w.config.vision.layers; b++) {
      if (b === spec.vvFrom && lastVv) xvv = x; // the V-V stream starts as this block's input
      const out = this.block(x, b, xvv !== null && b <= lastVv);
      x = out.x;
      if (out.vvDelta) xvv = gb.node('Add', [xvv!, out.vvDelta]); // x_vv = x_vv + o, no MLP
      if (spec.tokenLayers.includes(b)) gb.output(`tokens.${b}`, x, ['batch', T, D]);
      if (xvv && spec.vvLayers.includes(b)) {
        const lnv = this.postLayerNorm(xvv);
        gb.output(`vvTokensLnPost.${b}`, lnv, ['batch', T, D]);
        gb.output(`vvTokens.${b}`, this.project(lnv), ['batch', T, E]);
      }
    }

    // Class token of the original stream: [B, T, D] -> [B, 1, D] -> [B, D].
    const first = gb.node('Gather', [x, gb.i64('index', [0])], { axis: 1 });
    const cls = gb.node('Reshape', [first, gb.i64('shape', [0, D])]);
    const embeds = this.project(this.postLayerNorm(cls));
    gb.output('imageEmbeds', embeds, ['batch', E]);
    gb.output('global', spec.globalLnPost ? embeds : this.project(cls), ['batch', E]);

    const name = this.w.name ? `${this.w.name} ` : '';
    return gb.encode('clip_vision', `CLIP vision tower ${name}at ${spec.size} px`);
  }

  /** [class; patches] + position table, before pre_layrnorm: [B, T, D]. */
  private embeddings(pixels: string): string {
    const { gb, D, g } = this;
    const v = this.w.config.vision;
    const p = v.patchSize;
    const kernel = this.weight(`${P}.embeddings.patch_embedding.weight`, [D, 3, p, p]);
    const conv = gb.node('Conv', [pixels, kernel], { kernel_shape: [p, p], strides: [p, p] }); // no bias
    const flat = gb.node('Reshape', [conv, gb.i64('shape', [0, D, g * g])]); // [B, D, g*g]
    const patches = gb.node('Transpose', [flat], { perm: [0, 2, 1] }); // [B, g*g, D], row-major grid

    // Class token broadcast to the batch: [1, 1, D] -> [B, 1, D].
    const batch = gb.node('Shape', [pixels], { start: 0, end: 1 });
    const clsShape = gb.node('Concat', [batch, gb.i64('shape', [1, D])], { axis: 0 });
    const clsEmb = gb.f32('class', tensorOf(this.w, `${P}.embeddings.class_embedding`, [D]), [1, 1, D]);
    const tokens = gb.node('Concat', [gb.node('Expand', [clsEmb, clsShape]), patches], { axis: 1 });

    const g0 = v.imageSize / p;
    const table = tensorOf(this.w, `${P}.embeddings.position_embedding.weight`, [1 + g0 * g0, D]);
    const pos = resizePosTable(table, D, g, this.spec.posInterp);
    return gb.node('Add', [tokens, gb.f32('pos', pos, [this.T, D])]);
  }

  /**
   * One pre-LN block: x + attn(ln_1(x)), then + fc2(quick_gelu(fc1(ln_2(x)))).
   * With `vv`, also the V-V attention output o of this block (MRAD).
   */
  private block(x: string, b: number, vv: boolean): { x: string; vvDelta: string | null } {
    const { gb, D, T } = this;
    const n = `${P}.encoder.layers.${b - 1}`;
    const y = this.layerNorm(x, `${n}.layer_norm1`);
    const [q, k, v] = gb.nodeN('Split', [this.qkv(y, n)], 3, { axis: -1 }); // 3 x [B, T, D]

    const qh = this.toHeads(gb.node('Mul', [q, this.scale]), [0, 2, 1, 3]); // [B, H, T, hd] * hd^-0.5
    const kT = this.toHeads(k, [0, 2, 3, 1]); // [B, H, hd, T]
    const vh = this.toHeads(v, [0, 2, 1, 3]); // [B, H, T, hd]
    const probs = gb.node('Softmax', [gb.node('MatMul', [qh, kT])], { axis: -1 }); // [B, H, T, T]
    if (this.spec.attnLayers.includes(b)) {
      const mean = gb.node('ReduceMean', [probs], { axes: [1], keepdims: 0 }); // [B, T, T]
      gb.output(`attn.${b}`, mean, ['batch', T, T]);
    }
    const outW = this.weightT(`${n}.self_attn.out_proj.weight`, D, D);
    const outB = this.weight(`${n}.self_attn.out_proj.bias`, [D]);
    const outProj = (heads: string) =>
      gb.node('Add', [gb.node('MatMul', [this.mergeHeads(heads), outW]), outB]);
    const attnOut = outProj(gb.node('MatMul', [probs, vh]));

    // V-V attention: softmax(v v^T hd^-0.5) v per head, the same out_proj.
    let vvDelta: string | null = null;
    if (vv) {
      const vs = this.toHeads(gb.node('Mul', [v, this.scale]), [0, 2, 1, 3]); // [B, H, T, hd]
      const vT = this.toHeads(v, [0, 2, 3, 1]); // [B, H, hd, T]
      const pvv = gb.node('Softmax', [gb.node('MatMul', [vs, vT])], { axis: -1 }); // [B, H, T, T]
      vvDelta = outProj(gb.node('MatMul', [pvv, vh]));
    }

    const x1 = gb.node('Add', [x, attnOut]);
    const I = this.w.config.vision.intermediate;
    const h = this.linear(this.layerNorm(x1, `${n}.layer_norm2`), `${n}.mlp.fc1`, I, D);
    const gate = gb.node('Sigmoid', [gb.node('Mul', [h, this.geluSlope])]);
    const act = gb.node('Mul', [h, gate]); // QuickGELU: x * sigmoid(1.702 x)
    return { x: gb.node('Add', [x1, this.linear(act, `${n}.mlp.fc2`, D, I)]), vvDelta };
  }

  /** ln_1 output -> [q | k | v] with biases: [B, T, 3D] from one [D, 3D] MatMul. */
  private qkv(y: string, n: string): string {
    const { gb, D } = this;
    const wqkv = new Float32Array(3 * D * D); // [3D, D]: q rows, then k, then v
    const bqkv = new Float32Array(3 * D);
    ['q_proj', 'k_proj', 'v_proj'].forEach((proj, i) => {
      wqkv.set(tensorOf(this.w, `${n}.self_attn.${proj}.weight`, [D, D]), i * D * D);
      bqkv.set(tensorOf(this.w, `${n}.self_attn.${proj}.bias`, [D]), i * D);
    });
    const wT = gb.f32(`${n}.qkv.wT`, transpose2d(wqkv, 3 * D, D), [D, 3 * D]);
    return gb.node('Add', [gb.node('MatMul', [y, wT]), gb.f32(`${n}.qkv.b`, bqkv, [3 * D])]);
  }

  /** [B, T, D] -> [B, T, H, hd] -> transposed by `perm`. */
  private toHeads(t: string, perm: number[]): string {
    return this.gb.node('Transpose', [this.gb.node('Reshape', [t, this.headShape])], { perm });
  }

  /** [B, H, T, hd] -> [B, T, H, hd] -> [B, T, D]: heads concatenated in order. */
  private mergeHeads(o: string): string {
    const t = this.gb.node('Transpose', [o], { perm: [0, 2, 1, 3] });
    return this.gb.node('Reshape', [t, this.tokenShape]);
  }

  private linear(x: string, name: string, nOut: number, nIn: number): string {
    const y = this.gb.node('MatMul', [x, this.weightT(`${name}.weight`, nOut, nIn)]);
    return this.gb.node('Add', [y, this.weight(`${name}.bias`, [nOut])]);
  }

  private layerNorm(x: string, name: string): string {
    const D = this.D;
    const scale = this.weight(`${name}.weight`, [D]);
    const bias = this.weight(`${name}.bias`, [D]);
    return this.gb.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: this.eps });
  }

  /** post_layernorm, its weights stored once however often it is applied. */
  private postLayerNorm(x: string): string {
    const D = this.D;
    this.lnPostW ??= [
      this.weight(`${P}.post_layernorm.weight`, [D]),
      this.weight(`${P}.post_layernorm.bias`, [D]),
    ];
    const [scale, bias] = this.lnPostW;
    return this.gb.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: this.eps });
  }

  /** x * visual_projection.weight^T (no bias), the weight stored once. */
  private project(x: string): string {
    this.projW ??= this.weightT('visual_projection.weight', this.E, this.D);
    return this.gb.node('MatMul', [x, this.projW]);
  }

  /** An initializer holding an HF tensor as it is. */
  private weight(name: string, shape: number[]): string {
    return this.gb.f32(name, tensorOf(this.w, name, shape), shape);
  }

  /** An initializer holding an HF [out, in] linear weight as [in, out]. */
  private weightT(name: string, nOut: number, nIn: number): string {
    const t = transpose2d(tensorOf(this.w, name, [nOut, nIn]), nOut, nIn);
    return this.gb.f32(`${name}.T`, t, [nIn, nOut]);
  }
}
