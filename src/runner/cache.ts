/**
 * The content-addressed cache: one directory per node key.
 *
 *   <cache>/entries/<k[0:2]>/<key>/manifest.json   what, when, per-file sha256
 *   <cache>/entries/<k[0:2]>/<key>/out/<port>/...   the node's outputs
 *   <cache>/staging/<key>.<host>.<pid>.<rand>/      a node being computed
 *   <cache>/locks/<key>.lock                        see lock.ts
 *   <cache>/index/<pipeline>.json                   last run's key ingredients
 *
 * Commit is atomic: a node writes into its staging directory; only after it
 * returns do we hash every file, write the manifest, and rename the staging
 * directory into `entries/` (one rename on one filesystem). A killed process
 * leaves at most a staging directory, which no reader ever looks at and the
 * next run (or `cache gc`) deletes once its owner is dead. Reading an entry
 * re-hashes its files against the manifest: a flipped byte evicts the entry
 * and the node is computed again. Re-hashing costs one pass over the bytes
 * of every cache hit; that is the price of never trusting a damaged file.
 *
 * Small metadata operations use the synchronous fs calls on purpose: they
 * take microseconds, and the promise versions cost several times more per
 * call, which is most of the runner's overhead on a graph of quick nodes.
 * Files of 8 MB and more are hashed from a stream, off the main path.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative, sep } from 'node:path';

export interface FileDigest {
  sha256: string;
  size: number;
}

export interface Manifest {
  format: 1;
  key: string;
  type: string;
  version: string;
  /** Node id that first produced it (informative only; not in the key). */
  node: string;
  ingredients: unknown;
  ports: string[];
  files: Record<string, FileDigest>;
  created: string;
  seconds: number;
  summary?: string;
}

export interface Staging {
  dir: string;
  outputs: Record<string, string>;
  tmpDir: string;
}

export type Lookup =
  { state: 'hit'; manifest: Manifest } | { state: 'miss' } | { state: 'corrupt'; reason: string };

const HOST = hostname();

export function defaultCacheDir(): string {
  return process.env.ENTROAD_CACHE_DIR || join('.entroad', 'cache');
}

async function sha256File(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size < 8 << 20) {
    h.update(readFileSync(path));
    return h.digest('hex');
  }
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file below `root`, as paths relative to `base`, sorted. */
function listFiles(root: string, base: string): string[] {
  const out: string[] = [];
  let ents;
  try {
    ents = readdirSync(root, { withFileTypes: true, recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const e of ents) {
    if (e.isFile()) out.push(relative(base, join(e.parentPath, e.name)).split(sep).join('/'));
  }
  return out.sort();
}

async function digestAll(base: string, files: string[]): Promise<Record<string, FileDigest>> {
  const out: Record<string, FileDigest> = {};
  for (const f of files) {
    const p = join(base, f);
    const { size } = statSync(p);
    out[f] = { sha256: await sha256File(p, size), size };
  }
  return out;
}

export class Cache {
  constructor(readonly dir: string) {}

  entryDir(key: string): string {
    return join(this.dir, 'entries', key.slice(0, 2), key);
  }

  portDir(key: string, port: string): string {
    return join(this.entryDir(key), 'out', port);
  }

  lockPath(key: string): string {
    return join(this.dir, 'locks', `${key}.lock`);
  }

  async init(): Promise<void> {
    for (const d of ['entries', 'staging', 'locks', 'trash', 'index']) {
      mkdirSync(join(this.dir, d), { recursive: true });
    }
  }

  async readManifest(key: string): Promise<Manifest | undefined> {
    try {
      return JSON.parse(readFileSync(join(this.entryDir(key), 'manifest.json'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Find `key`, checking every file against the manifest. */
  async lookup(key: string): Promise<Lookup> {
    const dir = this.entryDir(key);
    let raw: string;
    try {
      raw = readFileSync(join(dir, 'manifest.json'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'miss' };
      return this.corrupt(key, `manifest unreadable: ${(e as Error).message}`);
    }
    let m: Manifest;
    try {
      m = JSON.parse(raw);
    } catch {
      return this.corrupt(key, 'manifest is not valid JSON');
    }
    const problem = await this.check(dir, m);
    if (problem) return this.corrupt(key, problem);
    try {
      const now = new Date();
      utimesSync(dir, now, now); // last use, for `cache gc`
    } catch {
      // read-only cache: still usable
    }
    return { state: 'hit', manifest: m };
  }

  /** First difference between an entry's files and its manifest, if any. */
  async check(dir: string, m: Manifest): Promise<string | undefined> {
    if (m.format !== 1 || typeof m.files !== 'object' || !m.files)
      return 'manifest has an unknown format';
    const files = listFiles(join(dir, 'out'), dir);
    const listed = Object.keys(m.files).sort();
    if (files.join('\n') !== listed.join('\n')) {
      const extra = files.find((f) => !(f in m.files));
      const missing = listed.find((f) => !files.includes(f));
      return extra ? `unexpected file ${extra}` : `missing file ${missing}`;
    }
    for (const f of files) {
      const p = join(dir, f);
      const { size } = statSync(p);
      if (size !== m.files[f].size) return `${f}: size ${size}, manifest says ${m.files[f].size}`;
      if ((await sha256File(p, size)) !== m.files[f].sha256)
        return `${f}: sha256 differs from manifest`;
    }
    return undefined;
  }

  private async corrupt(key: string, reason: string): Promise<Lookup> {
    await this.evict(key);
    return { state: 'corrupt', reason };
  }

  /** Remove an entry (renamed aside first so readers never see half of it). */
  async evict(key: string): Promise<void> {
    const aside = join(this.dir, 'trash', `${key}.${randomBytes(4).toString('hex')}`);
    try {
      renameSync(this.entryDir(key), aside);
    } catch {
      return;
    }
    await rm(aside, { recursive: true, force: true });
  }

  /** A private directory for one computation of `key`. */
  async stage(key: string, ports: string[]): Promise<Staging> {
    const name = `${key}.${HOST}.${process.pid}.${randomBytes(4).toString('hex')}`;
    const dir = join(this.dir, 'staging', name);
    const outputs: Record<string, string> = {};
    for (const p of ports) {
      outputs[p] = join(dir, 'out', p);
      mkdirSync(outputs[p], { recursive: true });
    }
    // The scratch directory is created by invoke() on first use of
    // ctx.tmpDir; most nodes never touch it.
    return { dir, outputs, tmpDir: join(dir, 'tmp') };
  }

  /**
   * Hash, write the manifest, rename into place. With `replace`, an existing
   * entry (a forced re-run) is swapped out; otherwise an entry committed by
   * someone else meanwhile wins and ours is discarded.
   */
  async commit(
    s: Staging,
    m: Omit<Manifest, 'files' | 'format'>,
    replace = false,
  ): Promise<Manifest> {
    if (existsSync(s.tmpDir)) rmSync(s.tmpDir, { recursive: true, force: true });
    const files = await digestAll(s.dir, listFiles(join(s.dir, 'out'), s.dir));
    const manifest: Manifest = { format: 1, ...m, files };
    writeFileSync(join(s.dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
    const target = this.entryDir(m.key);
    mkdirSync(join(target, '..'), { recursive: true });
    if (replace) await this.evict(m.key);
    try {
      renameSync(s.dir, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      await this.discard(s);
    }
    return manifest;
  }

  async discard(s: Staging): Promise<void> {
    await rm(s.dir, { recursive: true, force: true });
  }

  /** Delete staging dirs whose owner on this host is dead. */
  async cleanStaging(all = false): Promise<number> {
    let n = 0;
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'staging'));
    } catch {
      return 0;
    }
    for (const name of names) {
      const parts = name.split('.');
      parts.pop(); // random suffix
      const pid = parts.pop();
      const host = parts.slice(1).join('.');
      if (!all && (host !== HOST || pidAlive(Number(pid)))) continue;
      await rm(join(this.dir, 'staging', name), { recursive: true, force: true });
      n++;
    }
    await rm(join(this.dir, 'trash'), { recursive: true, force: true });
    mkdirSync(join(this.dir, 'trash'), { recursive: true });
    return n;
  }

  /** Every entry's key. */
  async keys(): Promise<string[]> {
    const out: string[] = [];
    let shards: string[];
    try {
      shards = await readdir(join(this.dir, 'entries'));
    } catch {
      return out;
    }
    for (const s of shards.sort()) {
      for (const k of (await readdir(join(this.dir, 'entries', s))).sort()) out.push(k);
    }
    return out;
  }

  /** Total bytes of an entry's files (from its manifest). */
  static bytes(m: Manifest): number {
    return Object.values(m.files).reduce((a, f) => a + f.size, 0);
  }

  async lastUsed(key: string): Promise<Date | undefined> {
    try {
      return (await stat(this.entryDir(key))).mtime;
    } catch {
      return undefined;
    }
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
