/**
 * `dataset`: lists one split of a benchmark in its own layout and writes
 * `samples.json` (DatasetManifest). Volatile: it runs every time, hashes the
 * files through a stat cache, and reports a content key made of relative
 * paths, labels, categories and file hashes - never absolute paths - so a
 * benchmark copied elsewhere keeps its key. Pixels are not decoded here;
 * mask sizes are compared with their images' from the file headers.
 *
 * The root comes from the `root` param or from the optional `root` input (a
 * generated benchmark folder, with `subdir` picking its domain folder).
 */
import { join, resolve } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import type { NodeType } from '../runner/types.ts';
import { registerNodeType } from './index.ts';
import { listDataset } from '../data/adapters/index.ts';
import { buildManifest } from '../data/manifest.ts';
import { FORMATS, MEDICAL_FORMATS, type DatasetFormat, type Domain } from '../data/listing.ts';
import { SAMPLES_FILE } from '../data/samples.ts';
import { writeJson } from './artifacts.ts';
import { BENCHMARK_FILE, type BenchmarkInfo } from '../data/synthetic/generate.ts';

export interface DatasetParams {
  format: DatasetFormat;
  root?: string;
  subdir?: string;
  split: 'train' | 'test';
  categories?: string[];
  mask_threshold: number;
  domain?: Domain;
  name?: string;
  allow_missing_masks: boolean;
}

const MEDICAL_CATEGORIES = new Set(['brain', 'colon', 'chest', 'skin', 'retina', 'liver']);

function benchmarkInfo(dir: string): BenchmarkInfo | null {
  try {
    return JSON.parse(readFileSync(join(dir, BENCHMARK_FILE), 'utf8')) as BenchmarkInfo;
  } catch {
    return null;
  }
}

export const datasetNode: NodeType<DatasetParams> = {
  type: 'dataset',
  version: '1',
  description: 'A benchmark split in its own layout (MVTec AD, VisA, BTAD, MPDD, DTD-Synthetic, HeadCT, BrainMRI, Br35H, Kvasir, Endo, meta.json)',
  volatile: true,
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['format'],
    properties: {
      format: { type: 'string', enum: [...FORMATS] },
      root: { type: 'string', description: 'dataset root folder (absolute, or relative to the working directory)' },
      subdir: { type: 'string', description: 'folder inside the root (a generated benchmark: the domain)' },
      split: { type: 'string', enum: ['train', 'test'], default: 'test' },
      categories: { type: 'array', items: { type: 'string' }, description: 'keep only these categories' },
      mask_threshold: { type: 'number', default: 0, description: 'a mask pixel is anomalous when its gray value is > this' },
      domain: { type: 'string', enum: ['industrial', 'medical'], description: 'default: by format' },
      name: { type: 'string', description: 'benchmark name in metrics (default: the format)' },
      allow_missing_masks: {
        type: 'boolean',
        default: false,
        description: 'accept categories without ground_truth/ (image-level metrics only for them)',
      },
    },
  },
  inputs: {
    root: { kind: 'folder', optional: true, description: 'a generated benchmark folder (overrides the root param)' },
  },
  outputs: {
    dataset: { kind: 'dataset', description: 'samples.json' },
  },

  async run(ctx) {
    const p = ctx.params;
    const input = ctx.inputs.root?.dir;
    if (!input && !p.root) {
      throw new Error(`node "${ctx.nodeId}": set the param "root" (the benchmark folder) or connect the input "root"`);
    }
    const base = resolve(input ?? p.root!);
    const root = p.subdir ? join(base, p.subdir) : base;
    const info = input ? benchmarkInfo(base) : null;

    const listing = listDataset(p.format, root, {
      split: p.split,
      categories: p.categories,
      allowMissingMasks: p.allow_missing_masks,
    });
    const generatedDomain = info && p.subdir ? info.domains[p.subdir]?.domain : undefined;
    const domain: Domain =
      p.domain ??
      generatedDomain ??
      (MEDICAL_FORMATS.has(p.format) ||
      (p.format === 'meta' && listing.samples.length > 0 && listing.samples.every((s) => MEDICAL_CATEGORIES.has(s.category)))
        ? 'medical'
        : 'industrial');
    const name = p.name ?? (info ? `synthetic-${p.subdir ?? 'all'}` : p.format);

    const { manifest, contentKey } = await buildManifest(listing, {
      name,
      domain,
      maskThreshold: p.mask_threshold,
      onFile: (done, total) => {
        if (done === 1) ctx.progress.total(total, 'hash');
        ctx.progress.tick();
      },
    });
    for (const n of manifest.notes) ctx.log.info(n);
    mkdirSync(ctx.outputs.dataset, { recursive: true });
    writeJson(join(ctx.outputs.dataset, SAMPLES_FILE), manifest);

    const anomalous = manifest.samples.filter((s) => s.label === 1).length;
    const categories = new Set(manifest.samples.map((s) => s.category)).size;
    return {
      contentKey,
      summary: `${manifest.samples.length} ${manifest.samples.length === 1 ? 'image' : 'images'} (${anomalous} anomalous), ${categories} ${categories === 1 ? 'category' : 'categories'}`,
    };
  },
};

registerNodeType(datasetNode);
