/**
 * Small image files and folder layouts the data tests build for themselves.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedData = resolve(repoRoot, '../shared/data');

export function tempDir(prefix = 'entroad-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function put(file: string, bytes: Buffer | string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

/** PNG from raw 8-bit pixels with 1-4 channels (1: mode L, 2: LA, 4: RGBA). */
export async function png(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  data: number[] | Uint8Array,
  opts: { palette?: boolean } = {},
): Promise<Buffer> {
  let s = sharp(Buffer.from(data), { raw: { width, height, channels } });
  if (channels <= 2) s = s.toColourspace('b-w');
  return s.png({ palette: opts.palette ?? false }).toBuffer();
}

/** 16-bit grayscale PNG. */
export async function png16(width: number, height: number, data: number[]): Promise<Buffer> {
  return sharp(new Uint16Array(data), { raw: { width, height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
}

export async function jpeg(width: number, height: number, channels: 1 | 3, data: number[] | Uint8Array, quality = 90): Promise<Buffer> {
  let s = sharp(Buffer.from(data), { raw: { width, height, channels } });
  if (channels === 1) s = s.toColourspace('b-w');
  return s.jpeg({ quality }).toBuffer();
}

export function solid(width: number, height: number, rgb: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < width * height; i++) out.push(...rgb);
  return out;
}

/** A tiny RGB PNG of one colour. */
export const rgbPng = (w: number, h: number, rgb = [120, 60, 30]) => png(w, h, 3, solid(w, h, rgb));
/** A tiny 0/255 mask with the top-left pixel set. */
export const maskPng = (w: number, h: number) => {
  const d = new Array(w * h).fill(0);
  d[0] = 255;
  return png(w, h, 1, d);
};

/**
 * A BMP written by hand: BITMAPINFOHEADER (40 bytes), bottom-up unless
 * `topDown`, 24-bit RGB or 8-bit with a colour table.
 */
export function bmp(
  width: number,
  height: number,
  pixels: number[], // RGB triples (24-bit) or palette indices (8-bit), row-major top row first
  opts: { bits: 24 | 8; palette?: number[][]; topDown?: boolean },
): Buffer {
  const bpp = opts.bits / 8;
  const rowBytes = Math.ceil((width * bpp) / 4) * 4;
  const paletteBytes = opts.bits === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const buf = Buffer.alloc(offset + rowBytes * height);
  buf.write('BM', 0, 'ascii');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(opts.topDown ? -height : height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(opts.bits, 28);
  buf.writeUInt32LE(0, 30);
  buf.writeUInt32LE(rowBytes * height, 34);
  buf.writeUInt32LE(opts.bits === 8 ? 256 : 0, 46);
  if (opts.bits === 8) {
    const pal = opts.palette ?? Array.from({ length: 256 }, (_, i) => [i, i, i]);
    for (let i = 0; i < 256; i++) {
      const [r, g, b] = pal[i] ?? [0, 0, 0];
      buf[54 + i * 4] = b;
      buf[54 + i * 4 + 1] = g;
      buf[54 + i * 4 + 2] = r;
    }
  }
  for (let y = 0; y < height; y++) {
    const fileRow = opts.topDown ? y : height - 1 - y;
    for (let x = 0; x < width; x++) {
      const o = offset + fileRow * rowBytes + x * bpp;
      if (opts.bits === 8) buf[o] = pixels[y * width + x];
      else {
        const [r, g, b] = pixels.slice((y * width + x) * 3, (y * width + x) * 3 + 3);
        buf[o] = b;
        buf[o + 1] = g;
        buf[o + 2] = r;
      }
    }
  }
  return buf;
}

/**
 * Run `entroad data ...` in-process (the CLI's start-up costs seconds) and
 * capture what it writes.
 */
export async function runDataCli(args: string[]): Promise<{ stdout: string; stderr: string; error?: Error }> {
  const { Command } = await import('commander');
  const data = await import('../../src/cli/commands/data.ts');
  const program = new Command('entroad').exitOverride();
  data.register(program);
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'entroad', 'data', ...args]);
    return { stdout, stderr };
  } catch (e) {
    return { stdout, stderr, error: e as Error };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}
