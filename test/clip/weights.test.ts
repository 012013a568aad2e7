import t from 'tap';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadClipWeights } from '../../src/clip/weights.ts';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/util/safetensors.ts';
import { CLIP_TINY } from './fixtures/helpers.ts';

const fixtureModel = readSafetensors(path.join(CLIP_TINY, 'model.safetensors'));

/** A copy of the fixture folder whose tensors went through `edit`. */
function variant(edit: (ts: Record<string, TensorToWrite>) => void, opts: { config?: (c: any) => void } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clip-variant-'));
  const cfg = JSON.parse(readFileSync(path.join(CLIP_TINY, 'config.json'), 'utf8'));
  opts.config?.(cfg);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  const ts: Record<string, TensorToWrite> = {};
  for (const [name, info] of fixtureModel.tensors) {
    if (info.dtype === 'I64') ts[name] = { dtype: 'I32', shape: info.shape, data: fixtureModel.int32(name) };
    else ts[name] = { dtype: 'F32', shape: info.shape, data: fixtureModel.float32(name) };
  }
  edit(ts);
  writeSafetensors(path.join(dir, 'model.safetensors'), ts);
  return dir;
}

t.test('loads the fixture folder with HF names and config geometry', async (t) => {
  const w = await loadClipWeights(CLIP_TINY);
  t.same(w.config.vision, { width: 64, layers: 3, heads: 4, patchSize: 8, imageSize: 32, intermediate: 256, eps: 1e-5 });
  t.same(w.config.text, { width: 32, layers: 2, heads: 4, intermediate: 128, vocabSize: 49408, contextLength: 77, eps: 1e-5 });
  t.equal(w.config.embedDim, 24);
  t.ok(Math.abs(w.config.logitScale - 4.4) < 1e-6, 'logit scale read from the logit_scale tensor');
  t.equal(w.pretrained, true);
  t.equal(w.dtype, 'F32');
  t.equal(w.names().length, 94, '96 tensors minus the two position_ids buffers');
  t.notOk(w.has('vision_model.embeddings.position_ids'));
  t.same(w.get('visual_projection.weight').shape, [24, 64]);
  t.match(w.digest, /^[0-9a-f]{64}$/);
});

t.test('copes without position_ids buffers, with F16 and with a sharded index', async (t) => {
  const full = await loadClipWeights(CLIP_TINY);
  const noBuffers = variant((ts) => {
    delete ts['text_model.embeddings.position_ids'];
    delete ts['vision_model.embeddings.position_ids'];
  });
  const w = await loadClipWeights(noBuffers);
  t.same(w.get('text_projection.weight').data, full.get('text_projection.weight').data);

  const f16 = variant((ts) => {
    for (const v of Object.values(ts)) if (v.dtype === 'F32') v.dtype = 'F16';
  });
  const h = await loadClipWeights(f16);
  t.equal(h.dtype, 'F16');
  const a = h.get('vision_model.encoder.layers.0.mlp.fc1.weight').data;
  const b = full.get('vision_model.encoder.layers.0.mlp.fc1.weight').data;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
  t.ok(worst < 1e-3, `F16 decoded within half precision (${worst})`);

  const sharded = mkdtempSync(path.join(os.tmpdir(), 'clip-sharded-'));
  copyFileSync(path.join(CLIP_TINY, 'config.json'), path.join(sharded, 'config.json'));
  const parts: Record<string, TensorToWrite>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  [...fixtureModel.tensors.keys()].forEach((name, i) => {
    if (name.endsWith('position_ids')) return;
    parts[i % 2][name] = { dtype: 'F32', shape: fixtureModel.shape(name), data: fixtureModel.float32(name) };
    weightMap[name] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  parts.forEach((p, i) => writeSafetensors(path.join(sharded, `model-0000${i + 1}-of-00002.safetensors`), p));
  writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const s = await loadClipWeights(sharded);
  t.equal(s.names().length, 94);
  t.same(s.get('logit_scale').data, full.get('logit_scale').data);
});

t.test('clear errors naming the file and tensor', async (t) => {
  await t.rejects(loadClipWeights('/nonexistent/clip'), /\/nonexistent\/clip: no such folder/);

  const noCfg = mkdtempSync(path.join(os.tmpdir(), 'clip-nocfg-'));
  await t.rejects(loadClipWeights(noCfg), /config\.json: missing/);

  const badJson = mkdtempSync(path.join(os.tmpdir(), 'clip-badjson-'));
  writeFileSync(path.join(badJson, 'config.json'), '{"vision_config": ');
  await t.rejects(loadClipWeights(badJson), /config\.json: not valid JSON/);

  const noWeights = mkdtempSync(path.join(os.tmpdir(), 'clip-now-'));
  copyFileSync(path.join(CLIP_TINY, 'config.json'), path.join(noWeights, 'config.json'));
  await t.rejects(loadClipWeights(noWeights), /no model\.safetensors or model\.safetensors\.index\.json/);
  writeFileSync(path.join(noWeights, 'pytorch_model.bin'), '');
  await t.rejects(loadClipWeights(noWeights), /only pytorch_model\.bin found/);

  const resnet = variant(() => {}, { config: (c) => { delete c.vision_config.patch_size; delete c.vision_config_dict; } });
  await t.rejects(loadClipWeights(resnet), /vision_config has no patch_size.*not a ViT CLIP/);

  const siglip = variant(() => {}, { config: (c) => { c.model_type = 'siglip'; } });
  await t.rejects(loadClipWeights(siglip), /model_type is "siglip"/);

  const extra = variant((ts) => { ts['vision_model.extra.weight'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) }; });
  await t.rejects(loadClipWeights(extra), /model\.safetensors: unexpected tensor "vision_model\.extra\.weight"/);

  const missing = variant((ts) => { delete ts['vision_model.encoder.layers.2.mlp.fc2.bias']; });
  await t.rejects(loadClipWeights(missing), /tensor "vision_model\.encoder\.layers\.2\.mlp\.fc2\.bias" is missing/);

  const wrongShape = variant((ts) => {
    ts['text_projection.weight'] = { dtype: 'F32', shape: [32, 24], data: new Float32Array(32 * 24) };
  });
  await t.rejects(loadClipWeights(wrongShape), /model\.safetensors: tensor "text_projection\.weight" has shape \[32,24\] but config\.json implies \[24,32\]/);

  const heads = variant(() => {}, { config: (c) => { c.vision_config.num_attention_heads = 5; c.vision_config_dict.num_attention_heads = 5; } });
  await t.rejects(loadClipWeights(heads), /vision hidden_size 64 is not divisible by num_attention_heads 5/);
});

t.test('tiny backbone: deterministic from its seed and labelled not pretrained', async (t) => {
  const a = await loadClipWeights('tiny', { seed: 7 });
  const b = await loadClipWeights('tiny', { seed: 7 });
  const c = await loadClipWeights('tiny', { seed: 8 });
  t.equal(a.digest, b.digest);
  t.not(a.digest, c.digest);
  t.same(a.get('vision_model.encoder.layers.0.self_attn.q_proj.weight').data, b.get('vision_model.encoder.layers.0.self_attn.q_proj.weight').data);
  t.equal(a.pretrained, false);
  t.match(a.name, /NOT pretrained/);
  t.equal(a.dir, null);
  t.same(a.get('text_model.embeddings.token_embedding.weight').shape, [49408, 64]);
  t.same(a.get('vision_model.embeddings.position_embedding.weight').shape, [65, 64], '64 px / patch 8 = 8x8 grid + class');
  const ln = a.get('vision_model.pre_layrnorm.weight').data;
  t.ok(ln.some((v) => Math.abs(v - 1) > 0.05), 'LayerNorms are not the identity');
});
