/**
 * What a person sees: one line per finished node, and progress of long
 * nodes as plain lines when there is no terminal.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sandbox } from './fixtures/helpers.ts';
import { ConsoleReporter, runPipeline } from '../../src/runner/index.ts';
import { nodeLine, rateOf } from '../../src/runner/report.ts';
import { BUILTIN_MODULES } from '../../src/nodes/index.ts';

t.test('rate and ETA', async (t) => {
  t.same(rateOf({ start: 0, done: 30, total: 120, lastPrint: 0 }, 10_000), { perSec: 3, eta: 30 });
});

t.test('node lines: short reason by default, the whole reason with --verbose', async (t) => {
  const rec = {
    id: 'feat',
    type: 'x',
    key: 'k',
    status: 'ran' as const,
    reason: 'param alpha 0.5 -> 0.7',
    seconds: 12.34,
    peakRssMb: 1,
    summary: '3 images',
  };
  t.equal(nodeLine(rec, 6), 'ran     feat      12s  (key changed (--verbose says why))  3 images');
  t.equal(nodeLine(rec, 6, true), 'ran     feat      12s  (param alpha 0.5 -> 0.7)  3 images');
  t.equal(
    nodeLine({ ...rec, status: 'skipped', reason: 'upstream a failed', summary: undefined }, 6),
    'skipped feat    (upstream a failed)',
  );
});

t.test('without a TTY, progress is printed as plain lines', async (t) => {
  const sb = sandbox();
  let out = '';
  const stream = {
    isTTY: false,
    write: (s: string) => ((out += s), true),
  } as unknown as NodeJS.WriteStream;
  const file = sb.write('p.yaml', 'nodes:\n  s: { type: t-sleep, params: { ms: 50 } }\n');
  const r = await runPipeline(file, {
    cacheDir: sb.cacheDir,
    resultsDir: sb.resultsDir,
    reporter: new ConsoleReporter(4, stream, false, 0),
  });
  t.equal(r.status, 'ok');
  const lines = out.trimEnd().split('\n');
  t.equal(lines[0], '  s: 0/10 steps (0.00/s, ETA ?)');
  t.match(lines[1], /^ {2}s: 1\/10 steps \([\d.]+\/s, ETA [\d.]+s\)$/);
  t.match(lines.at(-2), /^ {2}s: 10\/10 steps /);
  t.match(lines.at(-1), /^ran {5}s {3,}[\d.]+s {2}\(not in cache\)$/);
});

t.test('every built-in node module listed in the registry exists', async (t) => {
  const dir = new URL('../../src/nodes/', import.meta.url).pathname;
  for (const m of BUILTIN_MODULES) t.ok(existsSync(join(dir, m)), m);
});
