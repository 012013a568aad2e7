import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../../../src/clip/backend.ts';
import { focalLoss, diceLoss } from '../../../src/method/losses.ts';
import { g, gshape, goldenJson, excess } from './golden.ts';

await initTf('wasm');
const L = goldenJson.cases.loss;
const M = tf.tensor(g('loss.map'), gshape('loss.map'));
const Y = tf.tensor(g('loss.mask'), gshape('loss.mask'));
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

t.test('focal (Eq. 14) matches the golden value', async (t) => {
  const v = focalLoss(M, Y).dataSync()[0];
  t.ok(rel(v, L.focal) < 1e-5, `focal ${v} vs ${L.focal}`);
});

t.test('dice (Eq. 15) is per image then the batch mean', async (t) => {
  t.ok(rel(diceLoss(M, Y).dataSync()[0], L.dice) < 1e-5);
  const one = (b: number) =>
    diceLoss(M.slice([b, 0, 0], [1, -1, -1]), Y.slice([b, 0, 0], [1, -1, -1])).dataSync()[0];
  t.ok(rel(one(0), L.dice_per_image[0]) < 1e-5);
  t.ok(rel(one(1), L.dice_per_image[1]) < 1e-5, 'all-normal image: dice close to 1');
  const dn = diceLoss(tf.sub(1, M), tf.sub(1, Y)).dataSync()[0];
  t.ok(rel(dn, L.dice_normal) < 1e-5, `dice_normal ${dn}`);
});

t.test('gradients w.r.t. the map match torch autograd', async (t) => {
  const cases: [string, (m: tf.Tensor) => tf.Scalar][] = [
    ['loss.grad_focal', (m) => focalLoss(m, Y)],
    ['loss.grad_dice', (m) => diceLoss(m, Y)],
    ['loss.grad_dice_normal', (m) => diceLoss(tf.sub(1, m), tf.sub(1, Y))],
  ];
  for (const [name, f] of cases) {
    const grad = tf.grad(f)(M).dataSync();
    t.ok(excess(grad, g(name), 1e-8, 1e-4) <= 0, `${name} within rtol 1e-4 + atol 1e-8`);
    t.notOk(grad.some((x) => !Number.isFinite(x)), `${name} finite at exact 0 and 1 pixels`);
  }
});

t.test('hand case: a perfect map has zero loss', async (t) => {
  const y = tf.tensor([[[0, 1], [1, 0]]]);
  t.ok(Math.abs(focalLoss(y, y).dataSync()[0]) < 1e-12);
  t.ok(Math.abs(diceLoss(y, y).dataSync()[0]) < 1e-6);
});
