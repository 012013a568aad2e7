/**
 * `entroad verify EXPERIMENT` (recorded metrics still hold) and
 * `entroad experiment EXPERIMENT` (run several pipelines, print one table).
 */
import type { Command } from 'commander';
import { loadExperiment } from '../../experiments/experiment.ts';
import { renderVerifyTable, verifyExperiment } from '../../experiments/verify.ts';
import { runExperiment } from '../../experiments/compare.ts';

export function register(program: Command): void {
  program
    .command('verify')
    .description('re-run a pipeline over its committed cache fixture and compare every metric with the recorded values')
    .argument('<experiment>', 'experiment file with pipeline, fixture and recorded metrics (e.g. experiments/ci.yaml)')
    .option('--record', 'run and (re)write the fixture and the recorded values instead of checking them')
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu')
    .option('--engine <name>', 'frozen-encoder engine: tfjs | onnx')
    .action(async (file: string, o: { record?: boolean; backend?: string; engine?: string }) => {
      const exp = loadExperiment(file);
      const r = await verifyExperiment(exp, o);
      if (o.record) {
        console.log(`recorded ${file}: fixture ${exp.fixture ?? '(none)'} and its metric values`);
        return;
      }
      console.log(renderVerifyTable(r.rows));
      for (const p of r.problems) console.log(`problem: ${p}`);
      const breaches = r.rows.filter((x) => !x.ok).length;
      console.log(
        r.ok
          ? `verify ${exp.name}: all ${r.rows.length} metrics within tolerance`
          : `verify ${exp.name}: FAILED (${breaches} of ${r.rows.length} metrics out of tolerance, ${r.problems.length} other problems)`,
      );
      if (!r.ok) process.exitCode = 1;
    });

  program
    .command('experiment')
    .description('run every pipeline of an experiment file (e.g. the ablations) and print the comparison table')
    .argument('<experiment>', 'experiment file with `runs:` (e.g. experiments/ablation.yaml)')
    .option('-j, --jobs <n>', 'concurrent nodes per run', (v) => Number(v), 1)
    .option('--md', 'Markdown table')
    .option('--csv', 'CSV table')
    .option('--json', 'JSON table')
    .option('--backend <name>', 'tfjs backend: auto | wasm | tensorflow | cpu')
    .option('--engine <name>', 'frozen-encoder engine: tfjs | onnx')
    .action(async (file: string, o: Record<string, any>) => {
      const format = o.md ? 'md' : o.csv ? 'csv' : o.json ? 'json' : 'text';
      const ok = await runExperiment(loadExperiment(file), { format, jobs: o.jobs, backend: o.backend, engine: o.engine });
      if (!ok) process.exitCode = 1;
    });
}
