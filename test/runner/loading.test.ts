/**
 * What a correct pipeline file turns into: `extends` merging, anchors and
 * `<<` merge keys, `${param}` references, overrides typed by the schema,
 * and sweep expansion.
 */
import t from 'tap';
import { sandbox } from './fixtures/helpers.ts';
import { loadPipeline, toOverrides } from '../../src/runner/index.ts';
import { cliSweep, rangeValues } from '../../src/runner/sweep.ts';
import { coerce, splitTopLevel } from '../../src/runner/overrides.ts';

const sb = sandbox();

t.test(
  'extends: maps merge deeply, lists replace, null deletes, name is not inherited',
  async (t) => {
    sb.write(
      'base.yaml',
      `
name: base
params: { alpha: 0.5, tags: [a, b], keep: 1, drop: 2 }
nodes:
  a:
    type: t-write
    params: { text: base, n: 2, layers: [6, 12] }
  b:
    type: t-write
    inputs: { src: a.out }
`,
    );
    const file = sb.write(
      'ablation.yaml',
      `
extends: base.yaml
params: { alpha: 0.9, tags: [c], drop: null }
nodes:
  a:
    params: { layers: [24] }
  b: null
`,
    );
    const p = await loadPipeline(file);
    t.equal(p.name, 'ablation');
    t.same(p.params, { alpha: 0.9, tags: ['c'], keep: 1 });
    t.same(
      p.nodes.map((n) => n.id),
      ['a'],
    );
    t.same(p.byId.get('a')!.params, { text: 'base', n: 2, layers: [24], flag: false, mode: 'a' });
  },
);

t.test('anchors, aliases and << merge keys', async (t) => {
  const file = sb.write(
    'anchors.yaml',
    `
params:
  common: &common
    text: shared
    n: 4
nodes:
  a:
    type: t-write
    params:
      <<: *common
      n: 5
  b:
    type: t-write
    params: *common
`,
  );
  const p = await loadPipeline(file);
  t.same(p.byId.get('a')!.params.text, 'shared');
  t.same(p.byId.get('a')!.params.n, 5);
  t.same(p.byId.get('b')!.params.n, 4);
});

t.test('${param} keeps the type when whole, interpolates inside text', async (t) => {
  const file = sb.write(
    'refs.yaml',
    `
params:
  n: 3
  who: world
  greeting: hello \${who}
  layers: [1, 2]
nodes:
  a:
    type: t-write
    params:
      n: \${n}
      text: "\${greeting} x\${n} $\${literal}"
      layers: \${layers}
  b: { type: t-write, params: { n: \${n}, text: \${who} } }
`,
  );
  const p = await loadPipeline(file);
  t.same(p.byId.get('a')!.params, {
    n: 3,
    text: 'hello world x3 ${literal}',
    layers: [1, 2],
    flag: false,
    mode: 'a',
  });
  t.same(
    p.byId.get('b')!.params,
    { n: 3, text: 'world', layers: [6], flag: false, mode: 'a' },
    'unquoted ${} inside a flow map',
  );
});

t.test('-S values are typed by the schema of the field they land in', async (t) => {
  const file = sb.write(
    'typed.yaml',
    `
params:
  name: run
  n: 1
nodes:
  a:
    type: t-write
    params: { text: "\${name}", n: "\${n}" }
`,
  );
  const p = await loadPipeline(file, {
    overrides: toOverrides([
      'params.name=001',
      'params.n=7',
      'a.flag=false',
      'a.layers=[6,12]',
      'nodes.a.params.mode=b',
    ]),
  });
  const a = p.byId.get('a')!.params;
  t.equal(a.text, '001', 'a string field keeps 001 as text');
  t.equal(a.n, 7);
  t.equal(a.flag, false);
  t.same(a.layers, [6, 12]);
  t.equal(a.mode, 'b');
  t.same(p.overrides, {
    'params.name': '001',
    'params.n': 7,
    'a.flag': false,
    'a.layers': [6, 12],
    'nodes.a.params.mode': 'b',
  });
});

t.test('coercion rules', async (t) => {
  t.same(coerce('6,12', { type: 'array', items: { type: 'integer' } }), [6, 12]);
  t.same(coerce('["a,b", c]', { type: 'array', items: { type: 'string' } }), ['a,b', 'c']);
  t.same(coerce("'x,y'", { type: 'string' }), 'x,y');
  t.same(coerce('0.25', undefined), 0.25, 'untyped: YAML rules');
  t.same(coerce('true', { type: ['number', 'boolean'] }), true);
  t.throws(() => coerce('1.5', { type: 'integer' }), { message: 'expected an integer, got "1.5"' });
  t.same(splitTopLevel('a,[1,2],"x,y"'), ['a', '[1,2]', '"x,y"']);
});

t.test('sweeps: grid, points, ranges, and the command-line form', async (t) => {
  t.same(rangeValues(0, 1, 0.25), [0, 0.25, 0.5, 0.75, 1]);
  t.same(rangeValues(0.1, 0.3, 0.1), [0.1, 0.2, 0.3], 'no float drift');
  const file = sb.write(
    'sweep.yaml',
    `
params: { alpha: 0.5, T: 1 }
nodes:
  a: { type: t-write, params: { n: 1 } }
sweep:
  points: [{ a.text: p }, { a.text: q }]
  grid:
    params.alpha: [0.1, 0.9]
    a.n: { start: 1, stop: 3, step: 1 }
`,
  );
  const p = await loadPipeline(file);
  t.equal(p.sweep.length, 2 * 2 * 3);
  t.same(
    p.sweep[0].map((o) => [o.path, o.value]),
    [
      ['a.text', 'p'],
      ['params.alpha', 0.1],
      ['a.n', 1],
    ],
  );
  const cli = cliSweep(['params.alpha=0.1,0.5', 'a.layers=[6],[6,12]']);
  t.same(
    cli.map((pt) => pt.map((o) => o.text)),
    [
      ['0.1', '[6]'],
      ['0.1', '[6,12]'],
      ['0.5', '[6]'],
      ['0.5', '[6,12]'],
    ],
  );
  t.same(
    cliSweep(['params.T=0:1:0.5']).map((pt) => pt[0].value),
    [0, 0.5, 1],
  );
});
