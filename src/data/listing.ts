/**
 * What a benchmark adapter returns: the samples of one split as absolute
 * paths with labels, before any file is hashed. Problems (a missing mask, a
 * file the index names but the disk lacks) are collected rather than thrown,
 * so `entroad data ls` can show every one of them; the `dataset` node turns
 * any problem into an error.
 */
import { isDir } from './walk.ts';

export const FORMATS = [
  'mvtec', 'visa', 'btad', 'mpdd', 'dtd',
  'headct', 'brainmri', 'br35h', 'kvasir', 'endo', 'meta',
] as const;
export type DatasetFormat = (typeof FORMATS)[number];

export type Domain = 'industrial' | 'medical';

export const MEDICAL_FORMATS: ReadonlySet<DatasetFormat> = new Set([
  'headct', 'brainmri', 'br35h', 'kvasir', 'endo',
]);

export interface ListedSample {
  /** Absolute image path. */
  image: string;
  /** Absolute mask path, or null. */
  mask: string | null;
  category: string;
  label: 0 | 1;
  defectType: string;
}

export interface DataProblem {
  /** The file or folder at fault (absolute). */
  file: string;
  /** What is wrong and what is expected. */
  message: string;
}

export interface Listing {
  format: DatasetFormat;
  /** Absolute dataset root; relative paths are taken from here. */
  root: string;
  split: 'train' | 'test';
  samples: ListedSample[];
  /** Whether the benchmark has pixel masks by design. */
  hasMasks: boolean;
  /** Categories whose anomalies have no masks (only when allowed). */
  categoriesWithoutMasks: string[];
  notes: string[];
  problems: DataProblem[];
}

export interface ListOptions {
  split: 'train' | 'test';
  /** Keep only these categories (error when one is absent). */
  categories?: string[];
  /**
   * Accept a category whose anomalous images have no ground truth at all
   * (image metrics only for it, with a note) instead of failing.
   */
  allowMissingMasks?: boolean;
}

export class DatasetError extends Error {}

export function requireRoot(root: string, format: string, expected: string): void {
  if (!isDir(root)) {
    throw new DatasetError(
      `dataset root ${root} does not exist or is not a folder; ` +
        `format "${format}" expects ${expected}`,
    );
  }
}

/** Keep only the requested categories; unknown names are an error. */
export function selectCategories(
  available: string[],
  wanted: string[] | undefined,
  root: string,
): string[] {
  if (!wanted || wanted.length === 0) return available;
  const missing = wanted.filter((c) => !available.includes(c));
  if (missing.length) {
    throw new DatasetError(
      `category ${missing.map((c) => `"${c}"`).join(', ')} not found under ${root}; ` +
        `available: ${available.join(', ') || '(none)'}`,
    );
  }
  return available.filter((c) => wanted.includes(c));
}
