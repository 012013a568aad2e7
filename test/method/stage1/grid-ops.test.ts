import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import { neighbourSmooth } from '../../../src/method/smoothing.ts';
import { resizeBilinear, resizeBilinearTf, bilinearMatrix } from '../../../src/method/bilinear.ts';
import { maskToGrid, maskPrototypes } from '../../../src/method/mask-grid.ts';
import { g, gi, goldenJson, excess } from './golden.ts';

await initTf('wasm');

t.test('neighbour smoothing matches avg_pool2d(1,3,5) with counted zero padding', async (t) => {
  t.ok(excess(neighbourSmooth(g('smooth.input'), 6, 5), g('smooth.output'), 1e-6) <= 0);
  const ones = neighbourSmooth(g('smooth.ones_input'), 6, 1);
  t.ok(excess(ones, g('smooth.ones_output'), 1e-6) <= 0);
  t.ok(Math.abs(ones[0] - (1 + 4 / 9 + 9 / 25) / 3) < 1e-6, 'corner by hand');
  t.ok(Math.abs(ones[6] - (1 + 6 / 9 + 12 / 25) / 3) < 1e-6, 'edge (1,0) by hand');
  t.ok(Math.abs(ones[3 * 6 + 3] - 1) < 1e-6, 'interior by hand');
  t.throws(() => neighbourSmooth(new Float32Array(5), 2, 2), /g\*g\*C/);
});

t.test('bilinear resize matches torch (align_corners=False, no antialias)', async (t) => {
  for (const [name, s, S] of [['up5', 5, 40], ['up6', 6, 48]] as const) {
    const out = resizeBilinear(g(`bilinear.${name}.input`), s, s, S, S);
    t.ok(excess(out, g(`bilinear.${name}.output`), 1e-6) <= 0, `${name} typed arrays`);
    const x = tf.tensor3d(g(`bilinear.${name}.input`), [1, s, s]);
    const outTf = resizeBilinearTf(x, S, S).dataSync();
    t.ok(excess(outTf, g(`bilinear.${name}.output`), 1e-6) <= 0, `${name} tfjs matrices`);
    const outTfImage = tf.image
      .resizeBilinear(x.reshape([1, s, s, 1]) as tf.Tensor4D, [S, S], false, true)
      .dataSync();
    t.ok(excess(outTfImage, g(`bilinear.${name}.output`), 1e-6) <= 0, `${name} tf.image.resizeBilinear(halfPixelCenters)`);
  }
  const R = bilinearMatrix(37, 518);
  for (let r = 0; r < 518; r++) {
    let s = 0;
    for (let c = 0; c < 37; c++) s += R[r * 37 + c];
    if (Math.abs(s - 1) > 1e-6) t.fail(`row ${r} of the 37->518 matrix sums to ${s}`);
  }
  t.pass('interpolation rows sum to 1');
});

t.test('tfjs resize is differentiable and batched', async (t) => {
  const x = tf.randomUniform([3, 4, 5]) as tf.Tensor3D;
  const grad = tf.grad((v: tf.Tensor) => resizeBilinearTf(v as tf.Tensor3D, 9, 7).sum())(x);
  t.same(grad.shape, [3, 4, 5]);
  // sum of the upsampled map = sum_x x * column sums of Rh and Rw
  t.ok(grad.dataSync().every((v) => Number.isFinite(v) && v > 0));
  const b1 = resizeBilinearTf(x.slice([1, 0, 0], [1, 4, 5]) as tf.Tensor3D, 9, 7).dataSync();
  const all = resizeBilinearTf(x, 9, 7).dataSync();
  t.ok(excess(all.subarray(63, 126), b1, 1e-6) <= 0, 'batch entries are independent');
});

t.test('mask to grid and prototypes', async (t) => {
  for (const name of ['maskdown', 'maskdown_tiny']) {
    const resized = maskToGrid(g(`${name}.mask`), 48, 48, 6);
    t.same([...resized], [...g(`${name}.resized`)], `${name}.resized exact`);
    const isNormal = gi(`${name}.is_normal`);
    const isAnomaly = gi(`${name}.is_anomaly`);
    t.same([...resized].map((v) => (v === 0 ? 1 : 0)), [...isNormal], `${name}.is_normal`);
    t.same([...resized].map((v) => (v === 1 ? 1 : 0)), [...isAnomaly], `${name}.is_anomaly`);

    const protos = maskPrototypes(g('maskdown.features'), 7, resized);
    const info = goldenJson.cases.bilinear.mask_downsampling[name];
    t.ok(protos.normal);
    t.equal(protos.normal!.cells, info.n_normal_cells);
    t.ok(excess(protos.normal!.mean, g(`${name}.proto_normal_mean`), 1e-6) <= 0);
    t.ok(excess(protos.normal!.key, g(`${name}.proto_normal`), 1e-6) <= 0);
    t.equal(Boolean(protos.anomaly), info.has_anomaly_prototype, `${name}: anomaly key present = ${info.has_anomaly_prototype}`);
    if (protos.anomaly) {
      t.equal(protos.anomaly.cells, info.n_anomaly_cells);
      t.ok(excess(protos.anomaly.mean, g(`${name}.proto_anomaly_mean`), 1e-6) <= 0);
      t.ok(excess(protos.anomaly.key, g(`${name}.proto_anomaly`), 1e-6) <= 0);
    }
  }
});

t.test('an all-anomalous mask gives no normal key', async (t) => {
  const p = maskPrototypes(new Float32Array([1, 2, 3, 4]), 1, new Float32Array([1, 1, 1, 1]));
  t.notOk(p.normal);
  t.same([...p.anomaly!.key], [1]);
});
