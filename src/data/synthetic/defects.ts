/**
 * Defects drawn into a generated image. Each defect picks a region (inside
 * the scene's `allowed` area) and a target colour per pixel; `applyDefect`
 * then changes every pixel of the region and no other, so the region is
 * exactly the ground-truth mask.
 *
 * Localized: scratch (thin bright polyline), hole (dark disc), crack (dark
 * random walk), missing (part of the object replaced by the background),
 * lesion (small bright or dark spot). Diffuse: blotch, stain, bleed (a large
 * blob-shaped region with a smooth colour or intensity change).
 */
import type { Rng } from '../../util/rng.ts';
import {
  type Raster, type Region, area, clamp8, intersect, polylineRegion, regionOf, valueNoise,
} from './raster.ts';
import type { Scene } from './scenes.ts';

/** Smallest change of a defect pixel (max over channels), in gray levels. */
const MIN_CHANGE = 16;

type Target = (x: number, y: number, old: number[]) => number[];

interface Drawn {
  region: Region;
  target: Target;
}

type DefectFn = (rng: Rng, scene: Scene, size: number) => Drawn;

/** Move v by d, away from the nearer end of 0..255 so it always changes. */
function shiftAway(v: number, d: number): number {
  return v + d <= 255 ? v + d : v - d;
}

/** A random pixel centre inside the region (deterministic scan by index). */
function pickInside(rng: Rng, region: Region, size: number): [number, number] {
  const n = area(region);
  let k = rng.int(0, n);
  for (let i = 0; i < region.length; i++) {
    if (region[i] && k-- === 0) return [(i % size) + 0.5, Math.floor(i / size) + 0.5];
  }
  return [size / 2, size / 2];
}

/** Pixels of the region with a pixel outside it among the 4 neighbours. */
function boundaryOf(region: Region, size: number): Region {
  const b = new Uint8Array(region.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (!region[i]) continue;
      const out = x === 0 || y === 0 || x === size - 1 || y === size - 1 ||
        !region[i - 1] || !region[i + 1] || !region[i - size] || !region[i + size];
      if (out) b[i] = 1;
    }
  }
  return b;
}

/** Blob-shaped region: a noisy disc of radius r around (cx, cy). */
function blob(rng: Rng, size: number, cx: number, cy: number, r: number): Region {
  const n = valueNoise(rng, size, Math.max(2, r / 2));
  return regionOf(size, (x, y) => Math.hypot(x - cx, y - cy) / r + 0.6 * (n(x, y) - 0.5) < 1);
}

const scratch: DefectFn = (rng, scene, size) => {
  const s = size / 128;
  const [x0, y0] = pickInside(rng, scene.allowed, size);
  let a = rng.uniform(0, 2 * Math.PI);
  const pts: [number, number][] = [[x0, y0]];
  for (let i = 0; i < 3; i++) {
    a += rng.uniform(-0.25, 0.25);
    const len = rng.uniform(8, 16) * s;
    const [px, py] = pts[pts.length - 1];
    pts.push([px + len * Math.cos(a), py + len * Math.sin(a)]);
  }
  const bright = rng.next() < 0.7;
  return {
    region: polylineRegion(size, pts, 1.0 * s),
    target: (_x, _y, old) => old.map((v) => (bright ? v + 95 : v * 0.35)),
  };
};

const hole: DefectFn = (rng, scene, size) => {
  const s = size / 128;
  const [cx, cy] = pickInside(rng, scene.allowed, size);
  const r = rng.uniform(3, 6) * s;
  const floor = rng.uniform(6, 16);
  return {
    region: regionOf(size, (x, y) => Math.hypot(x - cx, y - cy) <= r),
    target: (_x, _y, old) => old.map(() => floor),
  };
};

const crack: DefectFn = (rng, scene, size) => {
  const s = size / 128;
  let [x, y] = pickInside(rng, scene.allowed, size);
  let a = rng.uniform(0, 2 * Math.PI);
  const pts: [number, number][] = [[x, y]];
  const steps = rng.int(8, 14);
  for (let i = 0; i < steps; i++) {
    a += rng.uniform(-0.6, 0.6);
    const len = rng.uniform(2.5, 4.5) * s;
    x += len * Math.cos(a);
    y += len * Math.sin(a);
    pts.push([x, y]);
  }
  return {
    region: polylineRegion(size, pts, 0.9 * s),
    target: (_x, _y, old) => old.map((v) => v * 0.25),
  };
};

const missing: DefectFn = (rng, scene, size) => {
  const edge = boundaryOf(scene.allowed, size);
  const [cx, cy] = pickInside(rng, edge, size);
  const r = rng.uniform(0.09, 0.14) * size;
  return {
    region: regionOf(size, (x, y) => Math.hypot(x - cx, y - cy) <= r),
    target: (x, y) => {
      const b = scene.background(x, y);
      return typeof b === 'number' ? [b, b, b] : b;
    },
  };
};

function diffuse(minR: number, maxR: number, delta: () => number[]): DefectFn {
  return (rng, scene, size) => {
    const [cx, cy] = pickInside(rng, scene.allowed, size);
    const r = rng.uniform(minR, maxR) * size;
    const d = delta();
    const swell = valueNoise(rng, size, size / 8); // smooth, blotchy strength
    return {
      region: blob(rng, size, cx, cy, r),
      target: (x, y, old) => old.map((v, c) => v + d[c] * (0.6 + 0.8 * swell(x, y))),
    };
  };
}

const blotch: DefectFn = (rng, scene, size) =>
  diffuse(0.12, 0.2, () => [rng.uniform(30, 45), -rng.uniform(15, 30), -rng.uniform(25, 40)])(rng, scene, size);

const stain: DefectFn = (rng, scene, size) =>
  diffuse(0.1, 0.16, () => [-rng.uniform(40, 60), -rng.uniform(20, 35), rng.uniform(10, 25)])(rng, scene, size);

const bleed: DefectFn = (rng, scene, size) => {
  const sign = rng.next() < 0.6 ? 1 : -1;
  const d = sign * rng.uniform(35, 50);
  return diffuse(0.1, 0.17, () => [d, d, d])(rng, scene, size);
};

const lesion: DefectFn = (rng, scene, size) => {
  const s = size / 128;
  const [cx, cy] = pickInside(rng, scene.allowed, size);
  const r = rng.uniform(3, 6) * s;
  const value = rng.next() < 0.5 ? 235 : 20;
  return {
    region: blob(rng, size, cx, cy, r),
    target: (_x, _y, old) => old.map(() => value),
  };
};

export const DEFECTS: Record<string, DefectFn> = {
  scratch, hole, crack, missing, blotch, stain, bleed, lesion,
};

/**
 * Draw `kind` into `image` (in place) and return its exact mask. Every pixel
 * of the mask changes by at least MIN_CHANGE in some channel; no other pixel
 * changes.
 */
export function applyDefect(rng: Rng, kind: string, scene: Scene, image: Raster): Region {
  const size = image.width;
  const fn = DEFECTS[kind];
  if (!fn) throw new Error(`unknown generated defect "${kind}"`);
  const minArea = Math.max(6, Math.round((size * size) / 1500));
  for (let attempt = 0; attempt < 50; attempt++) {
    const drawn = fn(rng, scene, size);
    const region = intersect(drawn.region, scene.allowed);
    if (area(region) < minArea) continue;
    const ch = image.channels;
    for (let i = 0; i < region.length; i++) {
      if (!region[i]) continue;
      const x = i % size;
      const y = Math.floor(i / size);
      const old = Array.from(image.data.subarray(i * ch, i * ch + ch));
      const rgbOld = ch === 1 ? [old[0], old[0], old[0]] : old;
      const t = drawn.target(x, y, rgbOld);
      let next = ch === 1 ? [clamp8((t[0] + t[1] + t[2]) / 3)] : t.map(clamp8);
      const change = Math.max(...next.map((v, c) => Math.abs(v - old[c])));
      if (change < MIN_CHANGE) next = old.map((v) => shiftAway(v, 2 * MIN_CHANGE));
      for (let c = 0; c < ch; c++) image.data[i * ch + c] = next[c];
    }
    return region;
  }
  throw new Error(`generated defect "${kind}" found no room in the scene`);
}
