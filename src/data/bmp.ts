/**
 * BMP reading on top of fast-bmp (sharp has no BMP loader).
 *
 * fast-bmp decodes the pixel rows but ignores two things real files use: the
 * colour table of 1- and 8-bit images (it returns the palette indices) and
 * top-down rows (a negative height in the header). Both are handled here:
 * the header is parsed first, a top-down file is decoded as bottom-up and
 * flipped back, and indices are mapped through the colour table.
 *
 * Known shortcomings: RLE-compressed and 4/16-bit BMPs are refused with a
 * clear error (none of the benchmarks uses them).
 */
import { decode } from 'fast-bmp';

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  /** Colour table as RGB triples, for 1- and 8-bit images; else null. */
  palette: Uint8Array | null;
}

export function parseBmpHeader(buf: Buffer, file: string): BmpHeader {
  if (buf.length < 30 || buf[0] !== 0x42 || buf[1] !== 0x4d) {
    throw new Error(`${file}: not a BMP file (no "BM" signature)`);
  }
  const dibSize = buf.readUInt32LE(14);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bitsPerPixel = buf.readUInt16LE(28);
  const compression = dibSize >= 40 ? buf.readUInt32LE(30) : 0;
  let palette: Uint8Array | null = null;
  if (bitsPerPixel <= 8) {
    const declared = dibSize >= 40 ? buf.readUInt32LE(46) : 0;
    const n = declared || 1 << bitsPerPixel;
    palette = new Uint8Array(n * 3);
    const start = 14 + dibSize;
    for (let i = 0; i < n && start + i * 4 + 2 < buf.length; i++) {
      // Colour table entries are stored B, G, R, reserved.
      palette[i * 3] = buf[start + i * 4 + 2];
      palette[i * 3 + 1] = buf[start + i * 4 + 1];
      palette[i * 3 + 2] = buf[start + i * 4];
    }
  }
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitsPerPixel,
    compression,
    palette,
  };
}

/** Decode a BMP to interleaved 8-bit pixels with 3 (RGB) or 4 (RGBA) channels. */
export function decodeBmp(
  buf: Buffer,
  file: string,
): { width: number; height: number; channels: 3 | 4; data: Uint8Array } {
  const h = parseBmpHeader(buf, file);
  if (![1, 8, 24, 32].includes(h.bitsPerPixel)) {
    throw new Error(
      `${file}: ${h.bitsPerPixel}-bit BMP is not supported (expected 1, 8, 24 or 32 bits per pixel); convert it to PNG`,
    );
  }
  if (h.compression !== 0 && h.compression !== 3) {
    throw new Error(
      `${file}: compressed BMP (compression ${h.compression}) is not supported; convert it to PNG`,
    );
  }
  let input = buf;
  if (h.topDown) {
    // fast-bmp reads the height unsigned; hand it a bottom-up header.
    input = Buffer.from(buf);
    input.writeInt32LE(h.height, 22);
  }
  let decoded;
  try {
    decoded = decode(input);
  } catch (e) {
    throw new Error(`${file}: cannot decode BMP: ${(e as Error).message}`);
  }
  const { width, height } = h;
  const src = decoded.data as Uint8Array;
  const channels = h.bitsPerPixel === 32 ? 4 : 3;
  const out = new Uint8Array(width * height * channels);

  for (let y = 0; y < height; y++) {
    const sy = h.topDown ? height - 1 - y : y; // flip back a top-down file
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      const s = sy * width + x;
      if (h.palette) {
        const idx = src[s];
        out[o] = h.palette[idx * 3] ?? 0;
        out[o + 1] = h.palette[idx * 3 + 1] ?? 0;
        out[o + 2] = h.palette[idx * 3 + 2] ?? 0;
      } else {
        for (let c = 0; c < channels; c++) out[o + c] = src[s * channels + c];
      }
    }
  }
  return { width, height, channels, data: out };
}
