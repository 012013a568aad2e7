import t from 'tap';
import { fuseMaps, fusionWeights, imageScore, scoreMap } from '../../../src/method/fusion.ts';
import { gaussianFilter } from '../../../src/method/gaussian.ts';
import { topCount, topKMean, topPercentMean } from '../../../src/method/topk.ts';
import { golden, goldenJson, worstExcess } from './golden.ts';

const cases = () => goldenJson().cases.fusion;

t.test('top-k count: floor(0.01 H W), at least 1', async (t) => {
  t.equal(topCount(40 * 40), 16);
  t.equal(topCount(518 * 518), 2683);
  t.equal(topCount(518 * 518), cases().topk_518);
  t.equal(topCount(99), 1, '[ours] tiny maps keep the maximum');
});

t.test('top-k mean by hand, ties as a multiset', async (t) => {
  t.equal(topKMean([3, 1, 2, 5, 5], 2), 5);
  t.equal(topKMean([3, 1, 2, 5, 5], 3), 13 / 3);
  t.equal(topKMean([0.5, 0.5, 0.5, 0.1], 2), 0.5);
  t.throws(() => topKMean([1, 2], 3), /outside 1\.\.2/);
});

t.test('top-k selection equals a full sort on random maps with many ties', async (t) => {
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + Math.floor(next() * 3000);
    const levels = 1 + Math.floor(next() * 20); // few distinct values: many ties
    const v = Float32Array.from({ length: n }, () => Math.floor(next() * levels) / levels);
    const k = 1 + Math.floor(next() * n);
    const sorted = Array.from(v).sort((a, b) => b - a);
    const want = sorted.slice(0, k).reduce((s, x) => s + x, 0) / k;
    t.ok(Math.abs(topKMean(v, k) - want) < 1e-12, `n ${n}, k ${k}, ${levels} levels`);
  }
});

t.test('plateau and kth_tie goldens', async (t) => {
  t.ok(Math.abs(topPercentMean(golden().float32('fusion.plateau')) - cases().plateau_top1pct_mean) <= 1e-6);
  t.ok(Math.abs(topPercentMean(golden().float32('fusion.kth_tie')) - cases().kth_tie_top1pct_mean) <= 1e-6);
  t.ok(Math.abs(cases().kth_tie_top1pct_mean - (10 + 6 * Math.fround(0.8)) / 16) < 1e-12);
});

t.test('fusion weights are normalised with eps 1e-8', async (t) => {
  const w = fusionWeights(0.7, 0.3);
  t.ok(Math.abs(w.alpha - 0.7 / (1 + 1e-8)) < 1e-15);
  const w2 = fusionWeights(2, 2);
  t.ok(Math.abs(w2.alpha - 0.5) < 1e-8 && Math.abs(w2.beta - 0.5) < 1e-8, 'any scale');
  t.equal(fusionWeights(1, 0).beta, 0);
  t.throws(() => fusionWeights(-1, 0.5), /must be >= 0/);
});

t.test('one-branch maps ignore beta', async (t) => {
  t.same(Array.from(fuseMaps([0.5, 0.25], null, 0.3, 0.7)), [0.5, 0.25]);
});

t.test('fusion cases: M, Gaussian, a_loc and a', async (t) => {
  const A = golden().float32('fusion.map_a');
  const B = golden().float32('fusion.map_b');
  const M = fuseMaps(A, B, 0.7, 0.3);
  t.ok(worstExcess(M, golden().float32('fusion.M'), 1e-5, 1e-5) <= 0, 'fusion.M');
  const G = gaussianFilter(M, 40, 40, { sigma: 4, precision: 'f64' });
  t.ok(worstExcess(G, golden().float32('fusion.M_gaussian'), 1e-5, 1e-5) <= 0, 'fusion.M_gaussian');

  for (const [name, c] of Object.entries<any>(cases().weight_pairs)) {
    const [, a, b] = /alpha([\d.]+)_beta([\d.]+)/.exec(name)!.map(Number);
    const w = fusionWeights(a, b);
    t.ok(Math.abs(w.alpha - c.alpha_norm) <= 1e-6 && Math.abs(w.beta - c.beta_norm) <= 1e-6, `${name} weights`);
    const fused = fuseMaps(A, B, a, b);
    const aLoc = topPercentMean(fused);
    t.ok(Math.abs(aLoc - c.a_loc) <= 1e-6, `${name} a_loc ${aLoc} vs ${c.a_loc}`);
    t.ok(Math.abs(imageScore(aLoc, cases().a_ret, 0.7) - c.a) <= 1e-6, `${name} a`);
    const s = scoreMap(fused, 40, { sigma: 4, k: 0.7, aRet: cases().a_ret });
    t.ok(Math.abs(s.aLoc - c.a_loc_after_gaussian) <= 1e-6, `${name} a_loc after Gaussian`);
    t.ok(Math.abs(s.score - c.a_after_gaussian) <= 1e-6, `${name} a after Gaussian`);
  }
});
