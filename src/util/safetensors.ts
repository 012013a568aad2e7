/**
 * A small safetensors reader and writer.
 *
 * Format: an 8-byte little-endian header length, a JSON header (name ->
 * {dtype, shape, data_offsets}) plus an optional `__metadata__` entry, then
 * the raw little-endian tensor bytes. No maintained npm package reads this
 * format, so it lives here. Only the dtypes the project meets are decoded.
 */
import { readFileSync, writeFileSync, renameSync, openSync, readSync, closeSync } from 'node:fs';

export type DType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'F64';

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Byte range inside the data section. */
  offsets: [number, number];
}

export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  tensors: Map<string, TensorInfo>;
  /** Decode a tensor to float32 (F16/BF16/F64/ints converted). */
  float32(name: string): Float32Array;
  /** Decode an integer tensor (I32/I64/U8) to Int32Array. */
  int32(name: string): Int32Array;
  /** Raw bytes of a tensor, as stored. */
  bytes(name: string): Uint8Array;
  shape(name: string): number[];
}

const DTYPE_BYTES: Record<DType, number> = {
  F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, F64: 8,
};

export class SafetensorsError extends Error {}

export function readSafetensors(path: string): SafetensorsFile {
  const buf = readFileSync(path);
  return parseSafetensors(buf, path);
}

/** Read only the header (cheap, for `clip info` on multi-GB files). */
export function readSafetensorsHeader(path: string): Map<string, TensorInfo> {
  const fd = openSync(path, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    const hdr = Buffer.alloc(len);
    readSync(fd, hdr, 0, len, 8);
    return parseHeader(hdr.toString('utf8'), path).tensors;
  } finally {
    closeSync(fd);
  }
}

function parseHeader(text: string, path: string) {
  let json: Record<string, any>;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${path}: header is not valid JSON (${(e as Error).message})`);
  }
  const metadata: Record<string, string> = json.__metadata__ ?? {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    if (!(v.dtype in DTYPE_BYTES)) {
      throw new SafetensorsError(`${path}: tensor "${name}" has unsupported dtype ${v.dtype}`);
    }
    tensors.set(name, { dtype: v.dtype, shape: v.shape, offsets: v.data_offsets });
  }
  return { metadata, tensors };
}

export function parseSafetensors(buf: Buffer, path = '<buffer>'): SafetensorsFile {
  if (buf.length < 8) throw new SafetensorsError(`${path}: file too short for a safetensors header`);
  const len = Number(buf.readBigUInt64LE(0));
  if (8 + len > buf.length) throw new SafetensorsError(`${path}: header length ${len} exceeds file size`);
  const { metadata, tensors } = parseHeader(buf.subarray(8, 8 + len).toString('utf8'), path);
  const data = buf.subarray(8 + len);

  const info = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new SafetensorsError(`${path}: no tensor named "${name}"`);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offsets[1] - t.offsets[0] !== n * DTYPE_BYTES[t.dtype]) {
      throw new SafetensorsError(`${path}: tensor "${name}" byte range does not match shape ${JSON.stringify(t.shape)}`);
    }
    return { t, n };
  };
  const bytes = (name: string) => {
    const { t } = info(name);
    return new Uint8Array(data.buffer, data.byteOffset + t.offsets[0], t.offsets[1] - t.offsets[0]);
  };
  const view = (name: string) => {
    const b = bytes(name);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };

  return {
    path,
    metadata,
    tensors,
    shape: (name) => info(name).t.shape.slice(),
    bytes: (name) => bytes(name).slice(),
    float32(name) {
      const { t, n } = info(name);
      const dv = view(name);
      const out = new Float32Array(n);
      switch (t.dtype) {
        case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true); break;
        case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
        case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
        case 'BF16': {
          const u = new Uint32Array(1); const f = new Float32Array(u.buffer);
          for (let i = 0; i < n; i++) { u[0] = dv.getUint16(i * 2, true) << 16; out[i] = f[0]; }
          break;
        }
        case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
        case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
        case 'U8': for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
      }
      return out;
    },
    int32(name) {
      const { t, n } = info(name);
      const dv = view(name);
      const out = new Int32Array(n);
      switch (t.dtype) {
        case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
        case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
        case 'U8': for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
        default: throw new SafetensorsError(`${path}: tensor "${name}" is ${t.dtype}, not an integer type`);
      }
      return out;
    },
  };
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Round-to-nearest-even float32 -> IEEE half. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export interface TensorToWrite {
  dtype: 'F32' | 'F16' | 'I32' | 'U8';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** Serialise tensors (sorted by name, 8-byte aligned header). */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) {
      throw new SafetensorsError(`tensor "${name}": ${t.data.length} values for shape ${JSON.stringify(t.shape)}`);
    }
    let bytes: Buffer;
    if (t.dtype === 'F16') {
      const out = Buffer.alloc(n * 2);
      for (let i = 0; i < n; i++) out.writeUInt16LE(floatToHalf(t.data[i]), i * 2);
      bytes = out;
    } else {
      const src = t.dtype === 'F32' ? Float32Array.from(t.data as ArrayLike<number>)
        : t.dtype === 'I32' ? Int32Array.from(t.data as ArrayLike<number>)
        : Uint8Array.from(t.data as ArrayLike<number>);
      bytes = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...chunks]);
}

/** Write atomically (temp file + rename). */
export function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata: Record<string, string> = {},
): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  renameSync(tmp, path);
}
