/**
 * A small reader for NumPy `.npy` files (format versions 1-3): float32,
 * float64, float16, uint8, uint16, int32 and bool, either byte order, C order.
 * Enough for anomaly maps saved with `np.save`; Fortran-ordered arrays are
 * refused with the fix (`np.ascontiguousarray`).
 */
import { readFileSync } from 'node:fs';
import { halfToFloat } from '../util/safetensors.ts';

export interface NpyArray {
  shape: number[];
  /** Values converted to float32, C order. */
  data: Float32Array;
  dtype: string;
}

export function parseNpy(buf: Uint8Array, path = '<buffer>'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) {
    throw new Error(`${path}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([<>|=]?)([a-zA-Z])(\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new Error(`${path}: cannot parse the .npy header ${header.trim()}`);
  if (fortran[1] === 'True') {
    throw new Error(`${path}: array is in Fortran order; save it with np.save(f, np.ascontiguousarray(a))`);
  }
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const little = descr[1] !== '>';
  const kind = descr[2];
  const bytes = Number(descr[3]);
  const dtype = `${kind}${bytes}`;
  const offset = start + headerLen;
  if (buf.length < offset + count * bytes) {
    throw new Error(`${path}: file is truncated (${count} values of ${bytes} bytes expected)`);
  }
  const data = new Float32Array(count);
  const at = (i: number) => offset + i * bytes;
  const readers: Record<string, (i: number) => number> = {
    f4: (i) => view.getFloat32(at(i), little),
    f8: (i) => view.getFloat64(at(i), little),
    f2: (i) => halfToFloat(view.getUint16(at(i), little)),
    u1: (i) => buf[at(i)],
    b1: (i) => buf[at(i)],
    u2: (i) => view.getUint16(at(i), little),
    i4: (i) => view.getInt32(at(i), little),
  };
  const read = readers[dtype];
  if (!read) throw new Error(`${path}: dtype ${descr[1]}${dtype} is not supported; save the map as float32`);
  for (let i = 0; i < count; i++) data[i] = read(i);
  return { shape, data, dtype };
}

export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}
