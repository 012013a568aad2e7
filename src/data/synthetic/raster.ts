/**
 * The small raster toolkit of the generated benchmark: an 8-bit image with 1
 * or 3 channels, region masks, geometric coverage tests and value noise.
 * Everything is computed from a seeded Rng with plain arithmetic, and edges
 * are hard (no antialiasing), so a defect's mask is exactly the set of pixels
 * it changed.
 */
import type { Rng } from '../../util/rng.ts';

export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  /** HWC, 8-bit. */
  data: Uint8Array;
}

/** One 0|1 byte per pixel. */
export type Region = Uint8Array;

export function newRaster(size: number, channels: 1 | 3): Raster {
  return { width: size, height: size, channels, data: new Uint8Array(size * size * channels) };
}

export function cloneRaster(r: Raster): Raster {
  return { ...r, data: new Uint8Array(r.data) };
}

export function clamp8(v: number): number {
  if (Number.isNaN(v)) throw new Error('generated pixel value is NaN');
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Fill every pixel from `f(x, y)` -> gray or [r, g, b] in 0..255. */
export function paint(r: Raster, f: (x: number, y: number) => number | number[]): void {
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const v = f(x, y);
      const o = (y * r.width + x) * r.channels;
      if (typeof v === 'number') {
        for (let c = 0; c < r.channels; c++) r.data[o + c] = clamp8(v);
      } else if (r.channels === 1) {
        r.data[o] = clamp8((v[0] + v[1] + v[2]) / 3);
      } else {
        r.data[o] = clamp8(v[0]);
        r.data[o + 1] = clamp8(v[1]);
        r.data[o + 2] = clamp8(v[2]);
      }
    }
  }
}

/** Region of the pixels whose centre satisfies `inside(x + 0.5, y + 0.5)`. */
export function regionOf(size: number, inside: (x: number, y: number) => boolean): Region {
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) m[y * size + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return m;
}

export function intersect(a: Region, b: Region): Region {
  const m = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) m[i] = a[i] & b[i];
  return m;
}

export function union(a: Region, b: Region): Region {
  const m = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) m[i] = a[i] | b[i];
  return m;
}

export function area(m: Region): number {
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i];
  return n;
}

export const fullRegion = (size: number): Region => new Uint8Array(size * size).fill(1);

/** Distance from point p to segment ab. */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  const cx = ax + t * dx - px;
  const cy = ay + t * dy - py;
  return Math.sqrt(cx * cx + cy * cy);
}

/** Pixels within `halfWidth` of a polyline. */
export function polylineRegion(size: number, pts: [number, number][], halfWidth: number): Region {
  const m = new Uint8Array(size * size);
  for (let i = 1; i < pts.length; i++) {
    const [ax, ay] = pts[i - 1];
    const [bx, by] = pts[i];
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - halfWidth - 1));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + halfWidth + 1));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - halfWidth - 1));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + halfWidth + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if (segmentDistance(x + 0.5, y + 0.5, ax, ay, bx, by) <= halfWidth) m[y * size + x] = 1;
      }
    }
  }
  return m;
}

export const ellipseInside = (cx: number, cy: number, rx: number, ry: number) => (x: number, y: number) =>
  ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;

/**
 * Value noise in about [0, 1]: random values on a grid of `cell` pixels,
 * smoothstep-interpolated. Deterministic from the Rng.
 */
export function valueNoise(rng: Rng, size: number, cell: number): (x: number, y: number) => number {
  const n = Math.ceil(size / cell) + 2;
  const grid = new Float64Array(n * n);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const ox = rng.uniform(0, cell);
  const oy = rng.uniform(0, cell);
  const s = (t: number) => t * t * (3 - 2 * t);
  return (x, y) => {
    const gx = (x + ox) / cell;
    const gy = (y + oy) / cell;
    // Wrap, so a query outside the image (a stretched lookup) stays defined.
    const ix = ((Math.floor(gx) % (n - 1)) + (n - 1)) % (n - 1);
    const iy = ((Math.floor(gy) % (n - 1)) + (n - 1)) % (n - 1);
    const fx = s(gx - Math.floor(gx));
    const fy = s(gy - Math.floor(gy));
    const v00 = grid[iy * n + ix];
    const v10 = grid[iy * n + ix + 1];
    const v01 = grid[(iy + 1) * n + ix];
    const v11 = grid[(iy + 1) * n + ix + 1];
    return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
  };
}
