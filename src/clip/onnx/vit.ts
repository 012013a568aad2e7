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
 * [D, 3D] MatMul. The position table is resized in TypeScript (pos-table.ts)
 * and stored as an initializer for this size.
 *
 * A ViT-L/14 vision tower is about 300 M parameters (1.2 GB fp32), under
 * protobuf's 2 GB message limit, so weights are stored inline; a tower
 * above about 500 M parameters would need ONNX external data, which this
 * builder does not write.
 */
import { GraphBuilder } from './graph.ts';
import { resizePositionTable } from './pos-table.ts';
import type { GraphSpec } from './spec.ts';
import { tensorOf, transpose2d, type VisionWeightsSource } from './weights-view.ts';

const P = 'vision_model';

export function buildVisionGraph(w: VisionWeightsSource, spec: GraphSpec): Uint8Array {
  const v = w.config.vision;
  const E = w.config.embedDim;
  const D = v.width;
  const H = v.heads;
  if (D % H !== 0) throw new Error(`CLIP config: vision width ${D} is not divisible by ${H} heads`);
  const hd = D / H;
  const p = v.patchSize;
  const g0 = v.imageSize / p;
  const g = spec.size / p;
  const T = 1 + g * g;
  const L = v.layers;

  const gb = new GraphBuilder();
  const pixels = gb.input('pixels', ['batch', 3, spec.size, spec.size]);
  const eps = { float: v.eps };
  const ln = (x: string, name: string) =>
    gb.node('LayerNormalization', [x, gb.f32(`${name}.w`, tensorOf(w, `${name}.weight`, [D]), [D]),
      gb.f32(`${name}.b`, tensorOf(w, `${name}.bias`, [D]), [D])], { axis: -1, epsilon: eps });
  const linear = (x: string, name: string, nOut: number, nIn: number) => {
    const wt = transpose2d(tensorOf(w, `${name}.weight`, [nOut, nIn]), nOut, nIn);
    const y = gb.node('MatMul', [x, gb.f32(`${name}.wT`, wt, [nIn, nOut])]);
    return gb.node('Add', [y, gb.f32(`${name}.b`, tensorOf(w, `${name}.bias`, [nOut]), [nOut])]);
  };

  // Patch embedding: stride-p convolution, no bias.
  const conv = gb.node('Conv', [pixels, gb.f32('patch.w', tensorOf(w, `${P}.embeddings.patch_embedding.weight`, [D, 3, p, p]), [D, 3, p, p])],
    { kernel_shape: [p, p], strides: [p, p] });
  const flat = gb.node('Reshape', [conv, gb.i64('shape', [0, D, g * g])]); // [B, D, g*g]
  const patches = gb.node('Transpose', [flat], { perm: [0, 2, 1] }); // [B, g*g, D], row-major grid

  // Class token broadcast to the batch: [1,1,D] -> [B,1,D].
  const batch = gb.node('Shape', [pixels], { start: 0, end: 1 });
  const clsShape = gb.node('Concat', [batch, gb.i64('shape', [1, D])], { axis: 0 });
  const cls = gb.node('Expand', [gb.f32('class', tensorOf(w, `${P}.embeddings.class_embedding`, [D]), [1, 1, D]), clsShape]);
  const tokens0 = gb.node('Concat', [cls, patches], { axis: 1 }); // [B, T, D]

  const table = tensorOf(w, `${P}.embeddings.position_embedding.weight`, [1 + g0 * g0, D]);
  const pos = resizePositionTable(table, g0, g, D, spec.posInterp);
  const embeddings = gb.node('Add', [tokens0, gb.f32('pos', pos, [T, D])]);
  let x = ln(embeddings, `${P}.pre_layrnorm`);

  const headShape = gb.i64('shape', [0, T, H, hd]);
  const tokenShape = gb.i64('shape', [0, T, D]);
  const scale = gb.scalar('scale', 1 / Math.sqrt(hd));
  const gelu = gb.scalar('quickgelu', 1.702);
  const toHeads = (t: string, perm: number[]) =>
    gb.node('Transpose', [gb.node('Reshape', [t, headShape])], { perm }); // [B,T,D] -> [B,T,H,hd] -> perm
  const mergeHeads = (o: string) =>
    gb.node('Reshape', [gb.node('Transpose', [o], { perm: [0, 2, 1, 3] }), tokenShape]); // [B,H,T,hd] -> [B,T,D]

  let lnPost: ((t: string) => string) | null = null;
  let proj: string | null = null;
  const postLn = (t: string) => {
    lnPost ??= (() => {
      const wName = gb.f32('post_ln.w', tensorOf(w, `${P}.post_layernorm.weight`, [D]), [D]);
      const bName = gb.f32('post_ln.b', tensorOf(w, `${P}.post_layernorm.bias`, [D]), [D]);
      return (u: string) => gb.node('LayerNormalization', [u, wName, bName], { axis: -1, epsilon: eps });
    })();
    return lnPost(t);
  };
  const project = (t: string) => {
    proj ??= gb.f32('proj', transpose2d(tensorOf(w, 'visual_projection.weight', [E, D]), E, D), [D, E]);
    return gb.node('MatMul', [t, proj]);
  };

  let xvv: string | null = null;
  const lastVv = spec.vvLayers.length ? spec.vvLayers[spec.vvLayers.length - 1] : 0;

  for (let b = 1; b <= L; b++) {
    const n = `${P}.encoder.layers.${b - 1}`;
    if (b === spec.vvFrom && lastVv) xvv = x; // the V-V stream starts as this block's input

    // Attention: q, k, v from ln_1 of the original stream.
    const y = ln(x, `${n}.layer_norm1`);
    const wq = tensorOf(w, `${n}.self_attn.q_proj.weight`, [D, D]);
    const wk = tensorOf(w, `${n}.self_attn.k_proj.weight`, [D, D]);
    const wv = tensorOf(w, `${n}.self_attn.v_proj.weight`, [D, D]);
    const wqkv = new Float32Array(3 * D * D);
    wqkv.set(wq, 0);
    wqkv.set(wk, D * D);
    wqkv.set(wv, 2 * D * D);
    const bqkv = new Float32Array(3 * D);
    bqkv.set(tensorOf(w, `${n}.self_attn.q_proj.bias`, [D]), 0);
    bqkv.set(tensorOf(w, `${n}.self_attn.k_proj.bias`, [D]), D);
    bqkv.set(tensorOf(w, `${n}.self_attn.v_proj.bias`, [D]), 2 * D);
    const qkv = gb.node('Add', [gb.node('MatMul', [y, gb.f32(`${n}.qkv.wT`, transpose2d(wqkv, 3 * D, D), [D, 3 * D])]),
      gb.f32(`${n}.qkv.b`, bqkv, [3 * D])]); // [B, T, 3D]
    const [q, k, vv] = gb.nodeN('Split', [qkv], 3, { axis: -1 }); // 3 x [B, T, D]

    const qh = toHeads(gb.node('Mul', [q, scale]), [0, 2, 1, 3]); // [B, H, T, hd], scaled by hd^-0.5
    const kT = toHeads(k, [0, 2, 3, 1]); // [B, H, hd, T]
    const vh = toHeads(vv, [0, 2, 1, 3]); // [B, H, T, hd]
    const probs = gb.node('Softmax', [gb.node('MatMul', [qh, kT])], { axis: -1 }); // [B, H, T, T]
    if (spec.attnLayers.includes(b)) {
      const mean = gb.node('ReduceMean', [probs], { axes: [1], keepdims: 0 }); // [B, T, T]
      gb.output(`attn.${b}`, mean, ['batch', T, T]);
    }
    const outW = transpose2d(tensorOf(w, `${n}.self_attn.out_proj.weight`, [D, D]), D, D);
    const outWName = gb.f32(`${n}.out.wT`, outW, [D, D]);
    const outBName = gb.f32(`${n}.out.b`, tensorOf(w, `${n}.self_attn.out_proj.bias`, [D]), [D]);
    const outProj = (o: string) => gb.node('Add', [gb.node('MatMul', [mergeHeads(o), outWName]), outBName]);
    const attnOut = outProj(gb.node('MatMul', [probs, vh])); // [B, T, D]

    // V-V attention (MRAD): softmax(v v^T hd^-0.5) v with the same out_proj, no MLP.
    if (xvv && b <= lastVv) {
      const vs = toHeads(gb.node('Mul', [vv, scale]), [0, 2, 1, 3]); // [B, H, T, hd]
      const vT = toHeads(vv, [0, 2, 3, 1]); // [B, H, hd, T]
      const pvv = gb.node('Softmax', [gb.node('MatMul', [vs, vT])], { axis: -1 }); // [B, H, T, T]
      xvv = gb.node('Add', [xvv, outProj(gb.node('MatMul', [pvv, vh]))]);
      if (spec.vvLayers.includes(b)) {
        const lnv = postLn(xvv);
        gb.output(`vvTokensLnPost.${b}`, lnv, ['batch', T, D]);
        gb.output(`vvTokens.${b}`, project(lnv), ['batch', T, E]);
      }
    }

    // Residual, then the MLP with QuickGELU x * sigmoid(1.702 x).
    x = gb.node('Add', [x, attnOut]);
    const h = linear(ln(x, `${n}.layer_norm2`), `${n}.mlp.fc1`, v.intermediate, D);
    const act = gb.node('Mul', [h, gb.node('Sigmoid', [gb.node('Mul', [h, gelu])])]);
    x = gb.node('Add', [x, linear(act, `${n}.mlp.fc2`, D, v.intermediate)]);
    if (spec.tokenLayers.includes(b)) gb.output(`tokens.${b}`, x, ['batch', T, D]);
  }

  // Class token of the original stream: [B, T, D] -> [B, 1, D] -> [B, D].
  const clsOut = gb.node('Reshape', [gb.node('Gather', [x, gb.i64('index', [0])], { axis: 1 }), gb.i64('shape', [0, D])]);
  const embeds = project(postLn(clsOut));
  gb.output('imageEmbeds', embeds, ['batch', E]);
  gb.output('global', spec.globalLnPost ? embeds : project(clsOut), ['batch', E]);

  return gb.encode('clip_vision', `CLIP vision tower ${w.name ?? ''} at ${spec.size}px`);
}
