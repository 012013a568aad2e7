// The tfjs and onnx engines are interchangeable for a pipeline: the CI
// pipeline computed from scratch with each gives the same metrics within
// 1e-4 (measured: about 2e-6; the features themselves agree within the
// goldens' 1e-4, which is why the engine is not part of their cache key).
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runPipeline, silentReporter } from '../../src/runner/index.ts';
import { flattenMetrics } from '../../src/experiments/verify.ts';
import type { MetricsFile } from '../../src/metrics/types.ts';

const repo = resolve(import.meta.dirname, '../..');

async function metricsWith(engine: string) {
  const dir = mkdtempSync(join(tmpdir(), `engine-${engine}-`));
  const run = await runPipeline(join(repo, 'pipelines/ci.yaml'), {
    overrides: [`params.engine=${engine}`],
    cacheDir: join(dir, 'cache'),
    resultsDir: join(dir, 'results'),
    reporter: silentReporter,
  });
  const features = run.nodes.find((n) => n.id === 'aux_features');
  return { run, features, metrics: flattenMetrics(JSON.parse(readFileSync(join(run.dir, 'metrics.json'), 'utf8')) as MetricsFile) };
}

t.test('the CI pipeline gives the same metrics on the tfjs and the onnx engine', async (t) => {
  const a = await metricsWith('tfjs');
  const b = await metricsWith('onnx');
  t.equal(a.run.status, 'ok');
  t.equal(b.run.status, 'ok');
  t.match(a.features?.summary, /tfjs engine/);
  t.match(b.features?.summary, /onnx engine/);
  t.equal(a.features?.key, b.features?.key, 'the engine does not enter the feature cache key');
  t.same([...a.metrics.keys()].sort(), [...b.metrics.keys()].sort());
  for (const [path, va] of a.metrics) {
    const vb = b.metrics.get(path);
    if (va === null || vb === null || vb === undefined) t.equal(vb, va, path);
    else t.ok(Math.abs(va - vb) <= 1e-4, `${path}: tfjs ${va} vs onnx ${vb}`);
  }
});
