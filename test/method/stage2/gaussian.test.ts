import t from 'tap';
import { gaussianFilter, gaussianKernel, reflectIndex } from '../../../src/method/gaussian.ts';
import { golden, goldenJson, worstExcess } from './golden.ts';

t.test('kernel: 33 taps for sigma 4, equal to the golden kernel', async (t) => {
  const k = gaussianKernel(4, 4);
  t.equal(k.length, 33);
  t.ok(worstExcess(k, golden().float32('gauss.kernel'), 1e-7) <= 0, 'f32 golden kernel');
  t.ok(worstExcess(k, goldenJson().cases.gauss.kernel_float64, 1e-15) <= 0, 'f64 kernel values');
  t.equal(k[16], Math.max(...k), 'centre is the peak');
});

t.test('reflect index: half-sample symmetric, also past one period', async (t) => {
  // n = 4: ... 1 0 | 0 1 2 3 | 3 2 1 0 | 0 ...
  t.same([-2, -1, 0, 3, 4, 5, 7, 8].map((i) => reflectIndex(i, 4)), [1, 0, 0, 3, 3, 2, 0, 0]);
  t.equal(reflectIndex(-5, 1), 0);
});

for (const name of ['random', 'spikes']) {
  t.test(`gauss.${name}: f32 and f64 paths match scipy`, async (t) => {
    const x = golden().float32(`gauss.${name}.input`);
    const f32 = gaussianFilter(x, 40, 40, { sigma: 4, precision: 'f32' });
    const f64 = gaussianFilter(x, 40, 40, { sigma: 4, precision: 'f64' });
    t.ok(worstExcess(f32, golden().float32(`gauss.${name}.out_f32`), 1e-6) <= 0, 'out_f32');
    t.ok(worstExcess(f64, golden().float32(`gauss.${name}.out_f64`), 1e-6) <= 0, 'out_f64');
  });
}

t.test('a constant map stays constant (kernel sums to 1, reflect border)', async (t) => {
  const out = gaussianFilter(new Float32Array(12 * 7).fill(0.25), 12, 7);
  t.ok(worstExcess(out, new Float32Array(84).fill(0.25), 1e-7) <= 0);
});

t.test('wrong size is refused', async (t) => {
  t.throws(() => gaussianFilter(new Float32Array(5), 2, 3), /expected H\*W = 6/);
});
