/**
 * `entroad data ls|meta|generate`: inspect a benchmark folder, write its
 * meta.json, or generate the synthetic benchmark.
 */
import { writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { listDataset, countByCategory } from '../../data/adapters/index.ts';
import { FORMATS, type DatasetFormat, type Listing } from '../../data/listing.ts';
import { HashIndex } from '../../data/hash-index.ts';
import { relPosix } from '../../data/manifest.ts';
import { findDuplicates, crossDatasetDuplicates, type DuplicateGroup } from '../../data/duplicates.ts';
import { formatMetaJson, toMetaJson } from '../../data/meta-json.ts';
import { generateBenchmark } from '../../data/synthetic/generate.ts';

const formatOption = () =>
  new Option('--format <format>', 'benchmark layout').choices([...FORMATS]).makeOptionMandatory();

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function intArg(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

/** Hash the images of a listing that exist (missing files are problems already). */
async function hashed(l: Listing, label: string, index: HashIndex) {
  const samples: { id: string; imageHash: string }[] = [];
  for (const s of l.samples) {
    if (!existsSync(s.image)) continue;
    const e = await index.get(s.image);
    samples.push({ id: `${label}:${s.category}/${relPosix(l.root, s.image)}`, imageHash: e.sha256 });
  }
  return { dataset: label, samples };
}

function printGroups(title: string, groups: DuplicateGroup[], write: (s: string) => void, max = 20): void {
  if (groups.length === 0) return;
  const extra = groups.reduce((n, g) => n + g.members.length - 1, 0);
  write(`${title}: ${groups.length} group(s) of byte-identical images (${extra} extra copies)\n`);
  for (const g of groups.slice(0, max)) write(`  ${g.members.map((m) => m.id).join(' == ')}\n`);
  if (groups.length > max) write(`  ... and ${groups.length - max} more group(s)\n`);
}

function printProblems(l: Listing, write: (s: string) => void, max = 10): void {
  if (l.problems.length === 0) return;
  write(`${l.problems.length} problem(s) (the dataset node would refuse this folder):\n`);
  for (const p of l.problems.slice(0, max)) write(`  ${p.file}: ${p.message}\n`);
  if (l.problems.length > max) write(`  ... and ${l.problems.length - max} more\n`);
}

export function register(program: Command): void {
  const data = program.command('data').description('benchmark folders: list, write meta.json, generate');

  data
    .command('ls <root>')
    .description('counts of normal images, anomalous images and masks per category')
    .addOption(formatOption())
    .addOption(new Option('--split <split>', 'which split').choices(['train', 'test']).default('test'))
    .option('--json', 'print {"categories": {NAME: {"normal", "anomalous", "masks"}}} only')
    .option('--categories <list>', 'comma-separated categories to keep')
    .option('--with <format=root>', 'also compare with another dataset for duplicates (repeatable)', collect, [])
    .option('--no-dupes', 'skip hashing (no duplicate report)')
    .option('--check', 'exit with status 1 when the folder has problems the dataset node would refuse')
    .action(async (root: string, o) => {
      const opts = { split: o.split, categories: o.categories?.split(',').filter(Boolean) };
      const listing = listDataset(o.format as DatasetFormat, root, opts);
      const counts = countByCategory(listing);
      const out = (s: string) => process.stdout.write(s);
      // With --json, stdout carries the JSON alone; the report goes to stderr.
      const report = o.json ? (s: string) => process.stderr.write(s) : out;

      if (o.json) {
        out(JSON.stringify({ categories: counts }) + '\n');
      } else {
        out(`${o.format} at ${listing.root} (${listing.split} split)\n`);
        const rows = Object.entries(counts);
        const w = Math.max(8, ...rows.map(([c]) => c.length));
        out(`${'category'.padEnd(w)}  normal  anomalous  masks\n`);
        const total = { normal: 0, anomalous: 0, masks: 0 };
        for (const [c, n] of rows) {
          out(`${c.padEnd(w)}  ${String(n.normal).padStart(6)}  ${String(n.anomalous).padStart(9)}  ${String(n.masks).padStart(5)}\n`);
          total.normal += n.normal;
          total.anomalous += n.anomalous;
          total.masks += n.masks;
        }
        out(`${'total'.padEnd(w)}  ${String(total.normal).padStart(6)}  ${String(total.anomalous).padStart(9)}  ${String(total.masks).padStart(5)}\n`);
        if (!listing.hasMasks) out('no masks by design: image-level metrics only\n');
      }
      for (const n of listing.notes) report(`note: ${n}\n`);
      printProblems(listing, report);
      if (o.check && listing.problems.length) {
        throw new Error(`${listing.root}: ${listing.problems.length} problem(s) (listed above); the dataset node would refuse this folder`);
      }

      if (o.dupes) {
        const index = HashIndex.shared();
        const sets = [await hashed(listing, o.format, index)];
        for (const spec of o.with as string[]) {
          const [fmt, ...rest] = spec.split('=');
          if (!FORMATS.includes(fmt as DatasetFormat) || rest.length === 0) {
            throw new Error(`--with expects FORMAT=ROOT with FORMAT one of ${FORMATS.join(', ')}, got "${spec}"`);
          }
          const other = listDataset(fmt as DatasetFormat, rest.join('='), { split: o.split });
          sets.push(await hashed(other, `${fmt}@${resolve(rest.join('='))}`, index));
        }
        index.save();
        printGroups('duplicates within the dataset', findDuplicates([sets[0]]), report);
        if (sets.length > 1) printGroups('duplicates across datasets', crossDatasetDuplicates(findDuplicates(sets)), report);
      }
    });

  data
    .command('meta <root>')
    .description('write an AnomalyCLIP-style meta.json for a supported layout')
    .addOption(formatOption())
    .option('--out <file>', 'where to write (default: <root>/meta.json)')
    .option('--force', 'write even when the folder has problems (missing files or masks)')
    .action((root: string, o) => {
      const format = o.format as DatasetFormat;
      const train = listDataset(format, root, { split: 'train' });
      const test = listDataset(format, root, { split: 'test' });
      const problems = [...train.problems, ...test.problems];
      if (problems.length && !o.force) {
        printProblems({ ...test, problems }, (s) => process.stderr.write(s));
        throw new Error(`not writing meta.json for ${test.root}: fix the problems above or pass --force`);
      }
      const file = resolve(o.out ?? join(test.root, 'meta.json'));
      writeFileSync(file, formatMetaJson(toMetaJson(train, test)));
      process.stdout.write(`wrote ${file}: train ${train.samples.length}, test ${test.samples.length} samples\n`);
    });

  data
    .command('generate <out>')
    .description('generate the synthetic benchmark (textures, objects, medical) in the MVTec AD layout')
    .option('--seed <n>', 'seed', intArg('--seed'), 0)
    .option('--size <px>', 'image side', intArg('--size'), 128)
    .option('--train-good <n>', 'normal training images per category', intArg('--train-good'))
    .option('--test-good <n>', 'normal test images per category', intArg('--test-good'))
    .option('--test-anomalous <n>', 'anomalous test images per category', intArg('--test-anomalous'))
    .action(async (out: string, o) => {
      const perCategory = Object.fromEntries(
        [['train_good', o.trainGood], ['test_good', o.testGood], ['test_anomalous', o.testAnomalous]].filter(
          ([, v]) => v !== undefined,
        ),
      );
      const info = await generateBenchmark(resolve(out), { seed: o.seed, size: o.size, perCategory });
      for (const [d, spec] of Object.entries(info.domains)) {
        process.stdout.write(`${join(resolve(out), d)}: ${spec.domain}, categories ${Object.keys(spec.categories).join(', ')}\n`);
      }
    });
}
