/**
 * Node `memory-bank`: the Stage-1 image and patch memories of the auxiliary
 * dataset (MRAD Stage 1; format in `src/method/stage1-io.ts`). Image keys
 * are the L2-normalised global features with one-hot labels; patch keys are
 * the normal / anomaly prototypes of each image's smoothed ln_post tokens,
 * selected by the mask rule on the patch grid (`src/method/mask-grid.ts`).
 */
import type { NodeContext } from '../../runner/types.ts';
import { registerNodeType } from '../index.ts';
import {
  checkSameSamples, maskAtSize, readDataset, readFeatureImage, readFeatureIndex, writeMemoryBank,
} from '../../method/stage1-io.ts';
import { MemoryBuilder } from '../../method/stage1-memory.ts';

registerNodeType({
  type: 'memory-bank',
  version: '1',
  description: 'Stage-1 image and patch memories (keys, one-hot values) of the auxiliary dataset',
  params: { type: 'object', additionalProperties: false, properties: {} },
  inputs: {
    features: { kind: 'features', description: 'clip-features of the auxiliary dataset' },
    dataset: { kind: 'dataset', description: 'the same auxiliary dataset (labels and masks)' },
  },
  outputs: { memory: { kind: 'memory-bank' } },

  async run(ctx: NodeContext<Record<string, never>>) {
    const fdir = ctx.inputs.features.dir;
    const index = readFeatureIndex(fdir);
    const dataset = readDataset(ctx.inputs.dataset.dir);
    checkSameSamples(index, dataset, `memory-bank node "${ctx.nodeId}"`);

    const builder = new MemoryBuilder(index.embedDim, index.memDim, index.grid, index.size);
    let normal = 0;
    let anomaly = 0;
    ctx.progress.total(dataset.samples.length, 'images');
    for (let i = 0; i < dataset.samples.length; i++) {
      ctx.signal.throwIfAborted();
      const s = dataset.samples[i];
      const f = readFeatureImage(fdir, i, ['global', 'mem']);
      const mask = await maskAtSize(s, index.size, `memory-bank node "${ctx.nodeId}"`);
      const added = builder.add(i, { global: f.global, mem: f.mem, label: s.label, mask });
      normal += Number(added.normal);
      anomaly += Number(added.anomaly);
      if (s.label === 1 && !added.anomaly) {
        ctx.log.info(`no exact-1 grid cell in ${s.id}: no anomaly key`, { sample: s.id });
      }
      ctx.progress.tick();
    }
    const bank = builder.build();
    if (anomaly === 0) {
      ctx.log.warn(
        'the memory has no anomaly patch key (no anomalous image has a grid cell that is exactly 1 after ' +
          'the resize), so every p_i will be 0; defects are smaller than a patch cell at this size: raise `size` ' +
          'of the clip-features node',
      );
    }
    writeMemoryBank(ctx.outputs.memory, bank, {
      sampleIds: index.sampleIds,
      embedDim: index.embedDim,
      memDim: index.memDim,
      imageKeys: bank.ownerImg.length,
      patchKeys: { normal, anomaly },
      grid: index.grid,
      size: index.size,
    });
    return { summary: `${bank.ownerImg.length} image keys, ${normal} normal + ${anomaly} anomaly patch keys` };
  },
});
