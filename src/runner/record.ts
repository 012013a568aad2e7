/**
 * Run records: `results/<run-id>/` with run.json, pipeline.resolved.yaml,
 * log.jsonl and (when a metrics node ran) metrics.json. The formats are the
 * ones the metrics views and experiment scripts read; see docs/PIPELINES.md.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { NodeRecord } from './report.ts';

export type RunStatus = 'ok' | 'failed' | 'interrupted';

export interface RunJson {
  runId: string;
  pipeline: string;
  name: string;
  status: RunStatus;
  params: Record<string, unknown>;
  overrides: Record<string, unknown>;
  nodes: NodeRecord[];
  backend: string;
  engine: string;
  packageVersion: string;
  gitCommit: string | null;
  /** Source files changed since gitCommit (see uncommittedSources). */
  gitDirty?: string[];
  start: string;
  end: string;
  /** Set when the run is one point of a sweep. */
  sweepId?: string;
}

export function defaultResultsDir(): string {
  return process.env.ENTROAD_RESULTS_DIR || 'results';
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `<name>-YYYYMMDD-HHMMSS-xxxx` (UTC); the suffix keeps parallel runs apart. */
export function newRunId(name: string, d = new Date()): string {
  const day = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const safe = name.replace(/[^\w-]/g, '_'); // no dots: staging names split on them
  return `${safe}-${day}-${time}-${randomBytes(2).toString('hex')}`;
}

const repoRoot = new URL('../../', import.meta.url).pathname;

export function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** The checked-out commit, read from .git without spawning git. */
export function gitCommit(): string | null {
  try {
    const gitDir = join(repoRoot, '.git');
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const loose = join(gitDir, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((l) => l.endsWith(' ' + ref));
    return line ? line.split(' ')[0] : null;
  } catch {
    return null;
  }
}

/**
 * Source files with uncommitted changes. Cache keys hold each node type's
 * declared version, not its code: an edited method file with an unchanged
 * version reuses old entries, so a run says when the tree is dirty.
 */
export function uncommittedSources(): string[] {
  const r = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return [];
  return r.stdout.split('\n').filter(Boolean).map((l) => l.slice(3));
}

/** Structured log, one JSON object per line; written synchronously so a crash keeps it. */
export class RunLog {
  private fd: number | null;
  constructor(path: string | null) {
    this.fd = path ? openSync(path, 'a') : null;
  }
  write(level: 'info' | 'warn' | 'error' | 'data', fields: Record<string, unknown>): void {
    if (this.fd === null) return;
    writeSync(this.fd, JSON.stringify({ t: new Date().toISOString(), level, ...fields }) + '\n');
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export class RunDir {
  readonly dir: string;
  readonly log: RunLog;
  constructor(
    resultsDir: string,
    readonly runId: string,
  ) {
    this.dir = join(resultsDir, runId);
    mkdirSync(this.dir, { recursive: true });
    this.log = new RunLog(join(this.dir, 'log.jsonl'));
  }
  writeResolved(resolved: Record<string, unknown>): void {
    writeFileSync(
      join(this.dir, 'pipeline.resolved.yaml'),
      stringify(resolved, { aliasDuplicateObjects: false }),
    );
  }
  writeRun(run: RunJson): void {
    writeFileSync(join(this.dir, 'run.json'), JSON.stringify(run, null, 2) + '\n');
  }
  copyMetrics(artifactDir: string): boolean {
    const src = join(artifactDir, 'metrics.json');
    if (!existsSync(src)) return false;
    copyFileSync(src, join(this.dir, 'metrics.json'));
    return true;
  }
}
