/**
 * Metrics on a synthetic category the size of a full MVTec AD category at
 * the paper's resolution: 150 maps of 518x518 (40 M pixels), a third of the
 * images defective with 1-3 elliptical defects each. Prints seconds and
 * the process's peak RSS (kernel high-water mark) after each metric, and the
 * whole category as the metrics node computes it (one shared sort).
 */
import { aupro, auproZsad, binaryMetrics } from '../src/metrics/index.ts';
import { evaluateCategory } from '../src/metrics/category.ts';
import { Rng } from '../src/util/rng.ts';

const N = 150;
const S = 518;

function synthetic(): { maps: Float32Array; masks: Uint8Array; scores: number[]; labels: number[] } {
  const rng = new Rng(2026);
  const px = S * S;
  const maps = new Float32Array(N * px); // [N, S, S]
  const masks = new Uint8Array(N * px); // [N, S, S]
  const labels: number[] = [];
  const scores: number[] = [];
  for (let k = 0; k < N; k++) {
    const off = k * px;
    const defective = k % 3 === 0;
    labels.push(defective ? 1 : 0);
    if (defective) {
      const count = rng.int(1, 4);
      for (let d = 0; d < count; d++) {
        const cy = rng.uniform(40, S - 40);
        const cx = rng.uniform(40, S - 40);
        const ry = rng.uniform(5, 35);
        const rx = rng.uniform(5, 35);
        for (let y = Math.floor(cy - ry); y <= cy + ry; y++)
          for (let x = Math.floor(cx - rx); x <= cx + rx; x++)
            if (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1) masks[off + y * S + x] = 1;
      }
    }
    let max = -Infinity;
    for (let i = 0; i < px; i++) {
      const v = 0.3 * rng.next() + 0.4 * masks[off + i] * rng.next() + 0.1 * Math.sin(i / 977);
      maps[off + i] = v;
      if (v > max) max = v;
    }
    scores.push(max);
  }
  return { maps, masks, scores, labels };
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
/** The process's peak resident set so far (the kernel's high-water mark). */
const maxRss = () => process.resourceUsage().maxRSS * 1024;

async function timed(label: string, fn: () => unknown): Promise<void> {
  const before = maxRss();
  const t0 = performance.now();
  const value = fn();
  const seconds = (performance.now() - t0) / 1000;
  const shown = typeof value === 'number' ? value.toFixed(6) : '';
  const peak = maxRss();
  const grew = peak > before ? `(+${mb(peak - before)})` : '(no new peak)';
  console.log(`${label.padEnd(34)} ${seconds.toFixed(2).padStart(6)} s   peak RSS so far ${mb(peak).padStart(7)} ${grew.padStart(14)}   ${shown}`);
}

export async function bench(): Promise<void> {
  const t0 = performance.now();
  const c = synthetic();
  const pixels = c.maps.length;
  console.log(`synthetic category: ${N} maps of ${S}x${S} = ${(pixels / 1e6).toFixed(1)} M pixels, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`input arrays: maps ${mb(c.maps.byteLength)} (Float32), masks ${mb(c.masks.byteLength)}; RSS now ${mb(process.memoryUsage().rss)}`);
  const shape = [N, S, S] as const;
  await timed('image AUROC/AP/F1-max (150 scores)', () => binaryMetrics(c.scores, c.labels).auroc);
  await timed('pixel AUROC/AP/F1-max', () => binaryMetrics(c.maps, c.masks).auroc);
  await timed('AUPRO (8-conn, FPR 0.3)', () => aupro(c.maps, c.masks, shape));
  await timed('AUPRO-zsad (200 thresholds)', () => auproZsad(c.maps, c.masks, shape));
  await timed('whole category (node path)', () =>
    evaluateCategory({
      imageScores: c.scores,
      imageLabels: c.labels,
      maps: c.maps,
      masks: c.masks,
      size: S,
      maskCount: c.labels.filter((l) => l).length,
    }).values.aupro,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
