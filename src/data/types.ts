/**
 * What a `dataset` node hands downstream, as `samples.json` in its output
 * directory (port `dataset`).
 */
export interface Sample {
  /** Stable id within the dataset: `<category>/<relative image path>`. */
  id: string;
  /** Absolute path of the image for this run. */
  imagePath: string;
  /** Path relative to the dataset root (what enters cache keys). */
  relPath: string;
  /** sha256 of the image file's bytes. */
  imageHash: string;
  /** meta.json class name: MVTec folder names, `brain`, `colon`, ... */
  category: string;
  /** 0 normal, 1 anomalous. */
  label: 0 | 1;
  /** Absolute mask path, or null (normal image, or no masks by design). */
  maskPath: string | null;
  maskHash: string | null;
  /** Defect folder name (`good`, `broken_large`, `ko`, `yes`, ...) or ''. */
  defectType: string;
}

export interface DatasetManifest {
  /** Benchmark name (`mvtec`, `visa`, ..., `meta`, `synthetic`). */
  name: string;
  /** Domain prior for fusion weights: 'industrial' | 'medical'. */
  domain: 'industrial' | 'medical';
  split: 'train' | 'test';
  /** Whether pixel masks exist by design (false: image metrics only). */
  hasMasks: boolean;
  samples: Sample[];
  notes: string[];
  /**
   * Masks are binarised with `gray > maskThreshold` when read (default 0,
   * as the published zero-shot code does). Absent means 0.
   */
  maskThreshold?: number;
  /**
   * Categories whose anomalous images have no masks (a download without
   * ground truth, accepted with `allow_missing_masks`, or a meta.json class
   * without mask paths): image-level metrics only for them. Absent means [].
   */
  categoriesWithoutMasks?: string[];
}
