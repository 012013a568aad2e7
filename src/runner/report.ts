/**
 * What a run shows a person: one line per finished node (ran / cached /
 * failed / skipped, seconds, and why), progress of long nodes, a summary
 * table at the end. On a TTY progress is drawn with cli-progress bars;
 * otherwise (CI logs, pipes) it is a plain line every few seconds.
 */
import cliProgress from 'cli-progress';

export interface NodeRecord {
  id: string;
  type: string;
  key: string;
  status: 'ran' | 'cached' | 'failed' | 'skipped';
  reason: string;
  seconds: number;
  peakRssMb: number;
  summary?: string;
}

export interface Reporter {
  nodeStart(id: string): void;
  progress(id: string, done: number, total: number, label?: string): void;
  nodeEnd(rec: NodeRecord): void;
  message(text: string): void;
  close(): void;
}

export const silentReporter: Reporter = {
  nodeStart() {},
  progress() {},
  nodeEnd() {},
  message() {},
  close() {},
};

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The short form of a reason; --verbose shows the whole of it. */
export function briefReason(r: NodeRecord): string {
  if (r.status !== 'ran') return r.reason;
  if (
    r.reason.startsWith('forced') ||
    r.reason.startsWith('volatile') ||
    r.reason.startsWith('not in cache')
  ) {
    return r.reason.split(' (')[0];
  }
  if (r.reason.startsWith('damaged')) return 'damaged cache entry recomputed';
  return 'key changed (--verbose says why)';
}

export function nodeLine(r: NodeRecord, width = 12, verbose = false): string {
  const status = r.status.padEnd(7);
  const id = r.id.padEnd(width);
  const secs = r.status === 'skipped' ? '' : ` ${formatSeconds(r.seconds).padStart(6)}`;
  const summary = r.summary ? `  ${r.summary}` : '';
  return `${status} ${id}${secs}  (${verbose ? r.reason : briefReason(r)})${summary}`;
}

interface Rate {
  start: number;
  done: number;
  total: number;
  lastPrint: number;
}

export function rateOf(r: Rate, now = Date.now()): { perSec: number; eta: number } {
  const secs = (now - r.start) / 1000;
  const perSec = secs > 0 ? r.done / secs : 0;
  const eta = perSec > 0 ? (r.total - r.done) / perSec : Infinity;
  return { perSec, eta };
}

export class ConsoleReporter implements Reporter {
  private readonly rates = new Map<string, Rate>();
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private multi?: cliProgress.MultiBar;
  private readonly tty: boolean;
  private readonly write: (s: string) => void;

  constructor(
    private readonly width = 12,
    out: NodeJS.WriteStream = process.stdout,
    private readonly verbose = false,
    /** Without a TTY, a progress line at most this often per node. */
    private readonly plainEveryMs = 5000,
  ) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
    this.write = (s) => out.write(s + '\n');
  }

  nodeStart(): void {}

  progress(id: string, done: number, total: number, label?: string): void {
    const now = Date.now();
    let r = this.rates.get(id);
    if (!r) {
      r = { start: now, done: 0, total, lastPrint: now };
      this.rates.set(id, r);
    }
    r.done = done;
    r.total = total;
    const { perSec, eta } = rateOf(r, now);
    const rate = perSec >= 10 ? perSec.toFixed(0) : perSec.toFixed(2);
    if (this.tty) {
      this.multi ??= new cliProgress.MultiBar(
        {
          format: ' {node} [{bar}] {value}/{total} {rate}/s ETA {etaText} {label}',
          hideCursor: true,
          clearOnComplete: true,
          stopOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      let bar = this.bars.get(id);
      const payload = {
        node: id.padEnd(this.width),
        rate,
        etaText: formatSeconds(eta),
        label: label ?? '',
      };
      if (!bar) {
        bar = this.multi.create(total, done, payload);
        this.bars.set(id, bar);
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
      return;
    }
    const every = this.plainEveryMs;
    if (now - r.lastPrint >= every || (done === total && now - r.start >= every)) {
      r.lastPrint = now;
      const what = label ? ` ${label}` : '';
      this.write(`  ${id}: ${done}/${total}${what} (${rate}/s, ETA ${formatSeconds(eta)})`);
    }
  }

  nodeEnd(rec: NodeRecord): void {
    const bar = this.bars.get(rec.id);
    if (bar && this.multi) {
      this.multi.remove(bar);
      this.bars.delete(rec.id);
      // With no bar left, hand the terminal back: lines logged through the
      // multibar afterwards could be erased by its final redraw.
      if (this.bars.size === 0) this.close();
    }
    this.rates.delete(rec.id);
    this.message(nodeLine(rec, this.width, this.verbose));
  }

  message(text: string): void {
    if (this.multi) this.multi.log(text + '\n');
    else this.write(text);
  }

  close(): void {
    this.multi?.stop();
    this.multi = undefined;
  }
}
