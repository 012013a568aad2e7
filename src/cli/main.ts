/**
 * The `entroad` command line. Each command group lives in its own file under
 * `commands/` and registers itself on the root program.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import * as runner from './commands/runner.ts';
import * as clip from './commands/clip.ts';
import * as data from './commands/data.ts';
import * as results from './commands/results.ts';
import * as verify from './commands/verify.ts';

export function buildProgram(): Command {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const program = new Command('entroad')
    .description('YAML pipelines for zero-shot anomaly detection (EntroAD)')
    .version(pkg.version)
    .showHelpAfterError();
  runner.register(program); // run, validate, dag, explain, cache
  clip.register(program); // clip info, clip embed
  data.register(program); // data ls, data meta, data generate
  results.register(program); // eval, show, compare, plot
  verify.register(program); // verify
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    process.stderr.write(`entroad: ${err.message}\n`);
    process.exitCode = err.exitCode ?? 1;
  }
}
