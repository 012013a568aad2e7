// The Stage-2 nodes end to end on the tiny backbone: clip-features and the
// Stage-1 nodes feed entropy -> routing -> gating -> stage2-train -> infer,
// on small generated image sets. Each node's output is checked against the
// method functions applied to its inputs, plus the ablation switches, the
// cache-key rules and the error messages.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../../src/util/safetensors.ts';
import { getNodeType } from '../../../src/nodes/index.ts';
import '../../../src/nodes/method/index.ts';
import { initTf } from '../../../src/clip/backend.ts';
import { Rng } from '../../../src/util/rng.ts';
import { routeTokens } from '../../../src/method/routing.ts';
import { gate } from '../../../src/method/gating.ts';
import { topPercentMean } from '../../../src/method/topk.ts';
import { readMap } from '../../../src/nodes/artifacts.ts';
import { runNode, writeDataset, resolveParams, type SynthImage } from '../stage1/node-context.ts';

await initTf('wasm');
const root = mkdtempSync(join(tmpdir(), 'entroad-stage2-nodes-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** A 32x32 image: noise, plus a bright 16x16 square where the mask is 1. */
function synthImage(rng: Rng, anomalous: boolean): SynthImage {
  const size = 32;
  const rgb = new Uint8Array(size * size * 3);
  for (let k = 0; k < rgb.length; k++) rgb[k] = 90 + rng.int(0, 40);
  if (!anomalous) return { rgb, size };
  const mask = new Uint8Array(size * size);
  const y0 = rng.int(0, 16);
  const x0 = rng.int(0, 16);
  for (let y = y0; y < y0 + 16; y++)
    for (let x = x0; x < x0 + 16; x++) {
      mask[y * size + x] = 1;
      rgb.fill(250, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  return { rgb, size, mask };
}

const LAYERS = [2, 3, 4];
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const feats = { size: 32, map_layers: LAYERS, entropy_layers: LAYERS, mem_layer: 4, batch_size: 4 };
const s2params = { map_layers: LAYERS, epochs: 2, batch_size: 4 };

interface Side {
  ds: string;
  features: string;
  retrieval: string;
  entropy: string;
  routed: string;
  gated: string;
}
let aux: Side;
let target: Side;
let stage1Model: string;

async function side(name: string, n: number, seed: number, memory?: string): Promise<Side> {
  const rng = new Rng(seed);
  const ds = await writeDataset(root, name, Array.from({ length: n }, (_, i) => synthImage(rng, i % 2 === 1)));
  const features = (await runNode(root, 'clip-features', `${name}-feat`, feats, { dataset: ds })).outputs.features;
  let mem = memory;
  if (!mem) {
    mem = (await runNode(root, 'memory-bank', `${name}-mem`, {}, { features, dataset: ds })).outputs.memory;
    stage1Model = (
      await runNode(root, 'stage1-train', `${name}-s1`, { batch_size: 4, epochs: 1 }, { features, memory: mem, dataset: ds })
    ).outputs.model;
  }
  const retrieval = (
    await runNode(root, 'retrieval', `${name}-ret`, { filter: !memory }, { features, memory: mem, model: stage1Model })
  ).outputs.retrieval;
  const entropy = (await runNode(root, 'entropy', `${name}-ent`, { layers: LAYERS }, { features })).outputs.entropy;
  const routed = (
    await runNode(root, 'routing', `${name}-route`, { z_layer: 4 }, { features, retrieval, entropy })
  ).outputs.routed;
  const gated = (await runNode(root, 'gating', `${name}-gate`, {}, { routed })).outputs.routed;
  return { ds, features, retrieval, entropy, routed, gated, ...(memory ? {} : { memory: mem }) } as Side & { memory?: string };
}

t.before(async () => {
  aux = await side('aux', 8, 9);
  target = await side('target', 6, 21, (aux as Side & { memory: string }).memory);
});

t.test('entropy: mean of the stored per-layer entropies (Eq. 3)', async (t) => {
  const e = readSafetensors(join(target.entropy, 'entropy.safetensors'));
  t.same(e.shape('e'), [6, 16]);
  const f = readSafetensors(join(target.features, 'img-1.safetensors'));
  const per = LAYERS.map((l) => f.float32(`entropy.${l}`));
  const want = per[0].map((_, i) => (per[0][i] + per[1][i] + per[2][i]) / 3);
  const got = e.float32('e').subarray(16, 32);
  t.ok(got.every((v, i) => Math.abs(v - want[i]) < 1e-6));
  t.same(json(join(target.entropy, 'index.json')).sampleIds, json(join(target.features, 'index.json')).sampleIds);
});

t.test('entropy refuses layers the features lack', async (t) => {
  await t.rejects(
    runNode(root, 'entropy', 'ent-bad', {}, { features: target.features }),
    /param layers asks for block\(s\) 6, 12, 18, 24 but the features hold entropy for \[2, 3, 4\]/,
  );
});

t.test('routing and gating agree with Eq. 5-8 applied to their inputs', async (t) => {
  const ret = readSafetensors(join(target.retrieval, 'retrieval.safetensors'));
  const ent = readSafetensors(join(target.entropy, 'entropy.safetensors'));
  const routed = readSafetensors(join(target.routed, 'routed.safetensors'));
  const gated = readSafetensors(join(target.gated, 'routed.safetensors'));
  t.same(routed.shape('t_n'), [6, 64]);
  for (const i of [0, 3]) {
    const z = readSafetensors(join(target.features, `img-${i}.safetensors`)).float32('patch.4');
    const r = routeTokens(ret.float32('p').subarray(i * 16, (i + 1) * 16), ent.float32('e').subarray(i * 16, (i + 1) * 16), z, {
      T: 0.1,
      useEntropy: true,
    });
    const row = (name: string, f = routed) => f.float32(name).subarray(i * 64, (i + 1) * 64);
    t.same(row('t_n'), r.tN, `image ${i}: t_n`);
    t.same(row('t_a_raw'), r.tARaw, `image ${i}: t_a_raw`);
    t.same(row('t_a'), r.tARaw, 'ungated: t_a = t_a_raw');
    t.equal(routed.float32('g')[i], 1);
    const g = gate(r.pMax, r.sigmaE);
    t.ok(Math.abs(gated.float32('g')[i] - g) < 1e-6, `image ${i}: g = ${g}`);
    t.ok(row('t_a', gated).every((v, d) => Math.abs(v - g * r.tARaw[d]) < 1e-6), 't_a = g t_a_raw');
    t.same(row('t_n', gated), r.tN, 'gating leaves t_n alone');
  }
  const off = await runNode(root, 'gating', 'gate-off', { enabled: false }, { routed: target.routed });
  const o = readSafetensors(join(off.outputs.routed, 'routed.safetensors'));
  t.ok(o.float32('g').every((v) => v === 1), 'w/o gating: g = 1');
  t.same(o.float32('t_a'), o.float32('t_a_raw'));
  const noent = await runNode(root, 'routing', 'route-noent', { z_layer: 4, use_entropy: false }, {
    features: target.features, retrieval: target.retrieval, entropy: target.entropy,
  });
  const ne = readSafetensors(join(noent.outputs.routed, 'routed.safetensors'));
  t.not(ne.float32('t_a_raw')[0], routed.float32('t_a_raw')[0], 'use_entropy: false changes the tokens');
  t.same(ne.float32('sigma_e'), routed.float32('sigma_e'), 'and leaves sigma_e (the gate input) alone');
});

t.test('routing refuses a z_layer the features lack', async (t) => {
  await t.rejects(
    runNode(root, 'routing', 'route-bad', {}, { features: target.features, retrieval: target.retrieval, entropy: target.entropy }),
    /param z_layer = 24 is not among the features' map layers \[2, 3, 4\]/,
  );
});

let model2: string;
let model1: string;
t.test('stage2-train: loss per step, model artifact, same seed same bytes', async (t) => {
  const inputs = () => ({ features: aux.features, routed: aux.gated, dataset: aux.ds });
  const ran = await runNode(root, 'stage2-train', 's2', s2params, inputs());
  const losses = ran.records.filter((r) => r.event === 'loss');
  t.equal(losses.length, 4, '8 images / batch 4 x 2 epochs');
  t.equal(ran.ticks, 4);
  for (const l of losses) {
    t.match(l.fields, { step: Number, loss: Number, lossA: Number, lossB: Number });
    const f = l.fields as { loss: number; lossA: number; lossB: number };
    t.ok(Math.abs(f.loss - (0.7 * f.lossA + 0.3 * f.lossB)) < 1e-4, 'L = 0.7 L_A + 0.3 L_B');
  }
  model2 = ran.outputs.model;
  const info = json(join(model2, 'model.json'));
  t.match(info, { kind: 'stage2', branches: 2, embedDim: 64, textWidth: 64, grid: 4, mapLayers: LAYERS, steps: 4 });
  const st = readSafetensors(join(model2, 'model.safetensors'));
  t.same(st.shape('branchA.fc1.kernel'), [64, 64]);
  t.ok(st.tensors.has('branchB.fc2.bias') && st.tensors.has('prompt.ctx_normal'), 'both MLPs and the prompt learner');
  const again = await runNode(root, 'stage2-train', 's2-again', s2params, inputs());
  t.same(readFileSync(join(again.outputs.model, 'model.safetensors')), readFileSync(join(model2, 'model.safetensors')));

  const one = await runNode(root, 'stage2-train', 's2-one', { ...s2params, branches: 1 }, inputs());
  model1 = one.outputs.model;
  t.notOk([...readSafetensors(join(model1, 'model.safetensors')).tensors.keys()].some((k) => k.startsWith('branchB')));
  t.match(one.records.find((r) => r.event === 'loss')!.fields, { lossB: null });
});

t.test('stage2-train refuses another backbone than the features\'', async (t) => {
  await t.rejects(
    runNode(root, 'stage2-train', 's2-bad', { ...s2params, backbone_seed: 1 }, {
      features: aux.features, routed: aux.gated, dataset: aux.ds,
    }),
    /param backbone "tiny" .* is not the backbone the features were extracted with/,
  );
});

t.test('infer: maps at the eval size, scores by Eq. 21-22, alpha reaches the maps', async (t) => {
  const inputs = (model: string) => ({
    features: target.features, retrieval: target.retrieval, routed: target.gated, model, dataset: target.ds,
  });
  const ran = await runNode(root, 'infer', 'inf', { map_layers: LAYERS, batch_size: 4 }, inputs(model2));
  const idx = json(join(ran.outputs.maps, 'index.json'));
  t.same(idx.size, 32);
  const scores = json(join(ran.outputs.scores, 'scores.json'));
  t.equal(scores.scores.length, 6);
  const aRet = readSafetensors(join(target.retrieval, 'retrieval.safetensors')).float32('a_ret');
  for (let i = 0; i < 6; i++) {
    const map = readMap(ran.outputs.maps, i);
    t.equal(map.length, 32 * 32);
    t.ok(Math.abs(scores.aLoc[i] - topPercentMean(map)) < 1e-9, `image ${i}: a_loc is the top 1 % of the stored map`);
    t.ok(Math.abs(scores.scores[i] - (0.3 * scores.aLoc[i] + 0.7 * aRet[i])) < 1e-6, 'a = 0.3 a_loc + 0.7 a_ret');
    t.equal(scores.aRet[i], aRet[i]);
  }
  const other = await runNode(root, 'infer', 'inf-a', { map_layers: LAYERS, alpha: 0.2, beta: 0.8, eval_size: 40 }, inputs(model2));
  t.equal(json(join(other.outputs.maps, 'index.json')).size, 40);
  t.not(json(join(other.outputs.scores, 'scores.json')).aLoc[0], scores.aLoc[0], 'alpha changes the fused map');

  const b1 = await runNode(root, 'infer', 'inf-1a', { map_layers: LAYERS, beta: 0.3 }, inputs(model1));
  const b2 = await runNode(root, 'infer', 'inf-1b', { map_layers: LAYERS, beta: 0.9 }, inputs(model1));
  t.same(readMap(b1.outputs.maps, 2), readMap(b2.outputs.maps, 2), 'one-branch model: M = M_A whatever beta');

  t.notOk(ran.records.some((r) => r.level === 'warn'), 'training settings: no warning');
  const hot = await runNode(root, 'infer', 'inf-tau', { map_layers: LAYERS, tau_s: 0.1 }, inputs(model1));
  t.match(hot.records.find((r) => r.level === 'warn')?.event, /tau_s 0.1 differ from the training values/);

  await t.rejects(runNode(root, 'infer', 'inf-bad', { map_layers: LAYERS }, inputs(stage1Model)), /describes a "stage1" model/);
});

t.test('cache keys: what a parameter does not reach stays out', async (t) => {
  const s2 = getNodeType('stage2-train')!;
  const inf = getNodeType('infer')!;
  const key = async (type: string, p: Record<string, unknown>) =>
    JSON.stringify(await getNodeType(type)!.keyParams!(resolveParams(type, p) as never));
  t.equal(await key('stage2-train', { branches: 1, lambda_a: 0.9 }), await key('stage2-train', { branches: 1, lambda_a: 0.5 }));
  t.not(await key('stage2-train', { lambda_a: 0.9 }), await key('stage2-train', { lambda_a: 0.5 }));
  t.equal(await key('infer', { domain_prior: true, alpha: 0.1 }), await key('infer', { domain_prior: true, alpha: 0.9 }));
  t.not(await key('infer', { alpha: 0.1 }), await key('infer', { alpha: 0.9 }));
  const k = await key('infer', {});
  t.match(k, /"backbone":"[0-9a-f]{64}"/, 'the backbone enters as its digest');
  t.same(Object.keys(s2.outputs), ['model']);
  t.same(Object.keys(inf.outputs).sort(), ['maps', 'scores']);
  for (const type of ['entropy', 'routing', 'gating', 'stage2-train', 'infer']) t.equal(getNodeType(type)!.version, '1');
  const routingParams = Object.keys((getNodeType('routing')!.params as { properties: object }).properties);
  t.same(routingParams.sort(), ['T', 'use_entropy', 'z_layer'], 'routing knows nothing of Stage 2 or fusion');
});
