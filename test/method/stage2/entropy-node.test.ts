// The entropy node against fixture section 6: fed the golden per-layer
// entropies, it must give the golden Eq. 3 means for the chosen Omega.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../../src/util/safetensors.ts';
import { featureFile, writeJson } from '../../../src/nodes/artifacts.ts';
import '../../../src/nodes/method/entropy.ts';
import { runNode } from '../stage1/node-context.ts';
import { golden, worstExcess } from './golden.ts';

const root = mkdtempSync(join(tmpdir(), 'entroad-entropy-node-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const features = join(root, 'features');
mkdirSync(features);
const perLayer = golden().float32('entropy32.per_layer'); // [3 images, 3 blocks, 16]
for (let i = 0; i < 3; i++) {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (let l = 1; l <= 3; l++) {
    tensors[`entropy.${l}`] = { dtype: 'F32', shape: [16], data: perLayer.slice((i * 3 + l - 1) * 16, (i * 3 + l) * 16) };
  }
  writeSafetensors(featureFile(features, i), tensors);
}
writeJson(join(features, 'index.json'), {
  sampleIds: ['a', 'b', 'c'], grid: 4, size: 32, embedDim: 24, memDim: 64, mapLayers: [2, 3],
  entropyLayers: [1, 2, 3], memLayer: 3, backbone: { name: 'clip-tiny', pretrained: false, digest: 'x' },
});

for (const [layers, name] of [[[1, 2, 3], 'entropy32.mean_layers_123'], [[2, 3], 'entropy32.mean_layers_23']] as const) {
  t.test(`Omega = {${layers}} gives ${name}`, async (t) => {
    const ran = await runNode(root, 'entropy', `ent-${layers.join('')}`, { layers: [...layers] }, { features });
    const e = readSafetensors(join(ran.outputs.entropy, 'entropy.safetensors'));
    t.same(e.shape('e'), [3, 16]);
    t.ok(worstExcess(e.float32('e'), golden().float32(name), 1e-5) <= 0);
    t.equal(ran.ticks, 3);
  });
}
