/**
 * The runner's own overhead per node: a 500-node DAG of no-op nodes (each
 * reading up to two earlier ones), run cold (every node computed and
 * committed to an empty cache) and again fully cached (every node looked up
 * and its manifest verified). Aim: under 2 ms a node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getNodeType, registerNodeType } from '../src/nodes/index.ts';
import { loadPipeline, runLoaded } from '../src/runner/index.ts';

const N = 500;

if (!getNodeType('bench-noop')) {
  registerNodeType({
    type: 'bench-noop',
    version: '1',
    description: 'does nothing; measures the runner',
    params: { type: 'object', properties: { i: { type: 'integer', default: 0 } }, additionalProperties: false },
    inputs: { a: { kind: 'folder', optional: true }, b: { kind: 'folder', optional: true } },
    outputs: { out: { kind: 'folder' } },
    async run() {},
  });
}

function pipelineText(): string {
  const lines = ['name: bench', 'nodes:'];
  for (let i = 0; i < N; i++) {
    const ins: string[] = [];
    if (i >= 1) ins.push(`a: n${Math.floor(i / 2)}.out`);
    if (i >= 3) ins.push(`b: n${i - 3}.out`);
    const inputs = ins.length ? `, inputs: { ${ins.join(', ')} }` : '';
    lines.push(`  n${i}: { type: bench-noop, params: { i: ${i} }${inputs} }`);
  }
  return lines.join('\n') + '\n';
}

export async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'entroad-bench-runner-'));
  try {
    const file = join(dir, 'bench.yaml');
    writeFileSync(file, pipelineText());
    const opts = { cacheDir: join(dir, 'cache'), resultsDir: join(dir, 'results'), jobs: 4 };

    // The first load pays for JIT warm-up of the YAML parser and module
    // loading; it is reported apart from the steady per-node cost.
    let t0 = performance.now();
    await loadPipeline(file);
    const firstLoad = performance.now() - t0;
    t0 = performance.now();
    const p = await loadPipeline(file);
    const load = performance.now() - t0;

    t0 = performance.now();
    const cold = await runLoaded(p, opts);
    const coldMs = performance.now() - t0;

    t0 = performance.now();
    const warm = await runLoaded(p, opts);
    const warmMs = performance.now() - t0;

    const ran = cold.nodes.filter((n) => n.status === 'ran').length;
    const cached = warm.nodes.filter((n) => n.status === 'cached').length;
    const per = (ms: number) => (ms / N).toFixed(3);
    const row = (what: string, ms: number) =>
      console.log(`  ${what.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${per(ms)} ms/node`);
    console.log(`runner: ${N}-node no-op DAG, -j ${opts.jobs}`);
    row('first load (JIT warm-up)', firstLoad);
    row('load + validate', load);
    row(`cold run (${ran} ran)`, coldMs);
    row(`cached run (${cached} hits)`, warmMs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
