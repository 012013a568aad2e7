/**
 * `entroad cache ls | verify | gc`: look after a cache directory.
 * - ls: every entry with its type, producing node, size, dates.
 * - verify: re-hash every file against its manifest; damaged entries are
 *   evicted (the next run recomputes them).
 * - gc: remove staging left by dead processes, stale locks, and (with
 *   `olderThanDays`) entries not used for that long, or everything (`all`).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Cache } from './cache.ts';

export interface EntryInfo {
  key: string;
  type: string;
  node: string;
  bytes: number;
  created: string;
  lastUsed?: string;
  summary?: string;
}

export async function listEntries(cache: Cache): Promise<EntryInfo[]> {
  const out: EntryInfo[] = [];
  for (const key of await cache.keys()) {
    const m = await cache.readManifest(key);
    const used = await cache.lastUsed(key);
    out.push({
      key,
      type: m?.type ?? '?',
      node: m?.node ?? '?',
      bytes: m ? Cache.bytes(m) : 0,
      created: m?.created ?? '?',
      lastUsed: used?.toISOString(),
      summary: m?.summary,
    });
  }
  return out;
}

export interface VerifyResult {
  ok: number;
  damaged: { key: string; reason: string }[];
}

export async function verifyEntries(cache: Cache, evict = true): Promise<VerifyResult> {
  const r: VerifyResult = { ok: 0, damaged: [] };
  for (const key of await cache.keys()) {
    const m = await cache.readManifest(key);
    const reason = m ? await cache.check(cache.entryDir(key), m) : 'manifest missing or unreadable';
    if (!reason) {
      r.ok++;
      continue;
    }
    r.damaged.push({ key, reason });
    if (evict) await cache.evict(key);
  }
  return r;
}

export interface GcOptions {
  olderThanDays?: number;
  all?: boolean;
}

export interface GcResult {
  staging: number;
  locks: number;
  entries: number;
  bytes: number;
}

export async function gcCache(cache: Cache, opts: GcOptions = {}): Promise<GcResult> {
  const r: GcResult = { staging: await cache.cleanStaging(), locks: 0, entries: 0, bytes: 0 };
  const lockDir = join(cache.dir, 'locks');
  for (const name of await readdir(lockDir).catch(() => [] as string[])) {
    const p = join(lockDir, name);
    const s = await stat(p).catch(() => undefined);
    // A lock untouched for an hour belongs to nobody (holders touch theirs).
    if (s && Date.now() - s.mtimeMs > 3600_000) {
      await rm(p, { force: true });
      r.locks++;
    }
  }
  if (!opts.all && opts.olderThanDays === undefined) return r;
  const limit = Date.now() - (opts.olderThanDays ?? 0) * 86400_000;
  for (const key of await cache.keys()) {
    const used = await cache.lastUsed(key);
    if (!opts.all && used && used.getTime() > limit) continue;
    const m = await cache.readManifest(key);
    r.bytes += m ? Cache.bytes(m) : 0;
    await cache.evict(key);
    r.entries++;
  }
  return r;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
