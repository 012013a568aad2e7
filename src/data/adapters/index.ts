/**
 * One entry point for every benchmark layout: `listDataset(format, root)`.
 * After the adapter, files named by an index (VisA's CSV, meta.json) are
 * checked to exist, so a partial download is reported file by file.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type DatasetFormat, type Listing, type ListOptions, DatasetError, FORMATS } from '../listing.ts';
import { listMvtecLike } from './mvtec-like.ts';
import { listVisa } from './visa.ts';
import { listBr35h, listBrainmri, listEndo, listHeadct, listKvasir } from './medical.ts';
import { listMeta } from './meta.ts';

export function listDataset(format: DatasetFormat, root: string, opts: ListOptions): Listing {
  if (!FORMATS.includes(format)) {
    throw new DatasetError(`unknown dataset format "${format}"; expected one of ${FORMATS.join(', ')}`);
  }
  const abs = resolve(root);
  const listing = adapter(format, abs, opts);
  checkFilesExist(listing);
  checkUniqueImages(listing);
  return listing;
}

function adapter(format: DatasetFormat, root: string, opts: ListOptions): Listing {
  switch (format) {
    case 'mvtec':
    case 'mpdd':
    case 'dtd':
    case 'btad':
      return listMvtecLike(root, format, opts);
    case 'visa':
      return listVisa(root, opts);
    case 'headct':
      return listHeadct(root, opts);
    case 'brainmri':
      return listBrainmri(root, opts);
    case 'br35h':
      return listBr35h(root, opts);
    case 'kvasir':
      return listKvasir(root, opts);
    case 'endo':
      return listEndo(root, opts);
    case 'meta':
      return listMeta(root, opts);
  }
}

function checkFilesExist(l: Listing): void {
  for (const s of l.samples) {
    if (!existsSync(s.image)) l.problems.push({ file: s.image, message: 'missing: listed image does not exist' });
    if (s.mask && !existsSync(s.mask)) l.problems.push({ file: s.mask, message: `missing: mask of ${s.image} does not exist` });
  }
}

function checkUniqueImages(l: Listing): void {
  const seen = new Set<string>();
  for (const s of l.samples) {
    const id = `${s.category}\0${s.image}`;
    if (seen.has(id)) l.problems.push({ file: s.image, message: `listed twice in category "${s.category}"` });
    seen.add(id);
  }
}

/** Per-category counts, as `entroad data ls` prints them. */
export function countByCategory(
  l: Listing,
): Record<string, { normal: number; anomalous: number; masks: number }> {
  const out: Record<string, { normal: number; anomalous: number; masks: number }> = {};
  for (const s of l.samples) {
    const c = (out[s.category] ??= { normal: 0, anomalous: 0, masks: 0 });
    if (s.label === 1) c.anomalous++;
    else c.normal++;
    if (s.mask) c.masks++;
  }
  return out;
}
