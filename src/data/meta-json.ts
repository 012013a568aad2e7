/**
 * Writing an AnomalyCLIP-style `meta.json` for any supported layout, so the
 * same folder can be fed to the published zero-shot code. Keys and their
 * order follow that convention exactly: {train: {cls: [...]}, test: {...}},
 * each sample {img_path, mask_path, cls_name, specie_name, anomaly}, paths
 * relative to the root, `mask_path` "" when there is none, indent 4.
 */
import { relPosix } from './manifest.ts';
import type { Listing } from './listing.ts';

export interface MetaSampleOut {
  img_path: string;
  mask_path: string;
  cls_name: string;
  specie_name: string;
  anomaly: 0 | 1;
}

export type MetaJson = Record<'train' | 'test', Record<string, MetaSampleOut[]>>;

function phase(l: Listing): Record<string, MetaSampleOut[]> {
  const out: Record<string, MetaSampleOut[]> = {};
  for (const s of l.samples) {
    (out[s.category] ??= []).push({
      img_path: relPosix(l.root, s.image),
      mask_path: s.mask ? relPosix(l.root, s.mask) : '',
      cls_name: s.category,
      // VisA and Kvasir carry no specie name in the convention.
      specie_name: l.format === 'visa' ? '' : s.defectType,
      anomaly: s.label,
    });
  }
  return out;
}

export function toMetaJson(train: Listing, test: Listing): MetaJson {
  return { train: phase(train), test: phase(test) };
}

export function formatMetaJson(meta: MetaJson): string {
  return JSON.stringify(meta, null, 4) + '\n';
}
