/**
 * `synthetic-benchmark`: writes the generated benchmark (src/data/synthetic)
 * into its output folder. A normal cached node: its key is the generator
 * version and the params, so equal seeds reuse the cached folder. Read it
 * with a `dataset` node (format `mvtec`, input `root`, `subdir` = domain).
 */
import type { NodeType } from '../runner/types.ts';
import { registerNodeType } from './index.ts';
import { generateBenchmark, GENERATOR_VERSION, DEFAULT_PER_CATEGORY, type PerCategory } from '../data/synthetic/generate.ts';

export interface SyntheticParams {
  seed: number;
  size: number;
  per_category: PerCategory;
}

const count = (d: number) => ({ type: 'integer', minimum: 0, maximum: 1000, default: d });

export const syntheticBenchmarkNode: NodeType<SyntheticParams> = {
  type: 'synthetic-benchmark',
  // The generator's version: any change to the drawing code must bump it.
  version: `1+gen${GENERATOR_VERSION}`,
  description: 'A generated benchmark (textures, objects, medical) in the MVTec AD layout, deterministic from the seed',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      seed: { type: 'integer', default: 0 },
      size: { type: 'integer', minimum: 32, maximum: 1024, default: 128 },
      per_category: {
        type: 'object',
        additionalProperties: false,
        default: { ...DEFAULT_PER_CATEGORY },
        properties: {
          train_good: count(DEFAULT_PER_CATEGORY.train_good),
          test_good: count(DEFAULT_PER_CATEGORY.test_good),
          test_anomalous: count(DEFAULT_PER_CATEGORY.test_anomalous),
        },
      },
    },
  },
  inputs: {},
  outputs: {
    folder: { kind: 'folder', description: '<domain>/<category>/{train,test,ground_truth} + benchmark.json' },
  },
  async run(ctx) {
    const p = ctx.params;
    const info = await generateBenchmark(ctx.outputs.folder, { seed: p.seed, size: p.size, perCategory: p.per_category });
    const cats = Object.values(info.domains).reduce((n, d) => n + Object.keys(d.categories).length, 0);
    return { summary: `${Object.keys(info.domains).length} domains, ${cats} categories, ${p.size} px` };
  },
};

registerNodeType(syntheticBenchmarkNode);
