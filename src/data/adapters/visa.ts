/**
 * VisA in its original archive layout, read through the official split
 * `<root>/split_csv/1cls.csv` (header `object,split,label,image,mask`, CRLF
 * line endings). Paths in the CSV are relative to the root
 * (`candle/Data/Images/Anomaly/000.JPG`, `candle/Data/Masks/Anomaly/000.png`).
 *
 * VisA masks hold defect-class ids 1..9, not 255: they are binarised with
 * `> 0` when read (see image-io.ts), never `> 127`.
 *
 * The defect type of an anomalous image comes from `<category>/image_anno.csv`
 * when present (quoted multi-label values such as "bubble,discolor"), else ''.
 * The MVTec-like `VisA_pytorch/1cls` layout made by VisA's prepare_data.py is
 * read with format `mvtec` instead.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  DatasetError, type DataProblem, type ListedSample, type Listing, type ListOptions,
  requireRoot, selectCategories,
} from '../listing.ts';
import { isFile } from '../walk.ts';

export function readCsv(file: string): Record<string, string>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DatasetError(`${file}: cannot read CSV: ${(e as Error).message}`);
  }
  try {
    return parse(text, {
      columns: (header: string[]) => header.map((h) => h.trim()),
      bom: true,
      trim: true,
      skip_empty_lines: true,
    }) as Record<string, string>[];
  } catch (e) {
    throw new DatasetError(`${file}: malformed CSV: ${(e as Error).message}`);
  }
}

export function listVisa(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'visa', 'split_csv/1cls.csv and <category>/Data/{Images,Masks}/ (the VisA archive layout)');
  const csvPath = join(root, 'split_csv', '1cls.csv');
  if (!isFile(csvPath)) {
    throw new DatasetError(
      `${csvPath} not found: format "visa" reads VisA's official split file split_csv/1cls.csv; ` +
        `for the VisA_pytorch layout made by prepare_data.py use format "mvtec"`,
    );
  }
  const rows = readCsv(csvPath);
  for (const col of ['object', 'split', 'label', 'image', 'mask']) {
    if (rows.length && !(col in rows[0])) {
      throw new DatasetError(`${csvPath}: column "${col}" missing; expected header object,split,label,image,mask`);
    }
  }

  const available = [...new Set(rows.map((r) => r.object))];
  const categories = selectCategories(available, opts.categories, root);
  const problems: DataProblem[] = [];
  const samples: ListedSample[] = [];
  const annoCache = new Map<string, Map<string, string>>();

  rows.forEach((r, i) => {
    if (r.split !== opts.split || !categories.includes(r.object)) return;
    const line = i + 2; // 1-based, after the header
    if (r.label !== 'normal' && r.label !== 'anomaly') {
      problems.push({ file: csvPath, message: `line ${line}: label "${r.label}" is neither normal nor anomaly` });
      return;
    }
    const label = r.label === 'anomaly' ? 1 : 0;
    const image = resolve(root, r.image);
    let mask: string | null = null;
    if (label === 1) {
      if (!r.mask) {
        problems.push({ file: image, message: `anomalous image without mask (${csvPath} line ${line} has an empty mask column)` });
      } else {
        mask = resolve(root, r.mask);
      }
    }
    const defectType = label === 0 ? 'good' : annotation(root, r.object, r.image, annoCache);
    samples.push({ image, mask, category: r.object, label, defectType });
  });

  return {
    format: 'visa', root, split: opts.split, samples, hasMasks: true,
    categoriesWithoutMasks: [], notes: [], problems,
  };
}

/** Defect description from `<category>/image_anno.csv`, or ''. */
function annotation(
  root: string,
  category: string,
  image: string,
  cache: Map<string, Map<string, string>>,
): string {
  let byImage = cache.get(category);
  if (!byImage) {
    byImage = new Map();
    const file = join(root, category, 'image_anno.csv');
    if (isFile(file)) for (const r of readCsv(file)) byImage.set(r.image, r.label ?? '');
    cache.set(category, byImage);
  }
  return byImage.get(image) ?? '';
}
