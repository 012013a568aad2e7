/**
 * `npm run bench [area...]`: runs the benchmark of each area in turn and
 * prints its figures. Speed is measured here, never in tests.
 * Areas: runner, clip, engines, metrics, method-stage1, method-stage2.
 */
import { existsSync } from 'node:fs';

const AREAS = ['runner', 'metrics', 'clip', 'engines', 'method-stage1', 'method-stage2'];

const wanted = process.argv.slice(2);
const areas = wanted.length ? wanted : AREAS;
for (const area of areas) {
  const file = new URL(`./${area}.ts`, import.meta.url);
  if (!existsSync(file)) {
    console.log(`\n== ${area}: no benchmark file`);
    continue;
  }
  console.log(`\n== ${area}`);
  const t0 = performance.now();
  const mod = (await import(file.href)) as { bench: () => Promise<void> };
  await mod.bench();
  console.log(`(${area} bench took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
