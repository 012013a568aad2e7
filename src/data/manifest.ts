/**
 * Listing -> `samples.json` (DatasetManifest) and the content key of a
 * dataset. Every file is hashed (through the stat cache) and its first bytes
 * checked to be an image; for each image with a mask, both headers are read
 * (not the pixels) and their sizes compared, so a mismatched mask fails here,
 * before any model runs. Pixels are never decoded here.
 */
import { relative, sep } from 'node:path';
import { readImageSize } from './image-io.ts';
import { HashIndex, type HashEntry } from './hash-index.ts';
import { DatasetError, type Domain, type ListedSample, type Listing } from './listing.ts';
import type { DatasetManifest, Sample } from './types.ts';
import { findDuplicates } from './duplicates.ts';

export interface BuildOptions {
  name: string;
  domain: Domain;
  maskThreshold: number;
  index?: HashIndex;
  /** Called after each file is hashed (for progress bars). */
  onFile?: (done: number, total: number) => void;
}

export function problemsError(l: Listing, max = 12): DatasetError {
  const lines = l.problems.slice(0, max).map((p) => `  ${p.file}: ${p.message}`);
  const more = l.problems.length > max ? `\n  ... and ${l.problems.length - max} more` : '';
  return new DatasetError(
    `dataset "${l.format}" at ${l.root} (${l.split} split) has ${l.problems.length} problem(s):\n` +
      lines.join('\n') + more,
  );
}

/** Path relative to the root, with forward slashes on every platform. */
export function relPosix(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

/**
 * One listed image as a `Sample`. `hashOf` gives a file's sha256; callers
 * that never put the sample in a cache key (`entroad eval`) pass none.
 */
export function toSample(root: string, s: ListedSample, hashOf?: (file: string) => string): Sample {
  const relPath = relPosix(root, s.image);
  return {
    id: `${s.category}/${relPath}`,
    imagePath: s.image,
    relPath,
    imageHash: hashOf ? hashOf(s.image) : '',
    category: s.category,
    label: s.label,
    maskPath: s.mask,
    maskHash: s.mask && hashOf ? hashOf(s.mask) : null,
    defectType: s.defectType,
  };
}

async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

export async function buildManifest(
  listing: Listing,
  opts: BuildOptions,
): Promise<{ manifest: DatasetManifest; contentKey: unknown }> {
  if (listing.problems.length) throw problemsError(listing);
  if (listing.samples.length === 0) {
    throw new DatasetError(
      `dataset "${listing.format}" at ${listing.root} lists no samples for the ${listing.split} split` +
        (listing.notes.length ? ` (${listing.notes.join('; ')})` : ''),
    );
  }
  const index = opts.index ?? HashIndex.shared();
  const files = [...new Set(listing.samples.flatMap((s) => (s.mask ? [s.image, s.mask] : [s.image])))];
  const hashes = new Map<string, HashEntry>();
  let done = 0;
  await pool(files, 8, async (f) => {
    const e = await index.get(f);
    if (!e.type) {
      const head = e.head ?? '';
      throw new DatasetError(
        `${f}: not a readable image (${head ? `it starts with bytes ${head.slice(0, 16).replace(/(..)/g, '$1 ').trim()}` : 'the file is empty'}); ` +
          `expected PNG, JPEG, BMP or TIFF content (the extension is not trusted). Remove the file or replace it with the original.`,
      );
    }
    hashes.set(f, e);
    opts.onFile?.(++done, files.length);
  });

  // Mask size vs image size, from the headers (cached with the hash).
  const pairs = listing.samples.filter((s) => s.mask);
  await pool(pairs, 8, async (s) => {
    const a = await headerSize(s.image, index, hashes);
    const b = await headerSize(s.mask!, index, hashes);
    if (a.width !== b.width || a.height !== b.height) {
      throw new DatasetError(
        `${s.mask}: mask is ${b.width}x${b.height} but its image ${s.image} is ${a.width}x${a.height}; ` +
          `a mask must have exactly its image's size`,
      );
    }
  });
  index.save();

  const samples: Sample[] = listing.samples.map((s) =>
    toSample(listing.root, s, (f) => hashes.get(f)!.sha256),
  );

  const notes = [...listing.notes];
  const dupes = findDuplicates([{ dataset: opts.name, samples }]);
  if (dupes.length) {
    const extra = dupes.reduce((n, g) => n + g.members.length - 1, 0);
    notes.push(`${extra} image(s) are byte-identical copies of another image in this dataset (${dupes.length} group(s)); see \`entroad data ls\``);
  }

  const manifest: DatasetManifest = {
    name: opts.name,
    domain: opts.domain,
    split: listing.split,
    hasMasks: listing.hasMasks,
    samples,
    notes,
    maskThreshold: opts.maskThreshold,
    categoriesWithoutMasks: listing.categoriesWithoutMasks,
  };
  return { manifest, contentKey: contentKeyOf(manifest) };
}

/**
 * The dataset's identity: everything downstream nodes read, without the
 * absolute paths (a copied dataset gives the same key).
 */
export function contentKeyOf(m: DatasetManifest): unknown {
  return {
    // The benchmark name labels every metric row downstream.
    name: m.name,
    // The domain picks the fusion prior (alpha/beta) of the method.
    domain: m.domain,
    split: m.split,
    // Whether pixel metrics are computed at all.
    hasMasks: m.hasMasks,
    categoriesWithoutMasks: m.categoriesWithoutMasks ?? [],
    // The threshold changes every binarised mask.
    maskThreshold: m.maskThreshold ?? 0,
    // Order matters: per-image tables downstream follow this order.
    samples: m.samples.map((s) => [
      s.relPath, s.category, s.label, s.defectType, s.imageHash,
      s.maskPath ? s.maskHash : null,
    ]),
  };
}

async function headerSize(
  file: string,
  index: HashIndex,
  hashes: Map<string, HashEntry>,
): Promise<{ width: number; height: number }> {
  const e = hashes.get(file)!;
  if (e.width !== undefined && e.height !== undefined) return { width: e.width, height: e.height };
  const size = await readImageSize(file);
  if (!size) throw new DatasetError(`${file}: not a readable image`);
  index.setSize(file, size.width, size.height);
  return size;
}
