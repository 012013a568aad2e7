/**
 * The runner's own overhead per node: a 500-node DAG of no-op nodes (each
 * reading up to two earlier ones), run cold (every node computed and
 * committed to an empty cache) and again fully cached (every node looked up
 * and its manifest verified). Aim: under 2 ms a node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getNodeType, loadBuiltinNodeTypes, registerNodeType } from '../src/nodes/index.ts';
import { loadPipeline, runLoaded } from '../src/runner/index.ts';

const N = 500;

if (!getNodeType('bench-noop')) {
  registerNodeType({
    type: 'bench-noop',
    version: '1',
    description: 'does nothing; measures the runner',
    params: {
      type: 'object',
      properties: { i: { type: 'integer', default: 0 } },
      additionalProperties: false,
    },
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

    await loadBuiltinNodeTypes(); // importing the node modules is not runner overhead
    // The first load pays for JIT warm-up of the YAML parser and module
    // loading; it is reported apart from the steady per-node cost.
    // Wall time on a shared machine swings with its load; CPU time (user +
    // system of this process) is what the runner itself spends.
    const timed = async <T>(f: () => Promise<T>): Promise<[T, number, number]> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await f();
      const c = process.cpuUsage(c0);
      return [r, performance.now() - t0, (c.user + c.system) / 1000];
    };
    const [, firstLoad, firstLoadCpu] = await timed(() => loadPipeline(file));
    const [p, load, loadCpu] = await timed(() => loadPipeline(file));
    const [cold, coldMs, coldCpu] = await timed(() => runLoaded(p, opts));
    const [warm, warmMs, warmCpu] = await timed(() => runLoaded(p, opts));

    const ran = cold.nodes.filter((n) => n.status === 'ran').length;
    const cached = warm.nodes.filter((n) => n.status === 'cached').length;
    const per = (ms: number) => (ms / N).toFixed(3);
    const row = (what: string, ms: number, cpu: number) =>
      console.log(
        `  ${what.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms wall  ${per(ms)} ms/node` +
          `   ${cpu.toFixed(0).padStart(6)} ms cpu  ${per(cpu)} ms/node`,
      );
    console.log(`runner: ${N}-node no-op DAG, -j ${opts.jobs}`);
    row('first load (JIT warm-up)', firstLoad, firstLoadCpu);
    row('load + validate', load, loadCpu);
    row(`cold run (${ran} ran)`, coldMs, coldCpu);
    row(`cached run (${cached} hits)`, warmMs, warmCpu);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
