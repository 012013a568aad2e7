/**
 * Every way a pipeline file can be wrong, and the exact message a user gets:
 * file:line:column, the node, and what to do. Lines and columns were counted
 * by hand in the YAML texts below (1-based).
 */
import t from 'tap';
import { sandbox } from './fixtures/helpers.ts';
import { loadPipeline, PipelineError } from '../../src/runner/index.ts';

const sb = sandbox();

async function errorsOf(name: string, text: string, overrides: string[] = []): Promise<string[]> {
  const file = sb.write(name, text);
  const { toOverrides } = await import('../../src/runner/index.ts');
  try {
    await loadPipeline(file, { overrides: toOverrides(overrides) });
  } catch (e) {
    if (e instanceof PipelineError)
      return e.message.split('\n').map((l) => l.replaceAll(sb.dir + '/', ''));
    throw e;
  }
  return [];
}

t.test('duplicate key', async (t) => {
  const errs = await errorsOf(
    'dup.yaml',
    `
nodes:
  a:
    type: t-write
    type: t-sleep
`,
  );
  t.same(errs, [
    'dup.yaml:4:5: duplicate key (each key may appear once in a map; remove or rename one)',
  ]);
});

t.test('YAML syntax error: the first one only (the rest would be its echoes)', async (t) => {
  const errs = await errorsOf(
    'syntax.yaml',
    `
nodes:
  a: { type: t-write, params: [1, 2 }
  b: { type: t-write }
`,
  );
  t.equal(errs.length, 1);
  t.match(errs[0], /^syntax\.yaml:2:\d+: YAML syntax: /);
});

t.test('unknown node type', async (t) => {
  const errs = await errorsOf(
    'type.yaml',
    `
nodes:
  a:
    type: t-wrte
`,
  );
  t.equal(errs.length, 1);
  t.match(
    errs[0],
    /^type\.yaml:3:11: node "a": unknown node type "t-wrte" \(known types: .*t-write.*\)$/,
  );
});

t.test('unknown param, mistyped param, enum, missing type, unknown field', async (t) => {
  const errs = await errorsOf(
    'params.yaml',
    `
nodes:
  a:
    type: t-write
    params:
      txet: hi
      n: many
      mode: c
  b:
    params: {}
  c:
    type: t-write
    parms: {}
`,
  );
  t.same(errs, [
    'params.yaml:5:7: node "a": unknown param "txet" for type "t-write" (params: text, n, flag, layers, mode)',
    'params.yaml:6:10: node "a": param "n" must be integer (got "many")',
    'params.yaml:7:13: node "a": param "mode" must be one of "a", "b" (got "c")',
    'params.yaml:8:3: node "b": missing "type:" (known types: t-consume, t-fail, t-list, t-metrics, t-noop, t-sleep, t-write)',
    'params.yaml:12:5: node "c": unknown field "parms" (expected type, params, inputs, description)',
  ]);
});

t.test('missing required param and missing input', async (t) => {
  const errs = await errorsOf(
    'req.yaml',
    `
nodes:
  list:
    type: t-list
  use:
    type: t-consume
`,
  );
  t.same(errs, [
    'req.yaml:2:3: node "list": missing required param "root" for type "t-list"',
    'req.yaml:4:3: node "use": missing input "data" (kind dataset); connect it as inputs: { data: <node>.<port> }',
  ]);
});

t.test(
  'inputs: unknown node, unknown port, wrong kind, bad form, list to single port',
  async (t) => {
    const errs = await errorsOf(
      'ports.yaml',
      `
nodes:
  a:
    type: t-write
  b:
    type: t-write
    inputs: { src: nope.out }
  c:
    type: t-write
    inputs: { src: a.folder }
  d:
    type: t-consume
    inputs: { data: a.out }
  e:
    type: t-write
    inputs: { src: a }
  f:
    type: t-write
    inputs:
      src: [a.out]
      source: a.out
`,
    );
    t.same(errs, [
      'ports.yaml:15:20: node "e": input "a" must be written <node>.<output port>',
      'ports.yaml:19:12: node "f": input "src" takes one artifact, not a list',
      'ports.yaml:20:7: node "f": type "t-write" has no input port "source" (ports: src)',
      'ports.yaml:6:20: node "b": input "src" names node "nope", which is not in the pipeline (nodes: a, b, c, d, e, f)',
      'ports.yaml:9:20: node "c": input "src" names output "a.folder", but type "t-write" has outputs: out',
      'ports.yaml:12:21: node "d": input "data" expects kind dataset, but a.out is kind folder',
    ]);
  },
);

t.test('cycle', async (t) => {
  const errs = await errorsOf(
    'cycle.yaml',
    `
nodes:
  a:
    type: t-write
    inputs: { src: c.out }
  b:
    type: t-write
    inputs: { src: a.out }
  c:
    type: t-write
    inputs: { src: b.out }
`,
  );
  t.same(errs, [
    'cycle.yaml:4:20: node "a": cycle: a -> b -> c -> a (a node cannot depend on its own output)',
  ]);
});

t.test('unknown reference, unknown top-level field, empty nodes', async (t) => {
  t.same(
    await errorsOf(
      'ref.yaml',
      `
params:
  alpha: 0.5
nodes:
  a:
    type: t-write
    params:
      text: \${alhpa}
`,
    ),
    ['ref.yaml:7:13: node "a": unknown parameter reference ${alhpa} (top-level params: alpha)'],
  );
  t.same(
    await errorsOf(
      'top.yaml',
      `
node:
  a: { type: t-write }
`,
    ),
    [
      'top.yaml:1:1: unknown top-level field "node" (expected name, description, extends, params, nodes, sweep, metrics)',
    ],
  );
  t.same(await errorsOf('empty.yaml', 'params: {}\n'), [
    'empty.yaml:1:1: a pipeline needs a `nodes:` map of node id -> {type, params, inputs}',
  ]);
});

t.test(
  'extends: missing parent, loop, and errors located in the file that wrote them',
  async (t) => {
    t.same(await errorsOf('orphan.yaml', 'extends: gone.yaml\n'), [
      'orphan.yaml:1:10: extends: cannot find gone.yaml (paths are relative to this file)',
    ]);
    sb.write('loop-a.yaml', 'extends: loop-b.yaml\n');
    t.same(await errorsOf('loop-b.yaml', 'extends: loop-a.yaml\n'), [
      'loop-a.yaml:1:10: extends loop-b.yaml makes a loop (loop-b.yaml -> loop-a.yaml -> loop-b.yaml)',
    ]);
    sb.write(
      'base.yaml',
      `
nodes:
  a:
    type: t-write
    params: { n: 3 }
`,
    );
    const errs = await errorsOf(
      'child.yaml',
      `
extends: base.yaml
nodes:
  a:
    params: { text: 7 }
`,
    );
    t.same(errs, ['child.yaml:4:21: node "a": param "text" must be string (got 7)']);
  },
);

t.test('override errors name the flag, the node and the expected type', async (t) => {
  const text = `
nodes:
  a:
    type: t-write
`;
  t.same(await errorsOf('ov.yaml', text, ['a.flag=maybe']), [
    '--set a.flag=maybe: node "a": param "flag": expected a boolean (true or false), got "maybe"',
  ]);
  t.same(await errorsOf('ov.yaml', text, ['a.layers=[6,x]']), [
    '--set a.layers=[6,x]: node "a": param "layers": expected a list of integers like [6,12], got "[6,x]"',
  ]);
  t.same(await errorsOf('ov.yaml', text, ['zz.n=1']), [
    '--set zz.n=1: "zz.n" is neither params.<name> nor <node>.<param> (nodes: a)',
  ]);
  t.same(await errorsOf('ov.yaml', text, ['a.nn=1']), [
    '--set a.nn=1: node "a": unknown param "nn" for type "t-write" (params: text, n, flag, layers, mode)',
  ]);
});

t.test('an override or sweep point naming an undeclared top-level param is an error', async (t) => {
  const text = `
params: { alpha: 0.5 }
nodes:
  a: { type: t-write }
`;
  t.same(await errorsOf('undeclared.yaml', text, ['params.alhpa=0.1']), [
    '--set params.alhpa=0.1: no top-level param "alhpa" (params: alpha); declare it under params: first',
  ]);
  const file = sb.write('sweep-typo.yaml', text + 'sweep:\n  grid: { a.nn: [1, 2] }\n');
  const { runSweep } = await import('../../src/runner/index.ts');
  const err = await runSweep(file, { cacheDir: sb.dir + '/c', resultsDir: sb.dir + '/r' }).catch(
    (e: Error) => e,
  );
  t.equal(
    (err as Error).message.replaceAll(sb.dir + '/', ''),
    'sweep a.nn=1 (sweep-typo.yaml:5:18): node "a": unknown param "nn" for type "t-write" (params: text, n, flag, layers, mode)',
    'a bad sweep point fails before any point runs',
  );
  t.equal(sb.count(), 0);
});
