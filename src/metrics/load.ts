/**
 * Gathering one category's maps and masks at the evaluation size, for the
 * `metrics` node and `entroad eval`. Masks are binarised by the data loader
 * (`gray > threshold`), resized to size x size (bilinear, then > 0.5); a
 * normal image's mask is all zeros. Every map is checked for non-finite
 * values here, so the error names the sample rather than a flat index.
 */
import { readMask, resizeMask } from '../data/image-io.ts';
import type { Sample } from '../data/types.ts';
import type { CategoryInput } from './category.ts';
import { MetricInputError } from './errors.ts';

export interface PixelSource {
  /** Map of sample i of the category, size x size. */
  map(i: number): Float32Array | Promise<Float32Array>;
  /** Where the map of sample i comes from (for error messages). */
  describe(i: number): string;
}

export async function loadCategoryPixels(
  samples: Sample[],
  source: PixelSource,
  size: number,
  maskThreshold: number,
): Promise<{ maps: Float32Array; masks: Uint8Array }> {
  const n = samples.length;
  const px = size * size;
  const maps = new Float32Array(n * px); // [n, size, size]
  const masks = new Uint8Array(n * px); // [n, size, size]
  for (let i = 0; i < n; i++) {
    const s = samples[i];
    const map = await source.map(i);
    if (map.length !== px) {
      throw new MetricInputError(
        `${source.describe(i)}: map of sample ${s.id} has ${map.length} values, expected ${size}x${size}; ` +
          'maps must be stored at the evaluation size',
      );
    }
    for (let p = 0; p < px; p++) {
      if (!Number.isFinite(map[p])) {
        throw new MetricInputError(
          `${source.describe(i)}: map of sample ${s.id} holds ${map[p]} at row ${Math.floor(p / size)}, ` +
            `column ${p % size}; anomaly maps must be finite`,
        );
      }
    }
    maps.set(map, i * px);
    if (s.label === 1 && s.maskPath) {
      const m = await readMask(s.maskPath, { threshold: maskThreshold });
      masks.set(resizeMask(m.data, m.width, m.height, size), i * px);
    }
  }
  return { maps, masks };
}

/** Why a category cannot have pixel metrics, or null when it can. */
export function noPixelReason(
  samples: Sample[],
  hasMasks: boolean,
  datasetName: string,
  categoriesWithoutMasks: string[] = [],
): string | null {
  if (!hasMasks) return `dataset ${datasetName} has no pixel masks (image labels only)`;
  const cat = samples[0]?.category;
  if (cat !== undefined && categoriesWithoutMasks.includes(cat)) {
    return `category ${cat} has no masks for its anomalous images`;
  }
  const missing = samples.filter((s) => s.label === 1 && !s.maskPath);
  if (missing.length) {
    return `${missing.length} anomalous image(s) have no mask (e.g. ${missing[0].id}); pixel metrics would count their defects as normal`;
  }
  return null;
}

/** Sample indices grouped by category, categories in first-seen order. */
export function byCategory(samples: Sample[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  samples.forEach((s, i) => {
    const g = groups.get(s.category);
    if (g) g.push(i);
    else groups.set(s.category, [i]);
  });
  return groups;
}

export function checkImageScores(scores: ArrayLike<number>, samples: Sample[], where: string): void {
  for (let i = 0; i < samples.length; i++) {
    if (typeof scores[i] !== 'number' || !Number.isFinite(scores[i])) {
      throw new MetricInputError(`${where}: image score of sample ${samples[i].id} is ${scores[i]}; scores must be finite`);
    }
  }
}

export type { CategoryInput };
