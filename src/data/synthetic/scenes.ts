/**
 * The normal appearance of each generated category. A scene draws one
 * defect-free image from a per-image Rng (small changes of phase, colour and
 * position between images) and says where defects may go (`allowed`: the
 * object or body; the whole image for textures) and what lies behind the
 * object (`background`, used by the "missing part" defect).
 *
 * Domains: `textures` and `objects` (industrial, RGB) and `medical`
 * (grayscale, scan-like).
 */
import type { Rng } from '../../util/rng.ts';
import {
  type Raster, type Region, newRaster, paint, regionOf, fullRegion, ellipseInside, valueNoise,
} from './raster.ts';

export interface Scene {
  image: Raster;
  allowed: Region;
  background: (x: number, y: number) => number | number[];
}

export type SceneFn = (rng: Rng, size: number) => Scene;

const TAU = 2 * Math.PI;

/** Crossing stripes, like a woven fabric. */
const weave: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const f = size / rng.uniform(7.6, 8.4);
  const p1 = rng.uniform(0, TAU);
  const p2 = rng.uniform(0, TAU);
  const tint = [rng.uniform(160, 170), rng.uniform(125, 135), rng.uniform(85, 95)];
  const grain = valueNoise(rng, size, 3);
  paint(img, (x, y) => {
    const a = Math.sin((TAU * x) / f + p1);
    const b = Math.sin((TAU * y) / f + p2);
    const v = 0.75 + 0.15 * (Math.floor(x / (f / 2) + y / (f / 2)) % 2 === 0 ? a : b) + 0.1 * grain(x, y);
    return tint.map((t) => t * v);
  });
  return { image: img, allowed: fullRegion(size), background: () => 0 };
};

/** Wood-like growth rings. */
const grain: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const cx = rng.uniform(-size, 0);
  const cy = rng.uniform(-size / 2, size / 2);
  const period = size / rng.uniform(9, 12);
  const warp = valueNoise(rng, size, size / 4);
  paint(img, (x, y) => {
    const r = Math.hypot(x - cx, y - cy) + 6 * warp(x, y);
    const v = 0.5 + 0.5 * Math.sin((TAU * r) / period);
    return [150 + 50 * v, 95 + 35 * v, 50 + 20 * v];
  });
  return { image: img, allowed: fullRegion(size), background: () => 0 };
};

/** A wire grid on a dark ground (gray, stored as RGB). */
const mesh: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const pitch = Math.round(size / rng.uniform(9, 11));
  const wire = Math.max(2, Math.round(pitch / 4));
  const ox = rng.int(0, pitch);
  const oy = rng.int(0, pitch);
  const noise = valueNoise(rng, size, 2);
  paint(img, (x, y) => {
    const on = (x + ox) % pitch < wire || (y + oy) % pitch < wire;
    const v = (on ? 175 : 45) + 20 * noise(x, y);
    return [v, v, v + 6];
  });
  return { image: img, allowed: fullRegion(size), background: () => 0 };
};

/** Dark, slightly noisy table top behind every object. */
function darkGround(rng: Rng, size: number): (x: number, y: number) => number[] {
  const n = valueNoise(rng, size, 8);
  return (x, y) => {
    const v = 28 + 14 * n(x, y);
    return [v, v, v + 4];
  };
}

/** A round cap seen from above, with an inner ring. */
const disc: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const bg = darkGround(rng, size);
  const cx = size / 2 + rng.uniform(-3, 3);
  const cy = size / 2 + rng.uniform(-3, 3);
  const r = size * rng.uniform(0.33, 0.36);
  const inside = ellipseInside(cx, cy, r, r);
  paint(img, (x, y) => {
    const px = x + 0.5;
    const py = y + 0.5;
    if (!inside(px, py)) return bg(x, y);
    const d = Math.hypot(px - cx, py - cy) / r;
    const ring = d > 0.55 && d < 0.65 ? 0.7 : 1;
    const shade = (1.05 - 0.3 * d) * ring;
    return [205 * shade, 165 * shade, 70 * shade];
  });
  return { image: img, allowed: regionOf(size, inside), background: bg };
};

/** A metal plate with four bolt holes. */
const plate: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const bg = darkGround(rng, size);
  const w = size * 0.36;
  const h = size * 0.26;
  const cx = size / 2 + rng.uniform(-3, 3);
  const cy = size / 2 + rng.uniform(-3, 3);
  const hole = size * 0.045;
  const holes = [[-1, -1], [1, -1], [-1, 1], [1, 1]].map(([sx, sy]) => [cx + sx * w * 0.75, cy + sy * h * 0.65]);
  const brushed = valueNoise(rng, size, 2);
  const inside = (x: number, y: number) =>
    Math.abs(x - cx) <= w && Math.abs(y - cy) <= h && holes.every(([hx, hy]) => Math.hypot(x - hx, y - hy) > hole);
  paint(img, (x, y) => {
    if (!inside(x + 0.5, y + 0.5)) return bg(x, y);
    const v = 165 + 25 * brushed(x * 0.2, y * 3);
    return [v, v + 3, v + 8];
  });
  return { image: img, allowed: regionOf(size, inside), background: bg };
};

/** A two-coloured capsule. */
const pill: SceneFn = (rng, size) => {
  const img = newRaster(size, 3);
  const bg = darkGround(rng, size);
  const cx = size / 2 + rng.uniform(-3, 3);
  const cy = size / 2 + rng.uniform(-3, 3);
  const half = size * 0.3;
  const r = size * 0.14;
  const inside = (x: number, y: number) => {
    const dx = Math.max(Math.abs(x - cx) - (half - r), 0);
    return Math.hypot(dx, y - cy) <= r;
  };
  paint(img, (x, y) => {
    const px = x + 0.5;
    const py = y + 0.5;
    if (!inside(px, py)) return bg(x, y);
    const shade = 1.1 - 0.35 * Math.abs(py - cy) / r;
    return px < cx ? [190 * shade, 55 * shade, 60 * shade] : [215 * shade, 212 * shade, 200 * shade];
  });
  return { image: img, allowed: regionOf(size, inside), background: bg };
};

/** An axial head scan: bright skull ring around textured tissue. */
const head: SceneFn = (rng, size) => {
  const img = newRaster(size, 1);
  const cx = size / 2 + rng.uniform(-2, 2);
  const cy = size / 2 + rng.uniform(-2, 2);
  const rx = size * rng.uniform(0.33, 0.36);
  const ry = size * rng.uniform(0.40, 0.43);
  const skull = size * 0.04;
  const tissue = valueNoise(rng, size, 6);
  const outer = ellipseInside(cx, cy, rx, ry);
  const inner = ellipseInside(cx, cy, rx - skull, ry - skull);
  paint(img, (x, y) => {
    const px = x + 0.5;
    const py = y + 0.5;
    if (inner(px, py)) return 95 + 35 * tissue(x, y);
    if (outer(px, py)) return 225;
    return 6;
  });
  return { image: img, allowed: regionOf(size, inner), background: () => 6 };
};

/** A chest scan: body, two dark lungs, a bright spine. */
const chest: SceneFn = (rng, size) => {
  const img = newRaster(size, 1);
  const cx = size / 2 + rng.uniform(-2, 2);
  const cy = size / 2 + rng.uniform(-2, 2);
  const body = ellipseInside(cx, cy, size * 0.44, size * 0.34);
  const lungL = ellipseInside(cx - size * 0.19, cy - size * 0.02, size * 0.14, size * 0.22);
  const lungR = ellipseInside(cx + size * 0.19, cy - size * 0.02, size * 0.14, size * 0.22);
  const spine = ellipseInside(cx, cy + size * 0.24, size * 0.05, size * 0.05);
  const tex = valueNoise(rng, size, 5);
  paint(img, (x, y) => {
    const px = x + 0.5;
    const py = y + 0.5;
    if (!body(px, py)) return 4;
    if (spine(px, py)) return 215;
    if (lungL(px, py) || lungR(px, py)) return 35 + 25 * tex(x, y);
    return 125 + 20 * tex(x, y);
  });
  return { image: img, allowed: regionOf(size, body), background: () => 4 };
};

/** An abdominal scan: round body with organ blobs. */
const abdomen: SceneFn = (rng, size) => {
  const img = newRaster(size, 1);
  const cx = size / 2 + rng.uniform(-2, 2);
  const cy = size / 2 + rng.uniform(-2, 2);
  const body = ellipseInside(cx, cy, size * 0.42, size * 0.38);
  const liver = ellipseInside(cx - size * 0.14, cy - size * 0.08, size * 0.2, size * 0.15);
  const kidneyL = ellipseInside(cx - size * 0.17, cy + size * 0.16, size * 0.06, size * 0.08);
  const kidneyR = ellipseInside(cx + size * 0.17, cy + size * 0.16, size * 0.06, size * 0.08);
  const tex = valueNoise(rng, size, 4);
  paint(img, (x, y) => {
    const px = x + 0.5;
    const py = y + 0.5;
    if (!body(px, py)) return 5;
    if (kidneyL(px, py) || kidneyR(px, py)) return 170 + 15 * tex(x, y);
    if (liver(px, py)) return 140 + 15 * tex(x, y);
    return 105 + 25 * tex(x, y);
  });
  return { image: img, allowed: regionOf(size, body), background: () => 5 };
};

export interface CategorySpec {
  scene: SceneFn;
  defects: string[];
}

export interface DomainSpec {
  domain: 'industrial' | 'medical';
  categories: Record<string, CategorySpec>;
}

/** The generated benchmark: three domains, three categories each. */
export const DOMAINS: Record<string, DomainSpec> = {
  textures: {
    domain: 'industrial',
    categories: {
      weave: { scene: weave, defects: ['scratch', 'hole', 'crack', 'blotch'] },
      grain: { scene: grain, defects: ['scratch', 'hole', 'crack', 'blotch'] },
      mesh: { scene: mesh, defects: ['scratch', 'hole', 'crack', 'blotch'] },
    },
  },
  objects: {
    domain: 'industrial',
    categories: {
      disc: { scene: disc, defects: ['scratch', 'hole', 'missing', 'stain'] },
      plate: { scene: plate, defects: ['scratch', 'hole', 'missing', 'stain'] },
      pill: { scene: pill, defects: ['scratch', 'hole', 'missing', 'stain'] },
    },
  },
  medical: {
    domain: 'medical',
    categories: {
      head: { scene: head, defects: ['lesion', 'bleed'] },
      chest: { scene: chest, defects: ['lesion', 'bleed'] },
      abdomen: { scene: abdomen, defects: ['lesion', 'bleed'] },
    },
  },
};
