/**
 * A small stat cache for file hashes: (absolute path, size, mtime) -> sha256,
 * kept in `<cache dir>/hash-index.json` so listing a full benchmark on every
 * run does not re-read every byte. The mtime only decides whether to re-hash;
 * it never enters a cache key (the content hash does). The image type sniffed
 * from the first bytes and, for mask pairs, the header's width and height are
 * stored with the hash, since they follow from the same content.
 *
 * The file is rewritten atomically (temp file + rename); when two processes
 * write at once the last one wins, which only costs a re-hash later.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sniffImageType, type ImageType } from './image-io.ts';

export interface HashEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
  /** Sniffed from the first bytes; null when the bytes are no image. */
  type: ImageType | null;
  /** Header size, filled on demand (mask pairs). */
  width?: number;
  height?: number;
  /** First bytes in hex, for error messages about non-images. */
  head?: string;
}

const VERSION = 1;

export function defaultCacheDir(): string {
  return process.env.ENTROAD_CACHE_DIR ?? '.entroad/cache';
}

const shared = new Map<string, HashIndex>();

export class HashIndex {
  /**
   * One index per cache dir and process, so dataset nodes running at the
   * same time add to the same table instead of overwriting each other's.
   */
  static shared(cacheDir = defaultCacheDir()): HashIndex {
    const key = resolve(cacheDir);
    let idx = shared.get(key);
    if (!idx) shared.set(key, (idx = new HashIndex(cacheDir)));
    return idx;
  }

  private entries: Record<string, HashEntry> = {};
  private dirty = false;
  readonly file: string;

  constructor(cacheDir = defaultCacheDir()) {
    this.file = join(cacheDir, 'hash-index.json');
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8'));
      if (parsed?.version === VERSION && parsed.entries) this.entries = parsed.entries;
    } catch {
      // No index yet, or an unreadable one: start empty (it is only a cache).
    }
  }

  /** sha256 and sniffed type of a file, re-hashed only when size or mtime changed. */
  async get(path: string): Promise<HashEntry> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${path}: cannot read: ${code === 'ENOENT' ? 'file does not exist' : (e as Error).message}`);
    }
    const hit = this.entries[path];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit;
    const entry = { ...(await hashFile(path)), size: st.size, mtimeMs: st.mtimeMs };
    this.entries[path] = entry;
    this.dirty = true;
    return entry;
  }

  /** Record header dimensions for an entry already hashed. */
  setSize(path: string, width: number, height: number): void {
    const e = this.entries[path];
    if (e) {
      e.width = width;
      e.height = height;
      this.dirty = true;
    }
  }

  save(): void {
    if (!this.dirty) return;
    const dir = join(this.file, '..');
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}-${Date.now()}`;
    writeFileSync(tmp, JSON.stringify({ version: VERSION, entries: this.entries }));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}

async function hashFile(path: string): Promise<Omit<HashEntry, 'size' | 'mtimeMs'>> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  let head: Buffer | null = null;
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      if (!head) head = Buffer.from(buf.subarray(0, Math.min(16, bytesRead)));
      h.update(buf.subarray(0, bytesRead));
    }
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
  head ??= Buffer.alloc(0);
  return { sha256: h.digest('hex'), type: sniffImageType(head), head: head.toString('hex') };
}
