import t from 'tap';
import { routeTokens, stableSoftmax } from '../../../src/method/routing.ts';
import { gate, gateToken } from '../../../src/method/gating.ts';
import { golden, goldenJson, worstExcess } from './golden.ts';

const TOL = 1e-5;
const cfg = {
  routing: { T: 0.1, useEntropy: true, p: 'routing.p', e: 'routing.e' },
  routing_noent: { T: 0.1, useEntropy: false, p: 'routing.p', e: 'routing.e' },
  routing_T001: { T: 0.01, useEntropy: true, p: 'routing.p', e: 'routing.e' },
  routing_const: { T: 0.1, useEntropy: true, p: 'routing_const.p', e: 'routing_const.e' },
};

for (const [name, c] of Object.entries(cfg)) {
  t.test(`golden ${name}`, async (t) => {
    const g = golden();
    const ref = goldenJson().cases.routing[name];
    const r = routeTokens(g.float32(c.p), g.float32(c.e), g.float32('routing.z'), {
      T: c.T,
      useEntropy: c.useEntropy,
    });
    const got: Record<string, Float32Array> = {
      e_hat: r.eHat, ra: r.ra, rn: r.rn, wa: r.wa, wn: r.wn, t_n: r.tN, t_a_raw: r.tARaw,
    };
    for (const [k, v] of Object.entries(got)) {
      t.ok(worstExcess(v, g.float32(`${name}.${k}`), TOL, TOL) <= 0, `${name}.${k}`);
    }
    t.ok(Math.abs(r.sigmaE - ref.sigma_e) <= 1e-6, `sigma_e ${r.sigmaE}`);
    t.ok(Math.abs(r.pMax - ref.p_max) <= 1e-7, 'p_max');
    const gv = gate(r.pMax, r.sigmaE, { tau: ref.tau, k0: ref.k0, k1: ref.k1, enabled: true });
    t.ok(Math.abs(gv - ref.g) <= 1e-6, `g ${gv} vs ${ref.g}`);
    t.ok(worstExcess(gateToken(r.tARaw, gv), g.float32(`${name}.t_a`), TOL, TOL) <= 0, `${name}.t_a`);
    for (const v of Object.values(got)) t.ok(v.every(Number.isFinite), 'all finite');
  });
}

t.test('gate table of the fixture', async (t) => {
  for (const row of goldenJson().cases.routing['gate_table_tau0.5_k0_5_k1_50']) {
    const g = gate(row.p_max, row.sigma_e);
    t.ok(Math.abs(g - row.g) <= 1e-9 + 1e-7 * row.g, `p_max ${row.p_max} sigma_e ${row.sigma_e}`);
  }
});

t.test('gate by hand', async (t) => {
  const opts = { tau: 0.5, k0: 5, k1: 50, enabled: true };
  t.equal(gate(0.5, 0.7, opts), 0.5, 'p_max = tau gives 0.5 whatever sigma_e');
  t.ok(Math.abs(gate(0.7, 0.1, opts) - 1 / (1 + Math.exp(-0.2 * 10))) < 1e-15, 'x = 0.2 * (5 + 5)');
  t.ok(Math.abs(gate(0.3, 0, opts) - 1 / (1 + Math.exp(1))) < 1e-15, 'x = -0.2 * 5');
  t.equal(gate(0.01, 1, { ...opts, enabled: false }), 1, 'w/o gating: g = 1');
  t.ok(gate(0, 1e6, opts) >= 0 && gate(1, 1e6, opts) === 1, 'no overflow at extreme slopes');
});

t.test('routing softmax on a 3-patch example', async (t) => {
  // e = [0, 1, 2] -> e^ = [0, 0.5, 1] (eps negligible); p = [0.2, 0.5, 1]
  // r^a = p e^ / T = [0, 2.5, 10]; r^n = (1-p)(1-e^)/T = [8, 2.5, 0]
  const z = [1, 0, 0, 1, 1, 1]; // 3 patches, E = 2
  const r = routeTokens([0.2, 0.5, 1], [0, 1, 2], z, { T: 0.1, useEntropy: true });
  const sa = [1, Math.exp(2.5), Math.exp(10)];
  const wa = sa.map((v) => v / (sa[0] + sa[1] + sa[2]));
  const sn = [Math.exp(8), Math.exp(2.5), 1];
  const wn = sn.map((v) => v / (sn[0] + sn[1] + sn[2]));
  t.ok(worstExcess(r.eHat, [0, 0.5, 1], 1e-7) <= 0, 'e^');
  t.ok(worstExcess(r.ra, [0, 2.5, 10], 1e-5) <= 0, 'r^a');
  t.ok(worstExcess(r.rn, [8, 2.5, 0], 1e-5) <= 0, 'r^n');
  t.ok(worstExcess(r.wa, wa, 1e-7) <= 0, 'w^a');
  t.ok(worstExcess(r.wn, wn, 1e-7) <= 0, 'w^n');
  t.ok(worstExcess(r.tARaw, [wa[0] + wa[2], wa[1] + wa[2]], 1e-7) <= 0, 't_a_raw = w^a z');
  t.ok(worstExcess(r.tN, [wn[0] + wn[2], wn[1] + wn[2]], 1e-7) <= 0, 't_n = w^n z');
  t.equal(r.pMax, 1);
  t.ok(Math.abs(r.sigmaE - Math.sqrt(1 / 6)) < 1e-7, 'population std of [0, .5, 1]');
});

t.test('softmax survives logits far past float32 range', async (t) => {
  const w = stableSoftmax([1000, 999, -1000]);
  t.ok(Math.abs(w[0] - 1 / (1 + Math.exp(-1))) < 1e-12);
  t.equal(w[2], 0);
});

t.test('misuse is refused with the reason', async (t) => {
  t.throws(() => routeTokens([0.1, 0.2], [1], [1, 2], { T: 0.1, useEntropy: true }), /e has 1/);
  t.throws(() => routeTokens([0.1, 0.2], [1, 2], [1, 2, 3], { T: 0.1, useEntropy: true }), /multiple of N/);
  t.throws(() => routeTokens([0.1], [1], [1], { T: 0, useEntropy: true }), /T must be > 0/);
});
