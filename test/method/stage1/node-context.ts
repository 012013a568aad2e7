/**
 * Running one node type outside the runner: params validated with the
 * type's schema (defaults applied, as the runner does), inputs and outputs
 * in a temporary folder, log records collected.
 */
import AjvModule from 'ajv';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { getNodeType } from '../../../src/nodes/index.ts';
import type { ArtifactKind, NodeContext } from '../../../src/runner/types.ts';
import { writeJson } from '../../../src/nodes/artifacts.ts';
import type { DatasetManifest, Sample } from '../../../src/data/types.ts';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });

export interface Ran {
  outputs: Record<string, string>;
  records: { level: string; event: string; fields: Record<string, unknown> }[];
  ticks: number;
}

export function resolveParams(type: string, params: Record<string, unknown>): Record<string, unknown> {
  const t = getNodeType(type)!;
  const p = structuredClone(params);
  const validate = ajv.compile(t.params as object);
  if (!validate(p)) throw new Error(`bad params for ${type}: ${ajv.errorsText(validate.errors)}`);
  return p;
}

export async function runNode(
  root: string,
  type: string,
  id: string,
  params: Record<string, unknown>,
  inputs: Record<string, string>,
  runtime: Partial<NodeContext['runtime']> = {},
): Promise<Ran> {
  const t = getNodeType(type);
  if (!t) throw new Error(`node type ${type} is not registered`);
  const outputs: Record<string, string> = {};
  for (const port of Object.keys(t.outputs)) {
    outputs[port] = join(root, id, port);
    mkdirSync(outputs[port], { recursive: true });
  }
  const records: Ran['records'] = [];
  let ticks = 0;
  const ctx: NodeContext = {
    nodeId: id,
    params: resolveParams(type, params),
    inputs: Object.fromEntries(
      Object.entries(inputs).map(([port, dir]) => [port, { kind: t.inputs[port].kind as ArtifactKind, dir, key: 'k' }]),
    ),
    inputLists: {},
    outputs,
    tmpDir: join(root, id, 'tmp'),
    runtime: { backend: 'wasm', engine: 'tfjs', jobs: 1, workers: 1, verbose: false, ...runtime },
    log: {
      info: (event, fields = {}) => records.push({ level: 'info', event, fields }),
      warn: (event, fields = {}) => records.push({ level: 'warn', event, fields }),
      data: (event, fields) => records.push({ level: 'data', event, fields }),
    },
    progress: { total: () => {}, tick: (n = 1) => void (ticks += n) },
    signal: new AbortController().signal,
    key: 'k',
  };
  await t.run(ctx);
  return { outputs, records, ticks };
}

export interface SynthImage {
  rgb: Uint8Array; // HWC
  size: number;
  mask?: Uint8Array; // 0/1, size*size
}

/** Writes PNGs (images, 0/255 masks) and a samples.json; returns the dataset folder. */
export async function writeDataset(root: string, name: string, images: SynthImage[]): Promise<string> {
  const dir = join(root, name);
  mkdirSync(join(dir, 'img'), { recursive: true });
  const samples: Sample[] = [];
  for (let i = 0; i < images.length; i++) {
    const im = images[i];
    const imagePath = join(dir, 'img', `${i}.png`);
    await sharp(Buffer.from(im.rgb), { raw: { width: im.size, height: im.size, channels: 3 } }).png().toFile(imagePath);
    let maskPath: string | null = null;
    if (im.mask) {
      maskPath = join(dir, 'img', `${i}_mask.png`);
      const m = Buffer.from(im.mask.map((v) => (v ? 255 : 0)));
      await sharp(m, { raw: { width: im.size, height: im.size, channels: 1 } }).png().toFile(maskPath);
    }
    const label = im.mask ? 1 : 0;
    const id = `cat/${label ? 'bad' : 'good'}/${i}.png`;
    samples.push({
      id, imagePath, relPath: id, imageHash: String(i), category: 'cat', label,
      maskPath, maskHash: maskPath ? 'm' : null, defectType: label ? 'bad' : 'good',
    });
  }
  const manifest: DatasetManifest = {
    name, domain: 'industrial', split: 'test', hasMasks: true, samples, notes: [],
  };
  writeJson(join(dir, 'samples.json'), manifest);
  return dir;
}
