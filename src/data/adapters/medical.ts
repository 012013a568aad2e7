/**
 * The medical benchmarks, each in the layout of its original archive.
 * Category names follow the meta.json convention: `brain` for HeadCT,
 * BrainMRI and Br35H, `colon` for Kvasir and Endo. Only the test split
 * exists (the meta.json convention leaves `train` empty for these sets).
 *
 * - HeadCT: `labels.csv` (header `id, hemorrhage` - note the space - and
 *   unpadded ids) beside `head_ct/head_ct/NNN.png` (doubly nested, names
 *   zero-padded). Image labels only. The re-organised layout of the
 *   zero-shot code (`<root>/brain/test/<specie>/`) is read as well.
 * - BrainMRI: `brain_tumor_dataset/{yes,no}/` only; the archive's top-level
 *   `yes/` and `no/` are byte-identical duplicates and are not read.
 * - Br35H: `{yes,no}/`; the unlabeled `pred/` folder is not a class.
 * - Kvasir-SEG: `Kvasir-SEG/{images,masks}/<id>.jpg`, every image a polyp.
 *   Masks are RGB JPEGs with noisy edges (binarised on their gray value).
 * - Endo (EndoTect 2020 segmentation test set): image folders plus `masks/`;
 *   `good` is normal, every other folder anomalous; masks matched by stem.
 */
import { join } from 'node:path';
import {
  DatasetError, type DataProblem, type DatasetFormat, type Listing,
  type ListOptions, requireRoot, selectCategories,
} from '../listing.ts';
import { isDir, isFile, listDirs, listImages, stemOf } from '../walk.ts';
import { readCsv } from './visa.ts';
import { listMvtecLike } from './mvtec-like.ts';

function emptyListing(format: DatasetFormat, root: string, opts: ListOptions, hasMasks: boolean): Listing {
  return {
    format, root, split: opts.split, samples: [], hasMasks,
    categoriesWithoutMasks: [], notes: [], problems: [],
  };
}

/** The medical sets have a test split only; `train` lists nothing. */
function trainIsEmpty(out: Listing, name: string): boolean {
  if (out.split !== 'train') return false;
  out.notes.push(`${name} has no train split (the meta.json convention fills only "test")`);
  return true;
}

export function listHeadct(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'headct', 'labels.csv and head_ct/head_ct/*.png (the Kaggle archive layout)');
  const labelsPath = join(root, 'labels.csv');
  if (!isFile(labelsPath) && isDir(join(root, 'brain'))) {
    // The zero-shot code's re-organised copy: <root>/brain/test/<specie>/.
    const l = listMvtecLike(root, 'headct', { ...opts, allowMissingMasks: true });
    l.hasMasks = false;
    l.categoriesWithoutMasks = [];
    l.notes = ['HeadCT has image labels only: no masks by design, image-level metrics only'];
    return l;
  }
  const out = emptyListing('headct', root, opts, false);
  out.notes.push('HeadCT has image labels only: no masks by design, image-level metrics only');
  if (!isFile(labelsPath)) {
    throw new DatasetError(`${labelsPath} not found: format "headct" expects labels.csv beside head_ct/head_ct/*.png`);
  }
  selectCategories(['brain'], opts.categories, root);
  if (trainIsEmpty(out, 'HeadCT')) return out;

  // The header's second column is " hemorrhage"; readCsv trims header names.
  const labels = new Map<number, 0 | 1>();
  readCsv(labelsPath).forEach((r, i) => {
    const id = Number(r.id);
    const v = r.hemorrhage;
    if (!Number.isInteger(id) || (v !== '0' && v !== '1')) {
      throw new DatasetError(`${labelsPath} line ${i + 2}: expected "id, hemorrhage" with an integer id and 0 or 1`);
    }
    labels.set(id, v === '1' ? 1 : 0);
  });

  const imageDir = [join(root, 'head_ct', 'head_ct'), join(root, 'head_ct'), root].find(
    (d) => listImages(d).length > 0,
  );
  if (!imageDir) {
    out.problems.push({ file: join(root, 'head_ct', 'head_ct'), message: 'no images found; expected head_ct/head_ct/000.png ...' });
    return out;
  }
  const seen = new Set<number>();
  for (const name of listImages(imageDir)) {
    const image = join(imageDir, name);
    const id = Number(stemOf(name)); // `007.png` is id 7 in labels.csv
    const label = Number.isInteger(id) ? labels.get(id) : undefined;
    if (label === undefined) {
      out.problems.push({ file: image, message: `no row in ${labelsPath} for this image (expected id ${stemOf(name)} without zero padding)` });
      continue;
    }
    seen.add(id);
    out.samples.push({ image, mask: null, category: 'brain', label, defectType: label ? 'hemorrhage' : 'good' });
  }
  const unmatched = labels.size - seen.size;
  if (unmatched > 0) out.notes.push(`labels.csv lists ${unmatched} ids whose image is absent from ${imageDir}`);
  return out;
}

/** BrainMRI and Br35H: `no` normal, `yes` anomalous, nothing else read. */
function listYesNo(format: 'brainmri' | 'br35h', dir: string, root: string, opts: ListOptions): Listing {
  const out = emptyListing(format, root, opts, false);
  const name = format === 'brainmri' ? 'BrainMRI' : 'Br35H';
  out.notes.push(`${name} has image labels only: no masks by design, image-level metrics only`);
  selectCategories(['brain'], opts.categories, root);
  if (trainIsEmpty(out, name)) return out;
  for (const folder of ['no', 'yes']) {
    const sub = join(dir, folder);
    if (!isDir(sub)) {
      out.problems.push({ file: sub, message: `missing: ${name} expects the folders yes/ (tumour) and no/ (normal) here` });
      continue;
    }
    for (const img of listImages(sub)) {
      const label = folder === 'yes' ? 1 : 0;
      out.samples.push({ image: join(sub, img), mask: null, category: 'brain', label, defectType: folder });
    }
  }
  const others = listDirs(dir).filter((d) => d !== 'yes' && d !== 'no' && d !== 'brain_tumor_dataset');
  for (const d of others) {
    const n = listImages(join(dir, d)).length;
    out.notes.push(
      d === 'pred'
        ? `pred/ (${n} unlabeled images) ignored: it is not a class`
        : `folder ${d}/ (${n} images) ignored: only yes/ and no/ are classes`,
    );
  }
  return out;
}

export function listBrainmri(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'brainmri', 'brain_tumor_dataset/{yes,no}/ (the Kaggle archive layout)');
  const inner = join(root, 'brain_tumor_dataset');
  if (isDir(inner)) {
    const l = listYesNo('brainmri', inner, root, opts);
    if (isDir(join(root, 'yes')) || isDir(join(root, 'no'))) {
      l.notes.push('top-level yes/ and no/ ignored: they duplicate brain_tumor_dataset/ byte for byte');
    }
    return l;
  }
  if (isDir(join(root, 'yes')) && isDir(join(root, 'no'))) return listYesNo('brainmri', root, root, opts);
  throw new DatasetError(`${inner} not found: format "brainmri" expects brain_tumor_dataset/{yes,no}/ under ${root}`);
}

export function listBr35h(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'br35h', 'yes/, no/ (and pred/, ignored) (the Kaggle archive layout)');
  return listYesNo('br35h', root, root, opts);
}

export function listKvasir(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'kvasir', 'Kvasir-SEG/{images,masks}/ (the Simula archive layout)');
  const base = isDir(join(root, 'Kvasir-SEG')) ? join(root, 'Kvasir-SEG') : root;
  const out = emptyListing('kvasir', root, opts, true);
  out.notes.push('Kvasir-SEG has no normal images: every image is a polyp, so only pixel-level metrics are meaningful');
  selectCategories(['colon'], opts.categories, root);
  if (trainIsEmpty(out, 'Kvasir-SEG')) return out;
  const imagesDir = join(base, 'images');
  const masksDir = join(base, 'masks');
  if (!isDir(imagesDir)) throw new DatasetError(`${imagesDir} not found: format "kvasir" expects Kvasir-SEG/images/ and Kvasir-SEG/masks/`);
  const masks = stemIndex(masksDir);
  for (const name of listImages(imagesDir)) {
    const image = join(imagesDir, name);
    const mask = pickMask(masks, masksDir, stemOf(name), image, out.problems);
    out.samples.push({ image, mask, category: 'colon', label: 1, defectType: '' });
  }
  return out;
}

export function listEndo(root: string, opts: ListOptions): Listing {
  requireRoot(root, 'endo', 'image folders plus masks/ (the EndoTect 2020 segmentation test set)');
  const out = emptyListing('endo', root, opts, true);
  selectCategories(['colon'], opts.categories, root);
  if (trainIsEmpty(out, 'Endo')) return out;
  const masksDir = join(root, 'masks');
  if (!isDir(masksDir)) throw new DatasetError(`${masksDir} not found: format "endo" expects a masks/ folder beside the image folders`);
  const masks = stemIndex(masksDir);
  for (const folder of listDirs(root).filter((d) => d !== 'masks')) {
    const label = folder === 'good' ? 0 : 1;
    for (const name of listImages(join(root, folder))) {
      const image = join(root, folder, name);
      const mask = label ? pickMask(masks, masksDir, stemOf(name), image, out.problems) : null;
      out.samples.push({ image, mask, category: 'colon', label, defectType: folder });
    }
  }
  if (!out.samples.some((s) => s.label === 0)) {
    out.notes.push('Endo has no normal images: only pixel-level metrics are meaningful');
  }
  return out;
}

function stemIndex(dir: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const name of listImages(dir)) m.set(stemOf(name), [...(m.get(stemOf(name)) ?? []), name]);
  return m;
}

function pickMask(
  masks: Map<string, string[]>,
  dir: string,
  stem: string,
  image: string,
  problems: DataProblem[],
): string | null {
  const found = masks.get(stem) ?? masks.get(`${stem}_mask`);
  if (!found) {
    problems.push({ file: image, message: `anomalous image without mask: expected ${join(dir, stem)}.<jpg|png>` });
    return null;
  }
  if (found.length > 1) {
    problems.push({ file: join(dir, found[0]), message: `ambiguous mask for ${image}: ${found.join(', ')}` });
  }
  return join(dir, found[0]);
}

