// The fused Stage-2 layer loss (Eq. 14, 15, 18) against the loss goldens of
// fixture section 10 (identity resize) and against the plain tfjs
// composition of losses.ts with a differentiable bilinear upsampling.
import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import { Rng } from '../../../src/util/rng.ts';
import { layerLoss, segLossAndGrad } from '../../../src/method/stage2-loss.ts';
import { diceLoss, focalLoss } from '../../../src/method/losses.ts';
import { resizeBilinearTf } from '../../../src/method/bilinear.ts';
import { golden, goldenJson, worstExcess } from './golden.ts';

await initTf(process.env.ENTROAD_BACKEND ?? 'wasm');

t.test('equals focal + dice + dice_normal of the loss goldens (16 -> 16 is the identity)', async (t) => {
  const M = golden().float32('loss.map');
  const Y = golden().float32('loss.mask');
  const c = goldenJson().cases.loss;
  const { loss, grad } = segLossAndGrad(M, Y, 2, 16, 16);
  const want = c.focal + c.dice + c.dice_normal;
  t.ok(Math.abs(loss - want) <= 1e-5 * want, `loss ${loss} vs ${want}`);
  const g = golden();
  const wantGrad = g.float32('loss.grad_focal').map((v, i) => v + g.float32('loss.grad_dice')[i] + g.float32('loss.grad_dice_normal')[i]);
  t.ok(worstExcess(grad, wantGrad, 1e-8, 1e-4) <= 0, 'gradient = sum of the three golden gradients');
});

for (const [B, g, S] of [[2, 4, 16], [3, 3, 10]]) {
  t.test(`matches the tfjs composition with upsampling ${g} -> ${S} (value and gradient)`, async (t) => {
    const rng = new Rng(g * 100 + S);
    const sa = Float32Array.from({ length: B * g * g }, () => 0.02 + 0.96 * rng.next());
    const Y = new Float32Array(B * S * S);
    for (let k = 0; k < S * S; k++) Y[k] = (k % S) < S / 2 && k < S * S / 2 ? 1 : 0; // image 0: a block; others normal
    const x = tf.tensor2d(sa, [B, g * g]);
    const mask = tf.tensor3d(Y, [B, S, S]);
    const reference = (s: tf.Tensor) => {
      const up = resizeBilinearTf(s.reshape([B, g, g]) as tf.Tensor3D, S, S);
      return tf.addN([focalLoss(up, mask), diceLoss(up, mask), diceLoss(tf.sub(1, up), tf.sub(1, mask))]) as tf.Scalar;
    };
    const ref = tf.valueAndGrad(reference)(x);
    const ours = tf.valueAndGrad((s: tf.Tensor) => layerLoss(s as tf.Tensor2D, Y, g, S))(x);
    const rv = ref.value.dataSync()[0];
    const ov = ours.value.dataSync()[0];
    t.ok(Math.abs(ov - rv) <= 1e-5 * Math.abs(rv), `value ${ov} vs ${rv}`);
    t.ok(worstExcess(ours.grad.dataSync(), ref.grad.dataSync(), 1e-6, 1e-3) <= 0, 'gradient');
    tf.dispose([x, mask, ref.value, ref.grad, ours.value, ours.grad]);
  });
}

t.test('gradient against central differences in float64', async (t) => {
  const B = 1, g = 3, S = 7;
  const rng = new Rng(7);
  const sa = Float32Array.from({ length: B * g * g }, () => 0.1 + 0.8 * rng.next());
  const Y = Float32Array.from({ length: S * S }, (_, k) => (k % 3 === 0 ? 1 : 0));
  const { grad } = segLossAndGrad(sa, Y, B, g, S);
  const h = 1e-3;
  let worst = 0;
  for (let i = 0; i < sa.length; i++) {
    const up = sa.slice(); up[i] += h;
    const dn = sa.slice(); dn[i] -= h;
    const step = (up[i] - dn[i]) / 2; // the float32 step actually taken
    const fd = (segLossAndGrad(up, Y, B, g, S).loss - segLossAndGrad(dn, Y, B, g, S).loss) / (2 * step);
    worst = Math.max(worst, Math.abs(fd - grad[i]) - (1e-5 + 1e-3 * Math.abs(fd)));
  }
  t.ok(worst <= 0, `worst excess over atol 1e-5 + rtol 1e-3: ${worst}`);
});

t.test('sizes are checked', async (t) => {
  t.throws(() => segLossAndGrad(new Float32Array(5), new Float32Array(16), 1, 2, 4), /expected B\*g\*g = 4/);
  t.throws(() => segLossAndGrad(new Float32Array(4), new Float32Array(15), 1, 2, 4), /expected B\*S\*S = 16/);
});
