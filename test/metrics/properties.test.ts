// Properties that must hold for any input, on random maps from a seeded Rng.
import t from 'tap';
import { aupro, auproZsad, binaryMetrics, labelRegions } from '../../src/metrics/index.ts';
import { Rng } from '../../src/util/rng.ts';

function randomCase(seed: number, n = 3, h = 12, w = 10) {
  const rng = new Rng(seed);
  const maps = new Float32Array(n * h * w);
  const masks = new Uint8Array(n * h * w);
  for (let k = 0; k < n; k++) {
    // one random rectangle per image except the last (defect-free)
    if (k < n - 1) {
      const y0 = rng.int(0, h - 3);
      const x0 = rng.int(0, w - 3);
      const hh = rng.int(1, 4);
      const ww = rng.int(1, 4);
      for (let y = y0; y < y0 + hh; y++) for (let x = x0; x < x0 + ww; x++) masks[(k * h + y) * w + x] = 1;
    }
  }
  // scores: noise plus a bump over the defects; quantised to force ties
  for (let i = 0; i < maps.length; i++) maps[i] = Math.round((rng.next() + 0.6 * masks[i]) * 20) / 20;
  return { maps, masks, shape: [n, h, w] as [number, number, number] };
}

t.test('AUPRO in [0, 1] for random maps, both variants, both connectivities', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const c = randomCase(seed);
    for (const connectivity of [4, 8] as const) {
      for (const fprLimit of [0.05, 0.3, 1]) {
        const a = aupro(c.maps, c.masks, c.shape, { fprLimit, connectivity });
        t.ok(a >= 0 && a <= 1 + 1e-12, `seed ${seed} aupro ${a}`);
        const z = auproZsad(c.maps, c.masks, c.shape, { fprLimit, connectivity });
        t.ok(z >= 0 && z <= 1 + 1e-12, `seed ${seed} zsad ${z}`);
      }
    }
  }
});

t.test('invariant to a strictly increasing transform of the scores', async (t) => {
  for (let seed = 100; seed < 110; seed++) {
    const c = randomCase(seed);
    const f = Float64Array.from(c.maps, (v) => Math.exp(3 * v) - 7); // monotone, changes spacing
    for (const fprLimit of [0.3, 1]) {
      const a = aupro(Float64Array.from(c.maps), c.masks, c.shape, { fprLimit });
      const b = aupro(f, c.masks, c.shape, { fprLimit });
      t.ok(Math.abs(a - b) < 1e-12, `aupro seed ${seed} @${fprLimit}: ${a} vs ${b}`);
    }
    const p = binaryMetrics(Float64Array.from(c.maps), c.masks);
    const q = binaryMetrics(f, c.masks);
    t.ok(Math.abs(p.auroc - q.auroc) < 1e-12 && Math.abs(p.ap - q.ap) < 1e-12 && p.f1 === q.f1, 'pixel metrics');
  }
});

t.test('a perfect map scores 1', async (t) => {
  for (let seed = 200; seed < 210; seed++) {
    const c = randomCase(seed);
    const perfect = Float32Array.from(c.masks, (m, i) => m * 0.5 + 0.5 + ((i * 7) % 13) / 100);
    for (const connectivity of [4, 8] as const) {
      for (const fprLimit of [0.01, 0.3, 1]) {
        const a = aupro(perfect, c.masks, c.shape, { fprLimit, connectivity });
        t.ok(Math.abs(a - 1) < 1e-12, `aupro @${fprLimit}: ${a} (1 up to float rounding of 1/size sums)`);
      }
    }
    const px = binaryMetrics(perfect, c.masks);
    t.same([px.auroc, px.ap, px.f1], [1, 1, 1]);
  }
});

t.test('AUROC is the Mann-Whitney statistic with ties counted 1/2', async (t) => {
  const rng = new Rng(7);
  for (let r = 0; r < 20; r++) {
    const n = 30;
    const s = Array.from({ length: n }, () => rng.int(0, 6));
    const y = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(0, 2)));
    let wins = 0;
    let P = 0;
    let N = 0;
    for (let i = 0; i < n; i++) if (y[i]) P++; else N++;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (y[i] === 1 && y[j] === 0) wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
    t.ok(Math.abs(binaryMetrics(s, y).auroc - wins / (P * N)) < 1e-12);
  }
});

t.test('region labelling: diagonal squares are one 8-region, two 4-regions', async (t) => {
  // 4x4 mask: (0,0),(1,1) diagonal neighbours
  const m = Uint8Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const labels = new Int32Array(16);
  const stack = new Int32Array(16);
  t.same(labelRegions(m, 0, 4, 4, 8, labels, stack), [0, 2, 1]);
  t.same(labelRegions(m, 0, 4, 4, 4, labels, stack), [0, 1, 1, 1]);
});

t.test('zsad: constant map or a single kept FPR is undefined, not a number', async (t) => {
  const masks = Uint8Array.from([0, 1, 0, 0]);
  t.throws(() => auproZsad(new Float32Array(4), masks, [1, 2, 2]), /every score/);
  t.throws(() => auproZsad(Float32Array.from([0, 1, 0, 0]), masks, [1, 2, 2]), /same FPR/);
});

t.test('radix sort of large Float32Arrays equals the native sort', async (t) => {
  const { sortAscending } = await import('../../src/metrics/sorted.ts');
  const rng = new Rng(11);
  const n = 70000; // above the radix threshold
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    a[i] = r < 0.1 ? 0 : r < 0.15 ? -0 : r < 0.2 ? Math.round(rng.normal() * 4) / 4 : rng.normal() * 10 ** rng.int(-30, 30);
  }
  a[5] = 3.4e38;
  a[6] = -3.4e38;
  a[7] = 1e-45;
  const want = Float32Array.from(a).sort();
  sortAscending(a);
  let same = true;
  for (let i = 0; i < n; i++) if (a[i] !== want[i]) same = false;
  t.ok(same, 'same order (with -0 === 0)');
});
