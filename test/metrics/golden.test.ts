// Every case of the metrics fixture (test/fixtures/metrics, copied from the
// shared golden fixtures) within its stated tolerance of 1e-6.
import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  aupro,
  auproZsad,
  binaryMetrics,
  auroc,
  averagePrecision,
  f1Max,
  MetricInputError,
  MetricUndefinedError,
} from '../../src/metrics/index.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), 'utf8'));
const cases = fixture('cases.json');
const variants = fixture('aupro_variants.json');
const TOL = 1e-6;

t.equal(cases.tolerances.aupro, TOL, 'fixture tolerance is what this test uses');

const close = (t: { ok: (v: boolean, m: string) => unknown }, got: number, want: number, msg: string) =>
  t.ok(Math.abs(got - want) <= TOL, `${msg}: got ${got}, want ${want}`);

for (const c of cases.cases) {
  t.test(c.id, async (t) => {
    const [n, h, w] = c.shape;
    for (const kind of ['float64', 'float32'] as const) {
      const maps = kind === 'float32' ? Float32Array.from(c.maps) : Float64Array.from(c.maps);
      const masks = Uint8Array.from(c.masks);

      const img = binaryMetrics(c.image_scores, c.image_labels);
      close(t, img.auroc, c.expected.image.auroc, `${kind} image auroc`);
      close(t, img.ap, c.expected.image.ap, `${kind} image ap`);
      close(t, img.f1, c.expected.image.f1_max, `${kind} image f1`);
      t.equal(img.threshold, c.expected.image.f1_max_threshold, 'image f1 threshold exact');

      const px = binaryMetrics(maps, masks);
      close(t, px.auroc, c.expected.pixel.auroc, `${kind} pixel auroc`);
      close(t, px.ap, c.expected.pixel.ap, `${kind} pixel ap`);
      close(t, px.f1, c.expected.pixel.f1_max, `${kind} pixel f1`);
      const want = c.expected.pixel.f1_max_threshold;
      t.equal(px.threshold, kind === 'float32' ? Math.fround(want) : want, `${kind} pixel f1 threshold`);

      for (const e of c.expected.aupro) {
        const got = aupro(maps, masks, [n, h, w], { fprLimit: e.fpr_limit, connectivity: e.connectivity });
        close(t, got, e.value, `${kind} aupro conn${e.connectivity} @${e.fpr_limit}`);
      }
    }
    // image maxima of the maps are the fixture's image scores
    const maxes = Array.from({ length: n }, (_, k) => Math.max(...c.maps.slice(k * h * w, (k + 1) * h * w)));
    t.same(maxes, c.image_scores);
  });
}

t.test('aupro_zsad reproduces cal_pro_score (200 steps) on every case', async (t) => {
  for (const r of variants.results) {
    const c = cases.cases.find((x: { id: string }) => x.id === r.id);
    if (!c) continue;
    const cal = r.variants.filter((v: { variant: string }) => v.variant === 'cal_pro_score_200');
    t.ok(cal.length >= 2, `${r.id} has cal_pro_score values`);
    for (const v of cal) {
      const got = auproZsad(Float64Array.from(c.maps), Uint8Array.from(c.masks), c.shape, {
        fprLimit: v.fpr_limit,
        connectivity: v.connectivity,
      });
      close(t, got, v.value, `${r.id} zsad @${v.fpr_limit}`);
      const g32 = auproZsad(Float32Array.from(c.maps), Uint8Array.from(c.masks), c.shape, {
        fprLimit: v.fpr_limit,
      });
      close(t, g32, v.value, `${r.id} zsad float32 maps @${v.fpr_limit}`);
    }
  }
});

t.test('image vectors: ties and orientation', async (t) => {
  for (const v of cases.image_vectors) {
    close(t, auroc(v.scores, v.labels), v.expected.auroc, `${v.id} auroc`);
    close(t, averagePrecision(v.scores, v.labels), v.expected.ap, `${v.id} ap`);
    const f = f1Max(v.scores, v.labels);
    close(t, f.f1, v.expected.f1_max, `${v.id} f1`);
    t.equal(f.threshold, v.expected.f1_max_threshold, `${v.id} f1 threshold`);
  }
});

const invalid = (id: string) => cases.invalid_cases.find((x: { id: string }) => x.id === id);

t.test('e1: single-class image labels', async (t) => {
  const c = invalid('e1_image_labels_single_class');
  t.throws(() => auroc(c.image_scores, c.image_labels), MetricUndefinedError, 'image auroc rejected');
  t.throws(() => averagePrecision(c.image_scores, c.image_labels), MetricUndefinedError);
  t.throws(() => f1Max(c.image_scores, c.image_labels), MetricUndefinedError);
  // must_accept: pixel metrics and AUPRO
  const px = binaryMetrics(c.maps, c.masks);
  close(t, px.auroc, c.expected.pixel.auroc, 'pixel auroc');
  close(t, px.ap, c.expected.pixel.ap, 'pixel ap');
  close(t, px.f1, c.expected.pixel.f1_max, 'pixel f1');
  t.equal(px.threshold, c.expected.pixel.f1_max_threshold);
  for (const e of c.expected.aupro) {
    close(t, aupro(c.maps, c.masks, c.shape, { fprLimit: e.fpr_limit, connectivity: e.connectivity }), e.value,
      `aupro conn${e.connectivity} @${e.fpr_limit}`);
  }
});

t.test('e2: no anomalous pixels', async (t) => {
  const c = invalid('e2_no_anomalous_pixels');
  t.throws(() => auroc(c.image_scores, c.image_labels), MetricUndefinedError);
  t.throws(() => averagePrecision(c.image_scores, c.image_labels), MetricUndefinedError);
  t.throws(() => f1Max(c.image_scores, c.image_labels), MetricUndefinedError);
  t.throws(() => binaryMetrics(c.maps, c.masks), MetricUndefinedError, 'pixel metrics');
  t.throws(() => aupro(c.maps, c.masks, c.shape), /no anomalous region/, 'no fake 0.15');
  t.throws(() => auproZsad(c.maps, c.masks, c.shape), MetricUndefinedError);
});

t.test('e3: NaN and Infinity', async (t) => {
  const c = invalid('e3_nan_in_scores');
  const maps = Float32Array.from(c.maps.map((v: number | null) => (v === null ? NaN : v)));
  const masks = Uint8Array.from(c.masks);
  t.throws(() => binaryMetrics(maps, masks), MetricInputError);
  t.throws(() => aupro(maps, masks, c.shape), /index 597 \(image 2, row 5, column 5\)/);
  t.throws(() => auproZsad(maps, masks, c.shape), MetricInputError);
  const [, h, w] = c.shape;
  const imageMax = [0, 1, 2, 3].map((k) => Math.max(...maps.slice(k * h * w, (k + 1) * h * w)));
  t.throws(() => auroc(imageMax, [0, 1, 1, 1]), MetricInputError, 'image score NaN');
  for (const bad of [Infinity, -Infinity]) {
    const m2 = Float32Array.from(maps);
    m2[597] = bad;
    t.throws(() => binaryMetrics(m2, masks), /non-finite/);
    t.throws(() => aupro(m2, masks, c.shape), /non-finite/);
  }
});

t.test('e4: shape mismatches', async (t) => {
  const a = invalid('e4a_shape_mismatch');
  t.throws(() => binaryMetrics(a.maps, a.masks), MetricInputError, 'length differs');
  t.throws(() => aupro(a.maps, a.masks, a.map_shape), MetricInputError);
  t.throws(() => aupro(a.maps, a.masks, a.map_shape, { maskShape: a.mask_shape }), /width W differs/);

  const b = invalid('e4b_same_size_different_shape');
  t.throws(() => aupro(b.maps, b.masks, b.map_shape, { maskShape: b.mask_shape }), /height H differs/);
  t.throws(() => auproZsad(b.maps, b.masks, b.map_shape, { maskShape: b.mask_shape }), MetricInputError);

  const c = invalid('e4c_image_count_mismatch');
  t.throws(() => binaryMetrics(c.maps, c.masks), MetricInputError);
  t.throws(() => aupro(c.maps, c.masks, c.map_shape), MetricInputError);
  t.throws(() => aupro(c.maps, c.masks, c.map_shape, { maskShape: c.mask_shape }), /image count N differs/);
});

t.test('e5: non-binary masks rejected; binarised masks match', async (t) => {
  const c = invalid('e5_non_binary_mask_jpeg_like');
  const raw = Uint8Array.from(c.masks_raw_uint8);
  t.throws(() => binaryMetrics(c.maps, raw), /only 0 and 1/);
  t.throws(() => aupro(c.maps, raw, c.shape), /only 0 and 1/);
  t.throws(() => auproZsad(c.maps, raw, c.shape), MetricInputError);
  const rules: Record<string, (v: number) => number> = {
    gt127: (v) => (v > 127 ? 1 : 0),
    gt0: (v) => (v > 0 ? 1 : 0),
    eq255: (v) => (v === 255 ? 1 : 0),
  };
  for (const [rule, f] of Object.entries(rules)) {
    const e = c.expected_after_binarisation[rule];
    const m = raw.map(f);
    t.equal(m.reduce((a: number, b: number) => a + b, 0), e.num_anomalous_pixels, `${rule} pixel count`);
    const px = binaryMetrics(c.maps, m);
    close(t, px.auroc, e.pixel.auroc, `${rule} pixel auroc`);
    close(t, px.ap, e.pixel.ap, `${rule} pixel ap`);
    close(t, px.f1, e.pixel.f1_max, `${rule} pixel f1`);
    for (const a of e.aupro) {
      close(t, aupro(c.maps, m, c.shape, { fprLimit: a.fpr_limit, connectivity: a.connectivity }), a.value,
        `${rule} aupro conn${a.connectivity} @${a.fpr_limit}`);
    }
  }
});

t.test('e6: empty input', async (t) => {
  t.throws(() => auroc([], []), /empty/);
  t.throws(() => averagePrecision(new Float32Array(0), new Uint8Array(0)), /empty/);
  t.throws(() => aupro([], [], [0]), MetricInputError);
  t.throws(() => aupro([], [], [0, 4, 4]), MetricInputError);
});

t.test('e7: bad FPR limit', async (t) => {
  const c = cases.cases[0];
  for (const limit of invalid('e7_bad_fpr_limit').fpr_limits) {
    t.throws(() => aupro(c.maps, c.masks, c.shape, { fprLimit: limit }), /fprLimit/, `limit ${limit}`);
    t.throws(() => auproZsad(c.maps, c.masks, c.shape, { fprLimit: limit }), /fprLimit/, `zsad limit ${limit}`);
  }
  t.throws(() => aupro(c.maps, c.masks, c.shape, { fprLimit: NaN }), /fprLimit/);
  t.throws(() => aupro(c.maps, c.masks, c.shape, { connectivity: 6 as 8 }), /connectivity/);
});

t.test('pro curve of case a matches the fixture at its points', async (t) => {
  // The integral to each FPR of the exact curve equals the fixture's curve integral.
  const c = cases.cases[0];
  const curve = c.pro_curve_conn8;
  t.ok(curve && curve.fpr.length > 10, 'fixture has the curve');
  for (const limit of [0.05, 0.1, 0.2, 0.5]) {
    let area = 0;
    const x = [0, ...curve.fpr, 1];
    const y = [0, ...curve.pro, 1];
    for (let i = 1; i < x.length; i++) {
      if (x[i] <= limit) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
      else {
        const yi = y[i - 1] + ((y[i] - y[i - 1]) * (limit - x[i - 1])) / (x[i] - x[i - 1]);
        area += ((limit - x[i - 1]) * (yi + y[i - 1])) / 2;
        break;
      }
    }
    close(t, aupro(c.maps, c.masks, c.shape, { fprLimit: limit }), area / limit, `limit ${limit}`);
  }
});
