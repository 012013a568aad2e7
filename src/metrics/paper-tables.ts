/**
 * The two tables the paper prints for a run: image level (AUROC, AP) and
 * pixel level (AUROC, AUPRO) per dataset with an average row. Printed by
 * `entroad run` when the pipeline wrote metrics.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetTable, render } from './tables.ts';
import type { MetricsFile } from './types.ts';

export function paperTables(f: MetricsFile, name: string): string {
  const image = datasetTable(f, ['image_auroc', 'image_ap'], `${name}: image level`);
  const pixel = datasetTable(f, ['pixel_auroc', 'aupro', 'aupro_zsad'], `${name}: pixel level`);
  return `${render(image, 'text')}\n${render(pixel, 'text')}`;
}

/** The tables of a finished run folder, or null when it has no metrics.json. */
export function runPaperTables(runDir: string, name: string): string | null {
  const path = join(runDir, 'metrics.json');
  if (!existsSync(path)) return null;
  return paperTables(JSON.parse(readFileSync(path, 'utf8')) as MetricsFile, name);
}
