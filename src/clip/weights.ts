/**
 * Loading CLIP weights: a Hugging Face `CLIPModel` folder (config.json plus
 * model.safetensors or a sharded model.safetensors.index.json; F32, F16 or
 * BF16) or the built-in seeded `tiny` backbone (see `tiny.ts`).
 *
 * Tensors keep their Hugging Face names and layouts (linear weights [out,in],
 * patch kernel OIHW). Every expected tensor is checked by name and shape
 * against config.json; `*.position_ids` buffers that older checkpoints carry
 * are skipped, present or not. Weights are decoded to float32 once, at load.
 *
 * Known shortcomings: only ViT image towers with QuickGELU (every OpenAI
 * checkpoint); PyTorch `.bin` checkpoints are refused (convert them to
 * safetensors first).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensors } from '../util/safetensors.ts';
import { makeTinyWeights } from './tiny.ts';

export interface ClipConfig {
  vision: {
    width: number;
    layers: number;
    heads: number;
    patchSize: number;
    imageSize: number;
    intermediate: number;
    eps: number;
  };
  text: {
    width: number;
    layers: number;
    heads: number;
    intermediate: number;
    vocabSize: number;
    contextLength: number;
    eps: number;
  };
  embedDim: number;
  /** The stored (log) logit scale; CLIP multiplies logits by exp(logitScale). */
  logitScale: number;
}

export interface ClipWeights {
  config: ClipConfig;
  name: string;
  pretrained: boolean;
  /** sha256 over config and every weight's bytes, for cache keys. */
  digest: string;
  /** The HF folder, or null for the built-in backbone. */
  dir: string | null;
  /** Storage dtype(s) of the weights as found on disk, e.g. 'F32' or 'F16'. */
  dtype: string;
  get(name: string): { data: Float32Array; shape: number[] };
  has(name: string): boolean;
  names(): string[];
}

export class ClipLoadError extends Error {}

/** HF names and shapes of every weight a ViT CLIP has, from its config. */
export function expectedTensors(c: ClipConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const blocks = (prefix: string, layers: number, d: number, inter: number) => {
    for (let i = 0; i < layers; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      for (const ln of ['layer_norm1', 'layer_norm2']) {
        m.set(`${p}.${ln}.weight`, [d]);
        m.set(`${p}.${ln}.bias`, [d]);
      }
      for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        m.set(`${p}.self_attn.${proj}.weight`, [d, d]);
        m.set(`${p}.self_attn.${proj}.bias`, [d]);
      }
      m.set(`${p}.mlp.fc1.weight`, [inter, d]);
      m.set(`${p}.mlp.fc1.bias`, [inter]);
      m.set(`${p}.mlp.fc2.weight`, [d, inter]);
      m.set(`${p}.mlp.fc2.bias`, [d]);
    }
  };
  const v = c.vision;
  const grid = Math.floor(v.imageSize / v.patchSize);
  m.set('vision_model.embeddings.class_embedding', [v.width]);
  m.set('vision_model.embeddings.patch_embedding.weight', [v.width, 3, v.patchSize, v.patchSize]);
  m.set('vision_model.embeddings.position_embedding.weight', [grid * grid + 1, v.width]);
  m.set('vision_model.pre_layrnorm.weight', [v.width]);
  m.set('vision_model.pre_layrnorm.bias', [v.width]);
  blocks('vision_model', v.layers, v.width, v.intermediate);
  m.set('vision_model.post_layernorm.weight', [v.width]);
  m.set('vision_model.post_layernorm.bias', [v.width]);
  m.set('visual_projection.weight', [c.embedDim, v.width]);

  const t = c.text;
  m.set('text_model.embeddings.token_embedding.weight', [t.vocabSize, t.width]);
  m.set('text_model.embeddings.position_embedding.weight', [t.contextLength, t.width]);
  blocks('text_model', t.layers, t.width, t.intermediate);
  m.set('text_model.final_layer_norm.weight', [t.width]);
  m.set('text_model.final_layer_norm.bias', [t.width]);
  m.set('text_projection.weight', [c.embedDim, t.width]);
  m.set('logit_scale', []);
  return m;
}

const isBuffer = (name: string) => name.endsWith('.position_ids');

function readJson(text: string, file: string): any {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ClipLoadError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** Parse an HF CLIPConfig (config.json), with HF's defaults for absent keys. */
export function parseClipConfig(json: any, file: string): ClipConfig {
  if (json.model_type !== undefined && json.model_type !== 'clip') {
    throw new ClipLoadError(
      `${file}: model_type is "${json.model_type}", not "clip"; only OpenAI-style ViT CLIP models are supported`,
    );
  }
  const vc = { ...(json.vision_config ?? {}), ...(json.vision_config_dict ?? {}) };
  const tc = { ...(json.text_config ?? {}), ...(json.text_config_dict ?? {}) };
  if (!json.vision_config && !json.vision_config_dict) {
    throw new ClipLoadError(`${file}: no vision_config; is this a CLIPModel config.json?`);
  }
  if (vc.patch_size === undefined || vc.hidden_size === undefined) {
    throw new ClipLoadError(
      `${file}: vision_config has no patch_size/hidden_size: not a ViT CLIP (ResNet CLIPs are not supported)`,
    );
  }
  for (const [where, cfg] of [['vision_config', vc], ['text_config', tc]] as const) {
    const act = cfg.hidden_act ?? 'quick_gelu';
    if (act !== 'quick_gelu') {
      throw new ClipLoadError(`${file}: ${where}.hidden_act is "${act}"; only quick_gelu (OpenAI CLIP) is supported`);
    }
  }
  const num = (v: unknown, dflt: number) => (typeof v === 'number' ? v : dflt);
  const config: ClipConfig = {
    vision: {
      width: num(vc.hidden_size, 768),
      layers: num(vc.num_hidden_layers, 12),
      heads: num(vc.num_attention_heads, 12),
      patchSize: num(vc.patch_size, 32),
      imageSize: num(vc.image_size, 224),
      intermediate: num(vc.intermediate_size, 3072),
      eps: num(vc.layer_norm_eps, 1e-5),
    },
    text: {
      width: num(tc.hidden_size, 512),
      layers: num(tc.num_hidden_layers, 12),
      heads: num(tc.num_attention_heads, 8),
      intermediate: num(tc.intermediate_size, 2048),
      vocabSize: num(tc.vocab_size, 49408),
      contextLength: num(tc.max_position_embeddings, 77),
      eps: num(tc.layer_norm_eps, 1e-5),
    },
    embedDim: num(json.projection_dim, 512),
    logitScale: num(json.logit_scale_init_value, 2.6592),
  };
  for (const [tower, c] of [['vision', config.vision], ['text', config.text]] as const) {
    if (c.width % c.heads !== 0) {
      throw new ClipLoadError(`${file}: ${tower} hidden_size ${c.width} is not divisible by num_attention_heads ${c.heads}`);
    }
  }
  return config;
}

/** Which file holds each tensor: one model.safetensors or a sharded index. */
function weightFiles(dir: string): Map<string, string[]> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const byFile = new Map<string, string[]>();
  if (existsSync(single)) {
    byFile.set(single, []);
    return byFile;
  }
  if (existsSync(index)) {
    const map: Record<string, string> = readJson(readFileSync(index, 'utf8'), index).weight_map ?? {};
    for (const [name, f] of Object.entries(map)) {
      const full = path.join(dir, f);
      if (!byFile.has(full)) byFile.set(full, []);
      byFile.get(full)!.push(name);
    }
    for (const f of byFile.keys()) {
      if (!existsSync(f)) throw new ClipLoadError(`${index}: shard ${path.basename(f)} is missing from ${dir}`);
    }
    return byFile;
  }
  const bin = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => existsSync(path.join(dir, f)));
  throw new ClipLoadError(
    bin
      ? `${dir}: only ${bin} found; PyTorch pickles are not read, download model.safetensors (or convert the checkpoint to safetensors)`
      : `${dir}: no model.safetensors or model.safetensors.index.json`,
  );
}

function fromFolder(dir: string): ClipWeights {
  const cfgFile = path.join(dir, 'config.json');
  if (!existsSync(dir)) throw new ClipLoadError(`${dir}: no such folder (expected a Hugging Face CLIP folder or "tiny")`);
  if (!existsSync(cfgFile)) throw new ClipLoadError(`${cfgFile}: missing; a Hugging Face CLIP folder has config.json`);
  const cfgText = readFileSync(cfgFile, 'utf8');
  const config = parseClipConfig(readJson(cfgText, cfgFile), cfgFile);
  const expected = expectedTensors(config);

  const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
  const origin = new Map<string, string>();
  const dtypes = new Set<string>();
  const hash = createHash('sha256').update(cfgText);
  for (const file of weightFiles(dir).keys()) {
    const st = readSafetensors(file);
    for (const [name, info] of [...st.tensors.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (isBuffer(name)) continue;
      const want = expected.get(name);
      if (!want) {
        const hint = name.startsWith('visual.') || name.startsWith('transformer.')
          ? ' (OpenAI-format key names: use the Hugging Face folder of this model)'
          : '';
        throw new ClipLoadError(`${file}: unexpected tensor "${name}"${hint}`);
      }
      if (want.join(',') !== info.shape.join(',')) {
        throw new ClipLoadError(
          `${file}: tensor "${name}" has shape [${info.shape}] but config.json implies [${want}]`,
        );
      }
      if (tensors.has(name)) throw new ClipLoadError(`${file}: tensor "${name}" also found in ${origin.get(name)}`);
      if (!['F32', 'F16', 'BF16'].includes(info.dtype)) {
        throw new ClipLoadError(`${file}: tensor "${name}" has dtype ${info.dtype}; expected F32, F16 or BF16`);
      }
      dtypes.add(info.dtype);
      hash.update(name).update(st.bytes(name));
      tensors.set(name, { data: st.float32(name), shape: info.shape.slice() });
      origin.set(name, path.basename(file));
    }
  }
  for (const name of expected.keys()) {
    if (!tensors.has(name)) {
      throw new ClipLoadError(`${dir}: tensor "${name}" is missing from the safetensors file(s)`);
    }
  }
  config.logitScale = tensors.get('logit_scale')!.data[0];
  return wrap(config, tensors, {
    name: path.basename(path.resolve(dir)),
    pretrained: true,
    digest: hash.digest('hex'),
    dir: path.resolve(dir),
    dtype: [...dtypes].sort().join('+'),
  });
}

export function wrap(
  config: ClipConfig,
  tensors: Map<string, { data: Float32Array; shape: number[] }>,
  meta: { name: string; pretrained: boolean; digest: string; dir: string | null; dtype: string },
): ClipWeights {
  return {
    config,
    ...meta,
    get(name) {
      const t = tensors.get(name);
      if (!t) throw new ClipLoadError(`CLIP weights "${meta.name}": no tensor "${name}"`);
      return t;
    },
    has: (name) => tensors.has(name),
    names: () => [...tensors.keys()],
  };
}

/**
 * Load CLIP weights from a Hugging Face folder path, or build the seeded
 * `tiny` backbone (random weights, NOT pretrained; `opts.seed`, default 0).
 */
export async function loadClipWeights(source: string, opts: { seed?: number } = {}): Promise<ClipWeights> {
  if (source === 'tiny') return makeTinyWeights(opts.seed ?? 0);
  return fromFolder(source);
}

/**
 * The last backbone loaded, shared by every node of the process: a node's
 * cache key needs the weights' digest and its run needs the tensors, and
 * feature extraction, Stage 2 and inference all use the same backbone, so a
 * multi-GB checkpoint is read once rather than once per node.
 */
let shared: { id: string; weights: Promise<ClipWeights> } | null = null;

export function sharedClipWeights(source: string, seed = 0): Promise<ClipWeights> {
  const id = source === 'tiny' ? `tiny:${seed}` : `dir:${source}`;
  if (shared?.id !== id) {
    // Every caller passes a node's `backbone` param: say so in the error.
    const weights = loadClipWeights(source, { seed }).catch((e: Error) => {
      throw new ClipLoadError(`param backbone "${source}": ${e.message}`);
    });
    const slot = { id, weights };
    slot.weights.catch(() => {
      if (shared === slot) shared = null;
    });
    shared = slot;
  }
  return shared.weights;
}
