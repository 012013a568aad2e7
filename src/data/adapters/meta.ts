/**
 * The AnomalyCLIP-style `meta.json` index:
 *
 *   {"train": {<cls>: [sample...]}, "test": {<cls>: [sample...]}}
 *   sample = {img_path, mask_path, cls_name, specie_name, anomaly}
 *
 * Paths are resolved like Python's `os.path.join(root, p)`: an absolute path
 * (the medical generators write them) stays as it is, a relative one is taken
 * from the root; doubled slashes (`bottle/test/good//000.png`) are
 * normalised. An empty `mask_path` means no mask. A class whose anomalous
 * samples all lack a mask is a classification-only class (HeadCT, BrainMRI,
 * Br35H): image-level metrics only, with a note. Class order in the file is
 * not relied on; samples keep the file's order within a class.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  DatasetError, type DataProblem, type ListedSample, type Listing, type ListOptions,
  selectCategories,
} from '../listing.ts';
import { isDir, isFile } from '../walk.ts';

interface MetaSample {
  img_path: string;
  mask_path?: string;
  cls_name?: string;
  specie_name?: string;
  anomaly: number;
}

export function listMeta(rootOrFile: string, opts: ListOptions): Listing {
  const file = rootOrFile.endsWith('.json') ? rootOrFile : join(rootOrFile, 'meta.json');
  const root = rootOrFile.endsWith('.json') ? dirname(rootOrFile) : rootOrFile;
  if (!isDir(root)) throw new DatasetError(`dataset root ${root} does not exist or is not a folder; format "meta" expects <root>/meta.json`);
  if (!isFile(file)) throw new DatasetError(`${file} not found: format "meta" expects a meta.json at the dataset root`);
  let meta: Record<string, Record<string, MetaSample[]>>;
  try {
    meta = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const phase = meta?.[opts.split];
  if (phase === undefined || typeof phase !== 'object' || Array.isArray(phase)) {
    throw new DatasetError(`${file}: no "${opts.split}" object; expected top-level keys "train" and "test"`);
  }

  const problems: DataProblem[] = [];
  const samples: ListedSample[] = [];
  const notes: string[] = [];
  const categoriesWithoutMasks: string[] = [];
  const categories = selectCategories(Object.keys(phase).sort(), opts.categories, root);

  for (const cls of categories) {
    const entries = phase[cls];
    if (!Array.isArray(entries)) {
      throw new DatasetError(`${file}: ${opts.split}.${cls} must be a list of samples`);
    }
    const listed: ListedSample[] = [];
    entries.forEach((e, i) => {
      const where = `${file}: ${opts.split}.${cls}[${i}]`;
      if (typeof e?.img_path !== 'string' || (e.anomaly !== 0 && e.anomaly !== 1)) {
        throw new DatasetError(`${where}: expected {img_path: string, mask_path: string, anomaly: 0|1}`);
      }
      const label = e.anomaly as 0 | 1;
      // path.resolve keeps an absolute img_path and collapses `//`.
      const image = resolve(root, e.img_path);
      const mask = label === 1 && e.mask_path ? resolve(root, e.mask_path) : null;
      listed.push({ image, mask, category: cls, label, defectType: e.specie_name ?? '' });
    });
    const anomalous = listed.filter((s) => s.label === 1);
    const withMask = anomalous.filter((s) => s.mask !== null);
    if (anomalous.length > 0 && withMask.length === 0) {
      categoriesWithoutMasks.push(cls);
      notes.push(`class "${cls}" has no mask_path on any anomalous sample: image-level metrics only`);
    } else {
      for (const s of anomalous) {
        if (!s.mask) problems.push({ file: s.image, message: `anomalous image without mask: its mask_path in ${file} is empty` });
      }
    }
    samples.push(...listed);
  }

  const hasMasks = categoriesWithoutMasks.length < categories.length;
  return {
    format: 'meta', root, split: opts.split, samples,
    hasMasks,
    categoriesWithoutMasks: hasMasks ? categoriesWithoutMasks : [],
    notes, problems,
  };
}
