/**
 * Reading a dataset artifact downstream: `samples.json` and each sample's
 * mask. `readSampleMask` is where a mask is checked against its image when
 * its pixels are read (the dataset node already compared the headers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageSize, readMask, type BinaryMask } from './image-io.ts';
import type { DatasetManifest, Sample } from './types.ts';

export const SAMPLES_FILE = 'samples.json';

export function readManifest(dir: string): DatasetManifest {
  const file = join(dir, SAMPLES_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (e) {
    throw new Error(`${file}: cannot read the dataset manifest: ${(e as Error).message}`);
  }
}

/**
 * The binary mask of a sample at its image's size: all zeros for a normal
 * image or one without a mask, else the mask file binarised with
 * `> threshold`. Throws, naming both files, when the sizes differ.
 */
export async function readSampleMask(sample: Sample, threshold = 0): Promise<BinaryMask> {
  const size = await readImageSize(sample.imagePath);
  if (!size) throw new Error(`${sample.imagePath}: not a readable image`);
  if (!sample.maskPath || sample.label === 0) {
    const { width, height } = size;
    return { width, height, data: new Uint8Array(width * height), nonBinaryPixels: 0 };
  }
  const mask = await readMask(sample.maskPath, { threshold });
  if (mask.width !== size.width || mask.height !== size.height) {
    throw new Error(
      `${sample.maskPath}: mask is ${mask.width}x${mask.height} but its image ${sample.imagePath} ` +
        `is ${size.width}x${size.height}; a mask must have exactly its image's size`,
    );
  }
  return mask;
}
