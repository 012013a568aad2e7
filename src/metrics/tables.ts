/**
 * The paper's table shapes from metrics.json files, rendered as text,
 * Markdown, CSV or JSON. Values print x100 with one decimal; a null metric
 * prints "-" (its reason is in metrics.json).
 *
 * - `datasetTable`: datasets x (image AUROC, AP | pixel AUROC, AUPRO,
 *   AUPRO-zsad) with an Average row (Table 1/2 of the zero-shot papers).
 * - `compareTable`: one column group per run, rows = datasets + Average; or,
 *   transposed, rows = runs (variants, as in an ablation table) and one
 *   column group per dataset. With a baseline, each cell carries its delta.
 */
import { METRIC_NAMES } from './aggregate.ts';
import type { MetricName, MetricValues, MetricsFile } from './types.ts';

export const METRIC_LABELS: Record<MetricName, { level: string; label: string }> = {
  image_auroc: { level: 'Image', label: 'AUROC' },
  image_ap: { level: 'Image', label: 'AP' },
  image_f1max: { level: 'Image', label: 'F1-max' },
  pixel_auroc: { level: 'Pixel', label: 'AUROC' },
  pixel_ap: { level: 'Pixel', label: 'AP' },
  pixel_f1max: { level: 'Pixel', label: 'F1-max' },
  aupro: { level: 'Pixel', label: 'AUPRO' },
  aupro_zsad: { level: 'Pixel', label: 'AUPRO-zsad' },
};

export const DEFAULT_METRICS: MetricName[] = ['image_auroc', 'image_ap', 'pixel_auroc', 'aupro', 'aupro_zsad'];

export const AUPRO_NOTE =
  'AUPRO = MVTec AD reference (every distinct score, trapezoid to FPR 0.3, / 0.3); ' +
  'AUPRO-zsad = cal_pro_score (200 thresholds, FPR < 0.3 rescaled to [0,1]), the variant the zero-shot papers\' tables report.';

export function metricLabel(m: MetricName): string {
  return `${METRIC_LABELS[m].level} ${METRIC_LABELS[m].label}`;
}

export function parseMetrics(list: string | undefined): MetricName[] {
  if (!list) return DEFAULT_METRICS;
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!METRIC_NAMES.includes(n as MetricName)) {
      throw new Error(`unknown metric "${n}"; choose from ${METRIC_NAMES.join(', ')}`);
    }
  }
  return names as MetricName[];
}

export interface Cell {
  value: number | null;
  /** value - baseline, when a baseline is set and both are numbers. */
  delta?: number | null;
}

export interface Column {
  group: string;
  metric: MetricName;
}

export interface Row {
  label: string;
  /** For a category row: its dataset (Markdown/CSV/JSON print `dataset/category`). */
  parent?: string;
  cells: Cell[];
}

export interface Table {
  title: string;
  rowHeader: string;
  columns: Column[];
  rows: Row[];
  notes: string[];
}

const AVERAGE = 'Average';

function valuesOf(f: MetricsFile, dataset: string): MetricValues | undefined {
  return dataset === AVERAGE ? f.mean : f.datasets[dataset]?.mean;
}

/** One run: datasets x metrics, plus categories when asked. */
export function datasetTable(f: MetricsFile, metrics: MetricName[], title: string, categories = false): Table {
  const rows: Table['rows'] = [];
  for (const [name, d] of Object.entries(f.datasets)) {
    rows.push({ label: name, cells: metrics.map((m) => ({ value: d.mean[m] ?? null })) });
    if (categories) {
      for (const [c, cm] of Object.entries(d.categories)) {
        rows.push({ label: `  ${c}`, parent: name, cells: metrics.map((m) => ({ value: cm.values[m] ?? null })) });
      }
    }
  }
  rows.push({ label: AVERAGE, cells: metrics.map((m) => ({ value: f.mean[m] ?? null })) });
  const notes = metrics.some((m) => m === 'aupro' || m === 'aupro_zsad') ? [AUPRO_NOTE] : [];
  return {
    title,
    rowHeader: 'Dataset',
    columns: metrics.map((m) => ({ group: METRIC_LABELS[m].level, metric: m })),
    rows,
    notes,
  };
}

export interface CompareInput {
  label: string;
  metrics: MetricsFile;
}

function datasetNames(runs: CompareInput[]): string[] {
  const names: string[] = [];
  for (const r of runs) for (const d of Object.keys(r.metrics.datasets)) if (!names.includes(d)) names.push(d);
  return names;
}

function cell(v: number | null | undefined, base: number | null | undefined, withDelta: boolean): Cell {
  const value = typeof v === 'number' ? v : null;
  if (!withDelta) return { value };
  return { value, delta: value !== null && typeof base === 'number' ? value - base : null };
}

/**
 * Several runs side by side. `rows: 'datasets'` gives one column group per
 * run; `rows: 'runs'` gives one row per run (variant) and one column group
 * per dataset. `baseline` is the index of the reference run in `runs`.
 */
export function compareTable(
  runs: CompareInput[],
  metrics: MetricName[],
  opts: { rows: 'datasets' | 'runs'; baseline?: number },
): Table {
  const datasets = [...datasetNames(runs), AVERAGE];
  const base = opts.baseline !== undefined ? runs[opts.baseline] : undefined;
  const notes = metrics.some((m) => m === 'aupro' || m === 'aupro_zsad') ? [AUPRO_NOTE] : [];
  if (base) notes.unshift(`(+x.x) = difference to the baseline ${base.label}, in points.`);
  const get = (r: CompareInput, d: string, m: MetricName) => valuesOf(r.metrics, d)?.[m];

  if (opts.rows === 'datasets') {
    return {
      title: `Comparison of ${runs.length} runs`,
      rowHeader: 'Dataset',
      columns: runs.flatMap((r) => metrics.map((m) => ({ group: r.label, metric: m }))),
      rows: datasets.map((d) => ({
        label: d,
        cells: runs.flatMap((r) =>
          metrics.map((m) => cell(get(r, d, m), base && get(base, d, m), !!base && r !== base)),
        ),
      })),
      notes,
    };
  }
  return {
    title: `Variants x datasets (${runs.length} runs)`,
    rowHeader: 'Variant',
    columns: datasets.flatMap((d) => metrics.map((m) => ({ group: d, metric: m }))),
    rows: runs.map((r) => ({
      label: r.label,
      cells: datasets.flatMap((d) =>
        metrics.map((m) => cell(get(r, d, m), base && get(base, d, m), !!base && r !== base)),
      ),
    })),
    notes,
  };
}

const pct = (v: number | null | undefined) => (typeof v === 'number' ? (100 * v).toFixed(1) : '-');
const signed = (d: number) => {
  const s = (100 * d).toFixed(1);
  if (Number(s) === 0) return '+0.0'; // a tiny negative delta rounds to "-0.0"
  return s.startsWith('-') ? s : `+${s}`;
};

function cellText(c: Cell): string {
  if (c.delta === undefined) return pct(c.value);
  return c.delta === null ? pct(c.value) : `${pct(c.value)} (${signed(c.delta)})`;
}

function columnTitle(c: Column, t: Table): string {
  // In a single-run table the group is the level (Image/Pixel), already in the label.
  const single = t.columns.every((x) => x.group === METRIC_LABELS[x.metric].level);
  return single ? metricLabel(c.metric) : `${c.group} ${metricLabel(c.metric)}`;
}

export function renderText(t: Table): string {
  const header = [t.rowHeader, ...t.columns.map((c) => columnTitle(c, t))];
  const body = t.rows.map((r) => [r.label, ...r.cells.map(cellText)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [t.title, line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of body) {
    if (row[0] === AVERAGE) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    out.push(line(row));
  }
  return [...out, ...t.notes.map((n) => `  ${n}`)].join('\n') + '\n';
}

export function renderMarkdown(t: Table): string {
  const header = [t.rowHeader, ...t.columns.map((c) => columnTitle(c, t))];
  const rows = t.rows.map((r) => {
    const cells = r.cells.map(cellText);
    return r.label === AVERAGE ? [`**${AVERAGE}**`, ...cells.map((c) => `**${c}**`)] : [rowName(r), ...cells];
  });
  const md = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  return [`**${t.title}**`, '', ...md, '', ...t.notes.map((n) => `_${n}_`)].join('\n') + '\n';
}

const rowName = (r: Row) => (r.parent ? `${r.parent}/${r.label.trim()}` : r.label);

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** CSV: values x100 with one decimal, deltas in their own columns. */
export function renderCsv(t: Table): string {
  const hasDelta = t.rows.some((r) => r.cells.some((c) => c.delta !== undefined));
  const header = [t.rowHeader];
  t.columns.forEach((c, i) => {
    header.push(columnTitle(c, t));
    if (hasDelta && t.rows.some((r) => r.cells[i].delta !== undefined)) header.push(`${columnTitle(c, t)} delta`);
  });
  const lines = [header.map(csvField).join(',')];
  for (const r of t.rows) {
    const f = [rowName(r)];
    r.cells.forEach((c, i) => {
      f.push(c.value === null ? '' : (100 * c.value).toFixed(1));
      if (hasDelta && t.rows.some((x) => x.cells[i].delta !== undefined)) {
        f.push(typeof c.delta === 'number' ? (100 * c.delta).toFixed(1) : '');
      }
    });
    lines.push(f.map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

/** JSON: raw values in [0, 1] (not rounded), for scripts. */
export function renderJson(t: Table): string {
  return JSON.stringify(
    {
      title: t.title,
      columns: t.columns.map((c) => ({ group: c.group, metric: c.metric, label: METRIC_LABELS[c.metric].label })),
      rows: t.rows.map((r) => ({ label: rowName(r), cells: r.cells })),
      notes: t.notes,
    },
    null,
    2,
  ) + '\n';
}

export function render(t: Table, format: 'text' | 'md' | 'csv' | 'json'): string {
  return { text: renderText, md: renderMarkdown, csv: renderCsv, json: renderJson }[format](t);
}
