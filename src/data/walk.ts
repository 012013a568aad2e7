/**
 * Directory listing rules shared by every benchmark adapter.
 *
 * - `__MACOSX/` folders and AppleDouble `._*` files (left by zips made on
 *   macOS) are skipped, as is every other hidden name.
 * - An image is a file with an image extension, any case. Its real type is
 *   decided later from its bytes (extensions lie in BrainMRI and Br35H).
 * - Names sort in natural order (`y2` before `y10`), with a plain code-unit
 *   comparison as tie-break, so the order is the same on every machine.
 */
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, extname, basename } from 'node:path';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.gif']);

export function isSkippedName(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX' || name === 'Thumbs.db';
}

export function hasImageExt(name: string): boolean {
  return IMAGE_EXT.has(extname(name).toLowerCase());
}

/** File name without its last extension (`0020.bmp` -> `0020`). */
export function stemOf(name: string): string {
  const b = basename(name);
  const e = extname(b);
  return e ? b.slice(0, -e.length) : b;
}

/** Natural-order comparison: digit runs compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function entries(dir: string): { name: string; isDir: boolean }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => !isSkippedName(d.name))
    .map((d) => ({
      name: d.name,
      // Follow symlinks: a benchmark root is often a link to a shared disk.
      isDir: d.isDirectory() || (d.isSymbolicLink() && isDir(join(dir, d.name))),
    }));
}

/** Sub-folder names of `dir`, natural order (files such as readme.txt skipped). */
export function listDirs(dir: string): string[] {
  return entries(dir)
    .filter((e) => e.isDir)
    .map((e) => e.name)
    .sort(naturalCompare);
}

/** Image file names directly inside `dir`, natural order. */
export function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return entries(dir)
    .filter((e) => !e.isDir && hasImageExt(e.name))
    .map((e) => e.name)
    .sort(naturalCompare);
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
