/**
 * `entroad clip info` and `entroad clip embed`: for researchers checking
 * their CLIP weights and debugging features outside a pipeline.
 *
 * embed output names: image_embeds [B,E]; tokens.L [B,T,D] (residual stream
 * after block L, 1-indexed, class token first); attn.L [B,T,T] (head-mean
 * q-k attention of block L); with --vv-from: vv_tokens.L [B,T,E] and global
 * [B,E]; for --text: input_ids [S,77] and text_embeds [S,E].
 */
import type { Command } from 'commander';
import { BACKENDS } from '../../clip/backend.ts';
import type { VisionRequest } from '../../clip/engine.ts';
import { loadClipWeights, type ClipWeights } from '../../clip/weights.ts';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../util/safetensors.ts';

function parseLayers(s: string): number[] {
  const out = s.split(',').map((x) => Number(x.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--layers "${s}": expected comma-separated 1-indexed block numbers, e.g. 6,12,18,24`);
  }
  return out;
}

function parseIntOpt(name: string) {
  return (s: string) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} "${s}": expected a positive integer`);
    return n;
  };
}

function countParams(w: ClipWeights, prefix: (n: string) => boolean): number {
  return w.names().filter(prefix).reduce((a, n) => a + w.get(n).data.length, 0);
}

export function describe(w: ClipWeights): string {
  const { vision: v, text: t } = w.config;
  const vis = countParams(w, (n) => n.startsWith('vision_model.') || n === 'visual_projection.weight');
  const txt = countParams(w, (n) => n.startsWith('text_model.') || n === 'text_projection.weight');
  const total = countParams(w, () => true);
  const grid = Math.floor(v.imageSize / v.patchSize);
  const m = (n: number) => `${(n / 1e6).toFixed(2)} M`;
  return [
    `backbone   ${w.name}${w.pretrained ? '' : '  (random weights: features mean nothing)'}`,
    `folder     ${w.dir ?? '(built in)'}`,
    `dtype      ${w.dir ? `${w.dtype} on disk` : 'generated'}, float32 in memory`,
    `vision     ViT width ${v.width}, ${v.layers} blocks, ${v.heads} heads, patch ${v.patchSize}, ` +
      `${v.imageSize} px (${grid}x${grid} grid), MLP ${v.intermediate}, eps ${v.eps}`,
    `text       width ${t.width}, ${t.layers} blocks, ${t.heads} heads, MLP ${t.intermediate}, ` +
      `${t.contextLength} tokens, vocabulary ${t.vocabSize}`,
    `projection ${w.config.embedDim}; logit scale exp(${w.config.logitScale.toFixed(4)}) = ${Math.exp(w.config.logitScale).toFixed(3)}`,
    `parameters ${m(total)} (vision ${m(vis)}, text ${m(txt)})`,
    `digest     ${w.digest}`,
  ].join('\n');
}

interface EmbedOptions {
  image?: string[];
  tensor?: string;
  text?: string[];
  size?: number;
  layers?: number[];
  vvFrom?: number;
  globalLnPost?: boolean;
  posInterp: 'bilinear' | 'bicubic';
  engine: 'tfjs' | 'onnx';
  backend: string;
  threads?: number;
  seed: number;
  out: string;
}

/** [B,3,S,S] pixels from image files or a stored tensor. */
async function loadPixels(o: EmbedOptions, w: ClipWeights): Promise<{ pixels: Float32Array; batch: number; size: number } | null> {
  if (o.tensor) {
    const i = o.tensor.lastIndexOf(':');
    if (i <= 0) throw new Error(`--tensor "${o.tensor}": expected FILE.safetensors:NAME`);
    const [file, name] = [o.tensor.slice(0, i), o.tensor.slice(i + 1)];
    const st = readSafetensors(file);
    if (!st.tensors.has(name)) throw new Error(`${file}: no tensor "${name}" (has ${[...st.tensors.keys()].join(', ')})`);
    const shape = st.shape(name);
    const [batch, c, h, wd] = shape.length === 3 ? [1, ...shape] : shape;
    if (shape.length < 3 || shape.length > 4 || c !== 3 || h !== wd) {
      throw new Error(`${file}: tensor "${name}" has shape [${shape}]; expected normalised pixels [B,3,S,S] or [3,S,S]`);
    }
    if (o.size !== undefined && o.size !== h) throw new Error(`--size ${o.size} disagrees with tensor "${name}" of side ${h}`);
    return { pixels: st.float32(name), batch, size: h };
  }
  if (!o.image?.length) return null;
  const { readImage } = await import('../../data/image-io.ts');
  const { preprocessImage } = await import('../../clip/preprocess.ts');
  const size = o.size ?? w.config.vision.imageSize;
  const pixels = new Float32Array(o.image.length * 3 * size * size);
  for (const [k, f] of o.image.entries()) pixels.set(preprocessImage(await readImage(f), size), k * 3 * size * size);
  return { pixels, batch: o.image.length, size };
}

async function embed(model: string, o: EmbedOptions): Promise<void> {
  if (!o.image?.length && !o.tensor && !o.text?.length) {
    throw new Error('clip embed: give --image FILE, --tensor FILE.safetensors:NAME or --text "..."');
  }
  if (o.image?.length && o.tensor) throw new Error('clip embed: --image and --tensor are alternatives; give one');
  const w = await loadClipWeights(model, { seed: o.seed });
  const out: Record<string, TensorToWrite> = {};
  const meta: Record<string, string> = { backbone: w.name, pretrained: String(w.pretrained), digest: w.digest };

  const px = await loadPixels(o, w);
  if (px) {
    const { createVisionEngine } = await import('../../clip/engines.ts');
    const L = w.config.vision.layers;
    const layers = o.layers ?? [];
    const vvLayers = o.vvFrom === undefined ? [] : layers.length ? layers.filter((l) => l >= o.vvFrom!) : [L];
    const req: VisionRequest = {
      size: px.size, tokenLayers: layers, attnLayers: layers, posInterp: o.posInterp,
      vvFrom: o.vvFrom, vvLayers, globalLnPost: o.globalLnPost ?? false,
    };
    // One image needs no worker pool (tfjs); onnx threads inside one session,
    // so it gets every core unless told otherwise.
    const threads = o.threads ?? (o.engine === 'onnx' ? undefined : 1);
    const engine = await createVisionEngine(w, { engine: o.engine, backend: o.backend, threads });
    try {
      const r = await engine.encode(px.pixels, px.batch, req);
      out.image_embeds = { dtype: 'F32', ...r.imageEmbeds };
      for (const [l, t] of r.tokens) out[`tokens.${l}`] = { dtype: 'F32', ...t };
      for (const [l, t] of r.attn) out[`attn.${l}`] = { dtype: 'F32', ...t };
      if (o.vvFrom !== undefined) {
        for (const [l, t] of r.vvTokens) out[`vv_tokens.${l}`] = { dtype: 'F32', ...t };
        out.global = { dtype: 'F32', ...r.global! };
      }
      Object.assign(meta, { engine: engine.detail, size: String(px.size), pos_interp: o.posInterp });
    } finally {
      await engine.dispose();
    }
  }

  if (o.text?.length) {
    const { ClipTokenizer } = await import('../../clip/tokenizer.ts');
    const { encodeText } = await import('../../clip/tfjs/text.ts');
    const ids = ClipTokenizer.fromDir(w.dir).tokenize(o.text, w.config.text.contextLength);
    const S = o.text.length;
    out.input_ids = { dtype: 'I32', shape: [S, w.config.text.contextLength], data: ids };
    out.text_embeds = { dtype: 'F32', shape: [S, w.config.embedDim], data: await encodeText(w, ids, o.backend) };
    meta.text_backend = (await import('@tensorflow/tfjs')).getBackend();
  }

  writeSafetensors(o.out, out, meta);
  const names = Object.keys(out).sort().map((n) => `${n} [${out[n].shape}]`);
  process.stdout.write(`wrote ${o.out}: ${names.join(', ')}\n`);
  if (!w.pretrained) process.stdout.write(`note: ${w.name}: random weights, not a pretrained model\n`);
}

export function register(program: Command): void {
  const clip = program.command('clip').description('inspect CLIP weights and compute embeddings');

  clip
    .command('info')
    .argument('<model>', 'Hugging Face CLIP folder, or "tiny" for the built-in seeded backbone')
    .option('--seed <n>', 'seed of the tiny backbone', (s) => Number(s), 0)
    .description('architecture, parameter count and dtype of a CLIP checkpoint')
    .action(async (model: string, o: { seed: number }) => {
      process.stdout.write(describe(await loadClipWeights(model, { seed: o.seed })) + '\n');
    });

  clip
    .command('embed')
    .argument('<model>', 'Hugging Face CLIP folder, or "tiny"')
    .option('--image <files...>', 'image file(s), resized to the exact square (bicubic) and normalised')
    .option('--tensor <file:name>', 'normalised pixels [B,3,S,S] stored in a safetensors file')
    .option('--text <texts...>', 'text(s) to tokenise and embed')
    .option('--size <n>', 'square input side in pixels (default: the model\'s native size)', parseIntOpt('--size'))
    .option('--layers <list>', 'blocks (1-indexed) whose tokens.L and attn.L are written, e.g. 6,12,18,24', parseLayers)
    .option('--vv-from <n>', 'start the V-V stream at this block; writes vv_tokens.L and global', parseIntOpt('--vv-from'))
    .option('--global-ln-post', 'apply post_layernorm to the global feature (method default: off)')
    .option('--pos-interp <mode>', 'position-table resize: bilinear or bicubic', 'bilinear')
    .option('--engine <name>', 'vision engine: tfjs or onnx', 'tfjs')
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join(', ')}`, 'auto')
    .option('--threads <n>', 'worker threads (tfjs, default 1) or intra-op threads (onnx, default all cores)', parseIntOpt('--threads'))
    .option('--seed <n>', 'seed of the tiny backbone', (s) => Number(s), 0)
    .requiredOption('--out <file>', 'output .safetensors file')
    .description('write image and/or text embeddings, per-layer tokens and attention to a safetensors file')
    .action(async (model: string, o: EmbedOptions) => {
      if (!['bilinear', 'bicubic'].includes(o.posInterp)) throw new Error(`--pos-interp "${o.posInterp}": expected bilinear or bicubic`);
      if (!['tfjs', 'onnx'].includes(o.engine)) throw new Error(`--engine "${o.engine}": expected tfjs or onnx`);
      await embed(model, o);
    });
}
