import t from 'tap';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { buildProgram } from '../../src/cli/main.ts';
import { readSafetensors } from '../../src/util/safetensors.ts';
import { CLIP_TINY, clipGolden, excess, methodGolden, pick } from './fixtures/helpers.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'clip-cli-'));

async function run(args: string[]): Promise<string> {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'entroad', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return text;
}

t.test('clip info: architecture, parameter count (hand count), dtype', async (t) => {
  const out = await run(['clip', 'info', CLIP_TINY]);
  t.match(out, /ViT width 64, 3 blocks, 4 heads, patch 8, 32 px \(4x4 grid\), MLP 256/);
  t.match(out, /text\s+width 32, 2 blocks, 4 heads, MLP 128, 77 tokens, vocabulary 49408/);
  // vision 165,184 + text 1,609,760 + logit_scale 1 (counted by hand from the shapes)
  t.match(out, /parameters 1\.77 M \(vision 0\.17 M, text 1\.61 M\)/);
  t.match(out, /F32 on disk/);
  t.match(await run(['clip', 'info', 'tiny']), /NOT pretrained/);
});

t.test('clip embed: named outputs equal the goldens', async (t) => {
  const g = clipGolden();
  const m = methodGolden();
  const file = path.join(tmp, 'out.safetensors');
  const texts = ['a photo of a damaged bottle.', 'flawless object'];
  await run(['clip', 'embed', CLIP_TINY, '--tensor', `${path.join(CLIP_TINY, 'golden.safetensors')}:images.input`,
    '--layers', '1,3', '--vv-from', '2', '--text', ...texts, '--backend', 'wasm', '--out', file]);
  const o = readSafetensors(file);
  t.same([...o.tensors.keys()].sort(), ['attn.1', 'attn.3', 'global', 'image_embeds', 'input_ids', 'text_embeds', 'tokens.1', 'tokens.3', 'vv_tokens.3']);
  t.ok(excess(o.float32('image_embeds'), g.float32('vision.image_embeds'), 1e-4) <= 1e-4, 'image_embeds');
  t.ok(excess(o.float32('tokens.3'), pick(g.float32('vision.block_out'), [3, 3, 17, 64], 2), 1e-4) <= 1e-4, 'tokens.3');
  t.ok(excess(o.float32('attn.1'), pick(g.float32('vision.attn_mean'), [3, 3, 17, 17], 0)) <= 1e-5, 'attn.1');
  t.ok(excess(o.float32('vv_tokens.3'), pick(m.float32('vv32.vv_tokens_proj'), [3, 2, 17, 24], 1), 1e-4) <= 1e-4, 'vv_tokens.3');
  t.ok(excess(o.float32('global'), m.float32('vv32.global_no_ln_post'), 1e-4) <= 1e-4, 'global');
  t.same(Array.from(o.int32('input_ids')), Array.from(g.int32('text.input_ids').subarray(0, 2 * 77)));
  t.ok(excess(o.float32('text_embeds'), g.float32('text.text_embeds').subarray(0, 2 * 24), 1e-4) <= 1e-4, 'text_embeds');
  t.equal(o.metadata.backbone, 'clip-tiny');
});

t.test('clip embed --image decodes, resizes to the square and embeds', async (t) => {
  const g = clipGolden();
  const png = path.join(tmp, 'raw0.png');
  await sharp(Buffer.from(g.bytes('preproc.raw0.raw_u8')), { raw: { width: 48, height: 40, channels: 3 } }).png().toFile(png);
  const file = path.join(tmp, 'img.safetensors');
  const out = await run(['clip', 'embed', 'tiny', '--image', png, '--size', '32', '--backend', 'wasm', '--out', file]);
  t.match(out, /image_embeds \[1,64\]/);
  t.match(out, /not a pretrained model/);
  t.ok(readSafetensors(file).float32('image_embeds').every(Number.isFinite));
  await t.rejects(run(['clip', 'embed', 'tiny', '--out', file]), /give --image FILE, --tensor/);
  await t.rejects(run(['clip', 'embed', 'tiny', '--tensor', `${png}`, '--out', file]), /expected FILE\.safetensors:NAME/);
});
