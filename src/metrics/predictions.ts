/**
 * Anomaly maps saved by another tool, for `entroad eval`: one file per image
 * (PNG 8/16-bit, .npy or .safetensors) under a prediction folder.
 *
 * Matching rule, for an image at `<relPath>` under the dataset root (e.g.
 * `bottle/test/broken_large/000.png`), with the extension dropped on both
 * sides:
 *   1. the prediction at the same relative path (`bottle/test/broken_large/000.npy`);
 *   2. else the one prediction whose path is a suffix of the image's path or
 *      the reverse, on whole folder names (`test/broken_large/000.npy`, or
 *      `mvtec/bottle/test/broken_large/000.npy`);
 *   3. else the one prediction with the same file stem (`000`) when that
 *      stem is unique in the folder.
 * Anything else (no match, or several) is an error listing examples.
 *
 * PNG values are divided by 255 (8-bit) or 65535 (16-bit); ranks, and so
 * every metric, do not depend on that scale. Maps are resized to the
 * evaluation size with bilinear interpolation (half-pixel centres).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import sharp from 'sharp';
import { readSafetensors } from '../util/safetensors.ts';
import { readNpy } from './npy.ts';

export const PRED_EXTENSIONS = ['.png', '.npy', '.safetensors'];

export interface PredMap {
  width: number;
  height: number;
  data: Float32Array;
}

const stripExt = (p: string) => p.replace(/\.[^./]+$/, '');

export function listPredictions(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`--pred ${dir}: no such folder; expected a folder of anomaly maps (PNG, .npy or .safetensors, one per image)`);
  }
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (PRED_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))) {
        const key = stripExt(relative(dir, p).split(sep).join('/'));
        if (out.has(key)) throw new Error(`${dir}: two predictions for ${key} (${out.get(key)} and ${p}); keep one`);
        out.set(key, p);
      }
    }
  };
  walk(dir);
  return out;
}

/** The prediction file of each image relative path (see the matching rule above). */
export function matchPredictions(relPaths: string[], preds: Map<string, string>, dir: string): string[] {
  const keys = [...preds.keys()];
  const byStem = new Map<string, string[]>();
  for (const k of keys) {
    const stem = k.slice(k.lastIndexOf('/') + 1);
    byStem.set(stem, [...(byStem.get(stem) ?? []), k]);
  }
  const missing: string[] = [];
  const ambiguous: string[] = [];
  const used = new Map<string, string>();
  const result = relPaths.map((rel) => {
    const key = stripExt(rel);
    let hit: string | undefined = preds.has(key) ? key : undefined;
    if (!hit) {
      const suffix = keys.filter((k) => key.endsWith(`/${k}`) || k.endsWith(`/${key}`));
      if (suffix.length === 1) hit = suffix[0];
      else if (suffix.length > 1) ambiguous.push(`${rel} -> ${suffix.slice(0, 3).join(', ')}`);
    }
    if (!hit && !ambiguous.some((a) => a.startsWith(`${rel} `))) {
      const stem = key.slice(key.lastIndexOf('/') + 1);
      const same = byStem.get(stem) ?? [];
      if (same.length === 1) hit = same[0];
      else if (same.length > 1) ambiguous.push(`${rel} -> ${same.length} files named ${stem}.*`);
      else missing.push(rel);
    }
    if (hit) {
      const prev = used.get(hit);
      if (prev) ambiguous.push(`${rel} and ${prev} both match ${hit}`);
      used.set(hit, rel);
    }
    return hit ? preds.get(hit)! : '';
  });
  if (missing.length || ambiguous.length) {
    const lines = [
      ...missing.slice(0, 5).map((m) => `  no prediction for ${m}`),
      ...ambiguous.slice(0, 5).map((a) => `  ambiguous: ${a}`),
    ];
    throw new Error(
      `${dir}: ${missing.length} image(s) without a prediction, ${ambiguous.length} ambiguous:\n${lines.join('\n')}\n` +
        'name each map like its image, relative to the dataset root (e.g. bottle/test/crack/000.npy)',
    );
  }
  return result;
}

/** Squeeze leading/trailing 1s: (1,H,W), (H,W,1), (1,1,H,W) -> (H,W). */
function squeeze2d(shape: number[], path: string): [number, number] {
  const s = shape.filter((d) => d !== 1);
  if (s.length === 2) return [s[0], s[1]];
  if (s.length < 2 && shape.length >= 2) return [shape[shape.length - 2], shape[shape.length - 1]];
  throw new Error(`${path}: map has shape [${shape}]; expected one 2-D map (H, W), optionally with size-1 axes`);
}

export async function readPredMap(path: string): Promise<PredMap> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.npy')) {
    const a = readNpy(path);
    const [height, width] = squeeze2d(a.shape, path);
    return { width, height, data: a.data };
  }
  if (lower.endsWith('.safetensors')) {
    const f = readSafetensors(path);
    const names = [...f.tensors.keys()];
    const name = names.includes('map') ? 'map' : names.length === 1 ? names[0] : null;
    if (!name) throw new Error(`${path}: holds tensors ${names.join(', ')}; expected one tensor, or one named "map"`);
    const [height, width] = squeeze2d(f.shape(name), path);
    return { width, height, data: f.float32(name) };
  }
  const meta = await sharp(path).metadata();
  const sixteen = meta.depth === 'ushort';
  // Grey at the file's own depth: sharp would otherwise hand 16-bit data
  // through an 8-bit path (only the high byte survives).
  const { data, info } = await sharp(path)
    .toColourspace(sixteen ? 'grey16' : 'b-w')
    .raw(sixteen ? { depth: 'ushort' } : undefined)
    .toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const ch = info.channels;
  const out = new Float32Array(n);
  if (sixteen) {
    const u16 = new Uint16Array(data.buffer, data.byteOffset, n * ch);
    for (let i = 0; i < n; i++) out[i] = u16[i * ch] / 65535;
  } else {
    for (let i = 0; i < n; i++) out[i] = data[i * ch] / 255;
  }
  return { width: info.width, height: info.height, data: out };
}

/** Bilinear resize to size x size, half-pixel centres, no antialias. */
export function resizeMap(m: PredMap, size: number): Float32Array {
  if (m.width === size && m.height === size) return m.data;
  const out = new Float32Array(size * size);
  const sy = m.height / size;
  const sx = m.width / size;
  for (let oy = 0; oy < size; oy++) {
    const fy = Math.max(0, (oy + 0.5) * sy - 0.5);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, m.height - 1);
    const ly = fy - y0;
    for (let ox = 0; ox < size; ox++) {
      const fx = Math.max(0, (ox + 0.5) * sx - 0.5);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, m.width - 1);
      const lx = fx - x0;
      const top = (1 - lx) * m.data[y0 * m.width + x0] + lx * m.data[y0 * m.width + x1];
      const bottom = (1 - lx) * m.data[y1 * m.width + x0] + lx * m.data[y1 * m.width + x1];
      out[oy * size + ox] = (1 - ly) * top + ly * bottom;
    }
  }
  return out;
}
