// `entroad eval` on a tiny MVTec-layout benchmark built here: fixture case a
// as four 16x16 images, maps saved as .npy / .safetensors / PNG.
import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildProgram } from '../../src/cli/main.ts';
import { parseNpy } from '../../src/metrics/npy.ts';
import { matchPredictions, readPredMap } from '../../src/metrics/predictions.ts';
import { writeSafetensors } from '../../src/util/safetensors.ts';
import type { MetricsFile } from '../../src/metrics/types.ts';

const cases = JSON.parse(readFileSync(new URL('../fixtures/metrics/cases.json', import.meta.url), 'utf8'));
const c = cases.cases[0]; // a_small_4x16x16: img0 normal, img1-3 defective
const root = mkdtempSync(join(tmpdir(), 'entroad-eval-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const S = 16;

/** A .npy v1.0 file written by hand (little-endian float32, C order). */
function npyBytes(data: Float32Array, shape: number[], descr = '<f4'): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

const names = ['good/000', 'crack/000', 'crack/001', 'hole/000'];
const dataset = join(root, 'mvtec');
async function buildDataset() {
  for (let k = 0; k < 4; k++) {
    const [folder, stem] = names[k].split('/');
    mkdirSync(join(dataset, 'alpha', 'test', folder), { recursive: true });
    await sharp(Buffer.alloc(S * S * 3, 128), { raw: { width: S, height: S, channels: 3 } }).png()
      .toFile(join(dataset, 'alpha', 'test', folder, `${stem}.png`));
    if (folder === 'good') continue;
    const mask = Buffer.from(c.masks.slice(k * S * S, (k + 1) * S * S).map((v: number) => (v ? 255 : 0)));
    mkdirSync(join(dataset, 'alpha', 'ground_truth', folder), { recursive: true });
    await sharp(mask, { raw: { width: S, height: S, channels: 1 } }).png()
      .toFile(join(dataset, 'alpha', 'ground_truth', folder, `${stem}_mask.png`));
  }
  mkdirSync(join(dataset, 'alpha', 'train', 'good'), { recursive: true });
  await sharp(Buffer.alloc(S * S * 3, 128), { raw: { width: S, height: S, channels: 3 } }).png()
    .toFile(join(dataset, 'alpha', 'train', 'good', '000.png'));
}
const mapOf = (k: number) => Float32Array.from(c.maps.slice(k * S * S, (k + 1) * S * S));

async function cli(args: string[]): Promise<string> {
  let out = '';
  const orig = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'entroad', ...args]);
  } finally {
    process.stdout.write = orig;
    process.stderr.write = origErr;
  }
  return out;
}
const near = (a: number | null | undefined, b: number) => typeof a === 'number' && Math.abs(a - b) < 1e-6;

t.test('npy reader', async (t) => {
  const a = parseNpy(npyBytes(Float32Array.from([1.5, -2, 3, 4, 5, 6]), [1, 2, 3]));
  t.same(a.shape, [1, 2, 3]);
  t.same([...a.data], [1.5, -2, 3, 4, 5, 6]);
  const f8 = new Float64Array([0.25, 1e-3]);
  const b = npyBytes(new Float32Array(f8.buffer), [2], '<f8');
  t.same([...parseNpy(b).data], [0.25, Math.fround(1e-3)]);
  const u8 = npyBytes(new Float32Array(Uint8Array.from([7, 200, 0, 0]).buffer), [4], '|u1');
  t.same([...parseNpy(u8).data].slice(0, 4), [7, 200, 0, 0]);
  t.throws(() => parseNpy(Buffer.from('not numpy at all')), /not a \.npy file/);
  const fortran = Buffer.from(npyBytes(new Float32Array(4), [2, 2]).toString('latin1').replace("'fortran_order': False", "'fortran_order': True "), 'latin1');
  t.throws(() => parseNpy(fortran), /Fortran order/);
});

t.test('matching rule: same path, path suffix, unique stem', async (t) => {
  const rel = ['alpha/test/crack/000.png', 'alpha/test/hole/000.png', 'beta/test/good/017.png'];
  const preds = new Map([
    ['alpha/test/crack/000', '/p/a.npy'],
    ['test/hole/000', '/p/b.npy'],
    ['whatever/017', '/p/c.npy'],
  ]);
  t.same(matchPredictions(rel, preds, '/p'), ['/p/a.npy', '/p/b.npy', '/p/c.npy']);
  const amb = new Map([['x/000', '/p/x.npy'], ['y/000', '/p/y.npy']]);
  t.throws(() => matchPredictions(['alpha/test/crack/000.png'], amb, '/p'), /ambiguous: .*2 files named 000/);
  t.throws(() => matchPredictions(['alpha/test/crack/001.png'], amb, '/p'), /no prediction for alpha\/test\/crack\/001\.png/);
});

t.test('eval: .npy and .safetensors maps reproduce the golden values', async (t) => {
  await buildDataset();
  const npyDir = join(root, 'pred-npy');
  const stDir = join(root, 'pred-st');
  for (let k = 0; k < 4; k++) {
    const [folder, stem] = names[k].split('/');
    // npy: named by the path inside the category only (suffix rule)
    mkdirSync(join(npyDir, 'test', folder), { recursive: true });
    writeFileSync(join(npyDir, 'test', folder, `${stem}.npy`), npyBytes(mapOf(k), [1, S, S]));
    mkdirSync(join(stDir, 'alpha', 'test', folder), { recursive: true });
    writeSafetensors(join(stDir, 'alpha', 'test', folder, `${stem}.safetensors`), {
      anomaly_map: { dtype: 'F32', shape: [S, S], data: mapOf(k) },
    });
  }
  for (const pred of [npyDir, stDir]) {
    const out = join(root, `m-${pred.endsWith('npy') ? 'npy' : 'st'}.json`);
    const text = await cli(['eval', '--pred', pred, '--dataset', dataset, '--format', 'mvtec', '--out', out]);
    t.match(text, /Pixel AUPRO/);
    const f: MetricsFile = JSON.parse(readFileSync(out, 'utf8'));
    t.equal(f.evalSize, 16);
    const v = f.datasets.mvtec.categories.alpha.values;
    t.ok(near(v.image_auroc, c.expected.image.auroc), 'image auroc from map maxima');
    t.ok(near(v.image_ap, c.expected.image.ap), 'image ap');
    t.ok(near(v.pixel_auroc, c.expected.pixel.auroc), 'pixel auroc');
    t.ok(near(v.aupro, c.expected.aupro[0].value), 'aupro @0.3 8-conn');
    t.same(f.settings, { fprLimit: 0.3, connectivity: 8, zsadSteps: 200 });
  }
  const out4 = join(root, 'm4.json');
  await cli(['eval', '--pred', npyDir, '--dataset', dataset, '--format', 'mvtec', '--connectivity', '4', '--fpr-limit', '1', '--out', out4]);
  const f4: MetricsFile = JSON.parse(readFileSync(out4, 'utf8'));
  const e = c.expected.aupro.find((x: { connectivity: number; fpr_limit: number }) => x.connectivity === 4 && x.fpr_limit === 1);
  t.ok(near(f4.datasets.mvtec.categories.alpha.values.aupro, e.value), '4-conn @1.0');
});

t.test('eval: 8- and 16-bit PNG maps, --size', async (t) => {
  for (const depth of [8, 16]) {
    const dir = join(root, `pred-png${depth}`);
    for (let k = 0; k < 4; k++) {
      const [folder, stem] = names[k].split('/');
      mkdirSync(join(dir, 'alpha', 'test', folder), { recursive: true });
      // a perfect map: 0.9 on the defect, 0.1 elsewhere
      const m = c.masks.slice(k * S * S, (k + 1) * S * S);
      const buf = depth === 8
        ? Buffer.from(m.map((v: number) => (v ? 230 : 25)))
        : Uint16Array.from(m.map((v: number) => (v ? 60000 : 6000))); // sharp treats a Uint16Array as 16-bit
      await sharp(buf, { raw: { width: S, height: S, channels: 1 } })
        .toColourspace(depth === 16 ? 'grey16' : 'b-w')
        .png()
        .toFile(join(dir, 'alpha', 'test', folder, `${stem}.png`));
    }
    const meta = await sharp(join(dir, 'alpha', 'test', 'crack', '000.png')).metadata();
    t.equal(meta.depth, depth === 16 ? 'ushort' : 'uchar', `wrote a ${depth}-bit PNG`);
    const read = await readPredMap(join(dir, 'alpha', 'test', 'good', '000.png'));
    t.equal(read.data[0], Math.fround(depth === 16 ? 6000 / 65535 : 25 / 255), `${depth}-bit value scale`);
    const out = join(root, `png${depth}.json`);
    await cli(['eval', '--pred', dir, '--dataset', dataset, '--format', 'mvtec', '--size', '8', '--out', out]);
    const f: MetricsFile = JSON.parse(readFileSync(out, 'utf8'));
    t.equal(f.evalSize, 8);
    const v = f.datasets.mvtec.categories.alpha.values;
    t.equal(v.image_auroc, 1, `${depth}-bit image auroc`);
    t.ok(v.pixel_auroc! > 0.95, `${depth}-bit pixel auroc ${v.pixel_auroc} (masks and maps resized to 8)`);
  }
  await t.rejects(
    cli(['eval', '--pred', join(root, 'pred-npy', 'test', 'crack'), '--dataset', dataset, '--format', 'mvtec']),
    /image\(s\) without a prediction/,
  );
});
