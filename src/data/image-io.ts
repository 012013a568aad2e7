/**
 * Image and mask reading for every benchmark layout.
 *
 * The file type is decided by the first bytes of the file, never by its
 * extension: BrainMRI and Br35H hold PNGs named `.jpg`. PNG (8 and 16 bit,
 * modes L, LA, P, RGB, RGBA), JPEG, TIFF, WebP and GIF go through sharp; BMP
 * through fast-bmp (see bmp.ts). Pixels are taken raw: no gamma, no ICC
 * transform, no EXIF rotation, alpha dropped without compositing - the way
 * PIL's `convert('RGB')` reads them.
 *
 * Masks are binarised on their gray value with `> threshold` (default 0, as
 * the published zero-shot code does), so 0/1, 0/255, VisA class-id masks and
 * JPEG-compressed Kvasir masks all work. 16-bit masks are thresholded on
 * their native values. The gray value of an RGB mask uses PIL's weights
 * (299, 587, 114)/1000 in PIL's fixed-point form.
 *
 * Known shortcomings: a 16-bit image is reduced to 8 bits by sharp (high
 * byte); an embedded ICC profile is not applied. Neither occurs in the ten
 * benchmarks.
 */
import { readFile, open } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeBmp, parseBmpHeader } from './bmp.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC RGB, 8-bit. */
  data: Uint8Array;
}

export interface BinaryMask {
  width: number;
  height: number;
  /** 0|1 per pixel, row-major. */
  data: Uint8Array;
  /** Pixels that were neither 0 nor the maximum value of the bit depth. */
  nonBinaryPixels: number;
}

export type ImageType = 'png' | 'jpeg' | 'bmp' | 'tiff' | 'webp' | 'gif';

/** Image type from the magic bytes, or null when the bytes are no image. */
export function sniffImageType(head: Uint8Array): ImageType | null {
  const b = head;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) return 'tiff';
  if (b.length >= 4 && b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a) return 'tiff';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && ascii(b, 0, 4) === 'GIF8') return 'gif';
  return null;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

function describeHead(b: Uint8Array): string {
  if (b.length === 0) return 'the file is empty';
  const hex = [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  return `it starts with bytes ${hex}`;
}

export function notAnImageError(path: string, head: Uint8Array): Error {
  return new Error(
    `${path}: not a readable image (${describeHead(head)}); expected PNG, JPEG, BMP or TIFF content ` +
      `(the extension is not trusted). Remove the file or replace it with the original.`,
  );
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file does not exist' : (e as Error).message;
    throw new Error(`${path}: cannot read ${what}: ${why}`);
  }
}

/** Interleaved 8-bit pixels with 1-4 channels, as decoded. */
interface RawPixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Uint16Array;
  /** Largest value of the source bit depth (255 or 65535). */
  max: number;
}

async function decodeRaw(path: string, buf: Buffer, keep16: boolean): Promise<RawPixels> {
  const type = sniffImageType(buf.subarray(0, 16));
  if (!type) throw notAnImageError(path, buf.subarray(0, 16));
  if (type === 'bmp') {
    const b = decodeBmp(buf, path);
    return { ...b, max: 255 };
  }
  try {
    const img = sharp(buf, { failOn: 'truncated' });
    const meta = await img.metadata();
    if (keep16 && meta.depth === 'ushort') {
      const gray = (meta.channels ?? 3) <= 2;
      const { data, info } = await img
        .toColourspace(gray ? 'grey16' : 'rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const u16 = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      return { width: info.width, height: info.height, channels: info.channels, data: u16, max: 65535 };
    }
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: info.channels, data, max: 255 };
  } catch (e) {
    throw new Error(`${path}: cannot decode ${type.toUpperCase()} content: ${(e as Error).message}`);
  }
}

/** Read any supported image as 8-bit RGB (gray replicated, alpha dropped). */
export async function readImage(path: string): Promise<RgbImage> {
  const raw = await decodeRaw(path, await readBytes(path, 'image'), false);
  const { width, height, channels } = raw;
  const src = raw.data as Uint8Array;
  if (channels === 3) return { width, height, data: new Uint8Array(src) };
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (channels <= 2) {
      const g = src[i * channels]; // L or LA: replicate the gray value
      out[i * 3] = g;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = g;
    } else {
      out[i * 3] = src[i * channels]; // RGBA: drop alpha, no compositing
      out[i * 3 + 1] = src[i * channels + 1];
      out[i * 3 + 2] = src[i * channels + 2];
    }
  }
  return { width, height, data: out };
}

/** PIL's RGB -> L conversion, fixed point. */
function grayOf(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/**
 * Read a mask and binarise its gray value with `> threshold`.
 * Works for 0/1, 0/255, class-id, 16-bit and JPEG-compressed RGB masks.
 */
export async function readMask(
  path: string,
  opts: { threshold?: number } = {},
): Promise<BinaryMask> {
  const threshold = opts.threshold ?? 0;
  const raw = await decodeRaw(path, await readBytes(path, 'mask'), true);
  const { width, height, channels, max } = raw;
  const n = width * height;
  const data = new Uint8Array(n);
  let nonBinaryPixels = 0;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    const v =
      channels <= 2 ? raw.data[o] : grayOf(raw.data[o], raw.data[o + 1], raw.data[o + 2]);
    if (v !== 0 && v !== max) nonBinaryPixels++;
    data[i] = v > threshold ? 1 : 0;
  }
  return { width, height, data, nonBinaryPixels };
}

/**
 * Bilinear resize of a 0/1 mask to size x size with half-pixel centres and
 * no antialias (torch `interpolate(mode='bilinear', align_corners=False)`).
 * Returns the raw interpolated values in [0, 1].
 */
export function resizeMaskBilinear(
  mask: Uint8Array,
  width: number,
  height: number,
  size: number,
): Float32Array {
  if (mask.length !== width * height) {
    throw new Error(`resizeMask: mask has ${mask.length} pixels, expected ${width}x${height}`);
  }
  const out = new Float32Array(size * size);
  const sy = height / size;
  const sx = width / size;
  for (let oy = 0; oy < size; oy++) {
    const fy = Math.max(0, (oy + 0.5) * sy - 0.5); // torch clamps negative source coords to 0
    const y0 = Math.floor(fy);
    const y1 = y0 < height - 1 ? y0 + 1 : y0;
    const ly = fy - y0;
    for (let ox = 0; ox < size; ox++) {
      const fx = Math.max(0, (ox + 0.5) * sx - 0.5);
      const x0 = Math.floor(fx);
      const x1 = x0 < width - 1 ? x0 + 1 : x0;
      const lx = fx - x0;
      const top = (1 - lx) * mask[y0 * width + x0] + lx * mask[y0 * width + x1];
      const bottom = (1 - lx) * mask[y1 * width + x0] + lx * mask[y1 * width + x1];
      out[oy * size + ox] = (1 - ly) * top + ly * bottom;
    }
  }
  return out;
}

/** Resize a 0/1 mask to size x size, bilinear then `> 0.5`. */
export function resizeMask(
  mask: Uint8Array,
  width: number,
  height: number,
  size: number,
): Uint8Array {
  const soft = resizeMaskBilinear(mask, width, height, size);
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = soft[i] > 0.5 ? 1 : 0;
  return out;
}

/**
 * Width and height from the file header only (no pixel decoding), used to
 * check a mask against its image cheaply. Null when the bytes are no image.
 */
export async function readImageSize(
  path: string,
): Promise<{ type: ImageType; width: number; height: number } | null> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(64);
    const { bytesRead } = await fh.read(head, 0, 64, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const type = sniffImageType(head);
  if (!type) return null;
  if (type === 'bmp') {
    const h = parseBmpHeader(head, path);
    return { type, width: h.width, height: h.height };
  }
  try {
    const meta = await sharp(path).metadata();
    return { type, width: meta.width ?? 0, height: meta.height ?? 0 };
  } catch (e) {
    throw new Error(`${path}: cannot read the ${type.toUpperCase()} header: ${(e as Error).message}`);
  }
}
