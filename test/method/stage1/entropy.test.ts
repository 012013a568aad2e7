import t from 'tap';
import { structuralEntropy, meanEntropy } from '../../../src/method/entropy.ts';
import { g, gshape, excess } from './golden.ts';

/** Entropies per [image, layer] of a stored attention stack [B,L,T,T]. */
function perLayer(name: string): Float32Array[][] {
  const [B, Ls, T] = gshape(name);
  const attn = g(name);
  const out: Float32Array[][] = [];
  for (let b = 0; b < B; b++) {
    out.push([]);
    for (let l = 0; l < Ls; l++) {
      const off = (b * Ls + l) * T * T;
      out[b].push(structuralEntropy(attn.subarray(off, off + T * T), T));
    }
  }
  return out;
}

t.test('entropy32: per layer and means over {1,2,3} and {2,3}', async (t) => {
  const e = perLayer('entropy32.attn');
  const flat = (rows: Float32Array[]) => Float32Array.from(rows.flatMap((r) => [...r]));
  t.ok(excess(flat(e.flat()), g('entropy32.per_layer'), 1e-5) <= 0, 'per_layer');
  t.ok(excess(flat(e.map((l) => meanEntropy(l))), g('entropy32.mean_layers_123'), 1e-5) <= 0);
  t.ok(excess(flat(e.map((l) => meanEntropy(l.slice(1)))), g('entropy32.mean_layers_23'), 1e-5) <= 0);
});

t.test('entropy48 (bilinear position table forward)', async (t) => {
  const e = perLayer('vision48_bilinear.attn_mean');
  t.ok(excess(Float32Array.from(e[0].flatMap((r) => [...r])), g('entropy48.per_layer'), 1e-5) <= 0);
  t.ok(excess(meanEntropy(e[0]), g('entropy48.mean_layers_123'), 1e-5) <= 0);
});

t.test('hand cases: uniform, one-hot, two-equal, class-only rows', async (t) => {
  const u = structuralEntropy(g('entropy_hand.uniform_attn'), 5);
  t.ok(excess(u, g('entropy_hand.uniform_entropy'), 1e-5) <= 0);
  for (const v of u) t.ok(Math.abs(v - Math.log(4)) < 1e-6, 'uniform over 4 patches = log 4');

  const m = structuralEntropy(g('entropy_hand.mixed_attn'), 6);
  t.ok(excess(m, g('entropy_hand.mixed_entropy'), 1e-5) <= 0);
  const expected = [Math.log(5), 0, Math.log(2), 1.5 * Math.log(2), 0];
  for (let i = 0; i < 5; i++) t.ok(Math.abs(m[i] - expected[i]) < 1e-6, `row ${i + 1}`);
  t.equal(m[4], 0, 'all mass on the class: exactly 0, not NaN');

  // own one-hot map: every patch attends only to itself
  const T = 4;
  const eye = new Float32Array(T * T);
  for (let i = 0; i < T; i++) eye[i * T + i] = 1;
  for (const v of structuralEntropy(eye, T)) t.ok(Math.abs(v) < 1e-6);
});

t.test('errors name the shape problem', async (t) => {
  t.throws(() => structuralEntropy(new Float32Array(10), 4), /T\*T = 16/);
  t.throws(() => meanEntropy([]), /no layers/);
});
