/**
 * One lock file per cache key, so two runs sharing a cache (two shells, two
 * Slurm jobs, a network disk) compute a shared node once: the first takes the
 * lock and computes, the others wait and then find the committed entry.
 *
 * The lock is a file created with O_EXCL holding {pid, host, time}. The
 * holder touches it every few seconds. A lock is stale, and may be broken,
 * when its holder is on this host and no longer alive (kill -9), or when it
 * has not been touched for `staleMs` (a holder on another host that died).
 * Breaking renames the lock aside first, so of two waiters that both saw it
 * stale only one succeeds; a small window remains in which a waiter that
 * read the lock just before it was replaced may break the new one, which at
 * worst computes the node twice (the second commit then finds the entry and
 * discards its copy - never a wrong result).
 */
import {
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

const HOST = hostname();

export interface LockOptions {
  /** A lock untouched this long is stale (default 30 s). */
  staleMs?: number;
  /** How often the holder touches its lock (default staleMs / 4). */
  touchMs?: number;
  signal?: AbortSignal;
  /** Called once when we start waiting on another holder. */
  onWait?: (holder: string) => void;
}

export type Release = () => void;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  host: string;
  t: number;
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined; // missing, or being written right now
  }
}

/** Is the lock at `path` stale? (false when it vanished meanwhile) */
function isStale(path: string, staleMs: number): boolean {
  let mtime: number;
  try {
    mtime = statSync(path).mtimeMs;
  } catch {
    return false;
  }
  const h = readHolder(path);
  if (h && h.host === HOST && !alive(h.pid)) return true;
  return Date.now() - mtime > staleMs;
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  writeSync(fd, JSON.stringify({ pid: process.pid, host: HOST, t: Date.now() }));
  closeSync(fd);
  return true;
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Release> {
  const staleMs = opts.staleMs ?? Number(process.env.ENTROAD_LOCK_STALE_MS ?? 30_000);
  let waited = false;
  let delay = 20;
  for (;;) {
    opts.signal?.throwIfAborted();
    if (tryCreate(path)) break;
    if (isStale(path, staleMs)) {
      const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
      try {
        renameSync(path, aside);
        unlinkSync(aside);
      } catch {
        // another waiter broke it first
      }
      continue;
    }
    if (!waited) {
      waited = true;
      const h = readHolder(path);
      opts.onWait?.(h ? `pid ${h.pid} on ${h.host}` : 'another process');
    }
    await sleep(delay, undefined, { signal: opts.signal }).catch(() => undefined);
    delay = Math.min(delay * 2, 500);
  }

  const touchMs = opts.touchMs ?? Math.max(50, staleMs / 4);
  const timer = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // lock removed under us (broken as stale): nothing useful to do here
    }
  }, touchMs);
  timer.unref();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    const h = readHolder(path);
    if (h && h.pid === process.pid && h.host === HOST) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
}
