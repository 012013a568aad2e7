/**
 * The MVTec AD folder layout, shared by MVTec AD, MPDD, DTD-Synthetic, BTAD
 * and the generated benchmark:
 *
 *   <root>/<category>/train/<normal>/<img>
 *   <root>/<category>/test/<normal | defect>/<img>
 *   <root>/<category>/ground_truth/<defect>/<stem>_mask.<ext>   (MVTec, MPDD, DTD)
 *   <root>/<category>/ground_truth/<defect>/<stem>.<ext>        (BTAD)
 *
 * The normal folder is `good` (MVTec, MPDD, DTD) or `ok` (BTAD); every other
 * test folder is anomalous and its name is the defect type. Masks are found
 * by the image's stem, with any extension (BTAD class 01 pairs `0020.bmp`
 * with `0020.png`, class 03 with `0020.bmp`), never by sorted position.
 * Files beside the category folders (MVTec's readme.txt, license.txt) and
 * folders without train/ or test/ are ignored.
 */
import { join } from 'node:path';
import {
  type DataProblem, type DatasetFormat, type ListedSample, type Listing, type ListOptions,
  requireRoot, selectCategories,
} from '../listing.ts';
import { isDir, isFile, listDirs, listImages, stemOf } from '../walk.ts';

const NORMAL_FOLDERS = new Set(['good', 'ok']);

export function listMvtecLike(root: string, format: DatasetFormat, opts: ListOptions): Listing {
  requireRoot(root, format, '<category>/{train,test,ground_truth}/... folders (the MVTec AD layout)');
  const notes: string[] = [];
  const problems: DataProblem[] = [];
  const samples: ListedSample[] = [];
  const categoriesWithoutMasks: string[] = [];

  const folders = listDirs(root);
  const available = folders.filter((d) => isDir(join(root, d, 'test')) || isDir(join(root, d, 'train')));
  const ignored = folders.filter((d) => !available.includes(d));
  if (ignored.length) notes.push(`ignored folders without train/ or test/: ${ignored.join(', ')}`);
  if (available.length === 0) {
    const generated = isFile(join(root, 'benchmark.json'));
    problems.push({
      file: root,
      message: generated
        ? `a generated benchmark: point at one of its domain folders (${folders.join(', ')}), e.g. subdir: ${folders[0]}`
        : 'no category folder found; expected <category>/test/<defect>/*.png (the MVTec AD layout)',
    });
  }

  for (const category of selectCategories(available, opts.categories, root)) {
    const catDir = join(root, category);
    const splitDir = join(catDir, opts.split);
    if (!isDir(splitDir)) {
      problems.push({ file: splitDir, message: `category "${category}" has no ${opts.split}/ folder` });
      continue;
    }
    const gtDir = join(catDir, 'ground_truth');
    const hasGt = isDir(gtDir);
    let anomalousWithoutGt = 0;

    for (const folder of listDirs(splitDir)) {
      const normal = NORMAL_FOLDERS.has(folder);
      if (opts.split === 'train' && !normal) {
        notes.push(`${category}/train/${folder}/ ignored: the train split holds normal images only`);
        continue;
      }
      const images = listImages(join(splitDir, folder));
      if (normal) {
        for (const name of images) {
          samples.push({ image: join(splitDir, folder, name), mask: null, category, label: 0, defectType: folder });
        }
        continue;
      }
      if (!hasGt) {
        anomalousWithoutGt += images.length;
        for (const name of images) {
          samples.push({ image: join(splitDir, folder, name), mask: null, category, label: 1, defectType: folder });
        }
        continue;
      }
      const masks = masksByStem(join(gtDir, folder));
      for (const name of images) {
        const image = join(splitDir, folder, name);
        const mask = findMask(stemOf(name), masks, join(gtDir, folder), image, problems);
        samples.push({ image, mask, category, label: 1, defectType: folder });
      }
    }

    if (anomalousWithoutGt > 0) {
      if (opts.allowMissingMasks) {
        categoriesWithoutMasks.push(category);
        notes.push(
          `category "${category}" has no ground_truth/ folder: its ${anomalousWithoutGt} anomalous images ` +
            `have no masks, so only image-level metrics apply to it`,
        );
      } else {
        problems.push({
          file: gtDir,
          message:
            `missing: category "${category}" has ${anomalousWithoutGt} anomalous test images but no ` +
            `ground_truth/ folder; expected ground_truth/<defect>/<stem>_mask.png for each ` +
            `(or set allow_missing_masks to score this category at image level only)`,
        });
      }
    }
  }

  return {
    format, root, split: opts.split, samples, hasMasks: true,
    categoriesWithoutMasks, notes, problems,
  };
}

/** Mask file names of a ground-truth folder, grouped by stem. */
function masksByStem(dir: string): Map<string, string[]> {
  const byStem = new Map<string, string[]>();
  for (const name of listImages(dir)) {
    const s = stemOf(name);
    byStem.set(s, [...(byStem.get(s) ?? []), name]);
  }
  return byStem;
}

/** `<stem>_mask.*` (MVTec) first, then `<stem>.*` (BTAD). */
function findMask(
  stem: string,
  masks: Map<string, string[]>,
  gtFolder: string,
  image: string,
  problems: DataProblem[],
): string | null {
  for (const candidate of [`${stem}_mask`, stem]) {
    const found = masks.get(candidate);
    if (!found) continue;
    if (found.length > 1) {
      problems.push({
        file: join(gtFolder, found[0]),
        message: `ambiguous mask for ${image}: ${found.join(', ')} share the stem "${candidate}"`,
      });
    }
    return join(gtFolder, found[0]);
  }
  problems.push({
    file: image,
    message: `anomalous image without mask: expected ${join(gtFolder, `${stem}_mask.png`)} (or ${stem}.png/.bmp)`,
  });
  return null;
}
