/**
 * CLIP image preprocessing on raw RGB buffers.
 *
 * The method resizes every image to the exact square (no crop) with bicubic
 * interpolation, scales to [0,1] and normalises with CLIP's mean/std. The
 * resampler reproduces Pillow's 8-bit bicubic (a = -0.5, support widened by
 * the scale when shrinking, 22-bit fixed-point weights, horizontal pass then
 * vertical, each rounded and clamped to uint8), which is what the reference
 * CLIP preprocessing runs. `preprocessImageCenterCrop` is CLIP's own
 * `Resize(n) + CenterCrop(n)` transform, kept for parity with the reference.
 */

export interface RawImage {
  width: number;
  height: number;
  /** HWC RGB, 8 bits per channel. */
  data: Uint8Array;
}

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

const PRECISION_BITS = 32 - 8 - 2;

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per output pixel: first input index and fixed-point weights. */
function coefficients(inSize: number, outSize: number): { first: number[]; weights: Int32Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const ss = 1 / filterScale;
  const first: number[] = [];
  const weights: Int32Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const w: number[] = [];
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const k = bicubic((x - center + 0.5) * ss);
      w.push(k);
      sum += k;
    }
    const fixed = new Int32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      const k = sum !== 0 ? w[i] / sum : w[i];
      // Pillow rounds half away from zero when converting to fixed point.
      fixed[i] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    first.push(lo);
    weights.push(fixed);
  }
  return { first, weights };
}

const clip8 = (v: number) => {
  const r = Math.floor(v / (1 << PRECISION_BITS));
  return r < 0 ? 0 : r > 255 ? 255 : r;
};

/** One separable pass along x (horizontal) or y (vertical), uint8 -> uint8. */
function pass(src: RawImage, outW: number, outH: number, horizontal: boolean): RawImage {
  const out = new Uint8Array(outW * outH * 3);
  const { first, weights } = coefficients(horizontal ? src.width : src.height, horizontal ? outW : outH);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const k = weights[o];
      for (let c = 0; c < 3; c++) {
        let ss = half;
        for (let i = 0; i < k.length; i++) {
          const sx = horizontal ? first[o] + i : x;
          const sy = horizontal ? y : first[o] + i;
          ss += src.data[(sy * src.width + sx) * 3 + c] * k[i];
        }
        out[(y * outW + x) * 3 + c] = clip8(ss);
      }
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Pillow-compatible bicubic resize of an 8-bit RGB image. */
export function resizeBicubic(img: RawImage, width: number, height: number): RawImage {
  let cur = img;
  if (width !== cur.width) cur = pass(cur, width, cur.height, true);
  if (height !== cur.height) cur = pass(cur, width, height, false);
  return cur;
}

/** HWC uint8 -> CHW float32, /255, CLIP mean/std. */
export function normalize(img: RawImage): Float32Array {
  const { width: w, height: h, data } = img;
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h * w; i++) {
      out[c * h * w + i] = (data[i * 3 + c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c];
    }
  }
  return out;
}

/** The method's preprocessing: exact square bicubic resize, [3,size,size] CHW normalised. */
export function preprocessImage(img: RawImage, size: number): Float32Array {
  checkImage(img);
  return normalize(resizeBicubic(img, size, size));
}

/**
 * CLIP's reference transform: shortest side to `size` (long side truncated),
 * then a centre crop with Python's round-half-to-even offsets.
 */
export function resizeShortCenterCrop(img: RawImage, size: number): { resized: RawImage; cropped: RawImage } {
  checkImage(img);
  const short = Math.min(img.width, img.height);
  const long = Math.max(img.width, img.height);
  const longOut = Math.trunc((size * long) / short);
  const [w, h] = img.width <= img.height ? [size, longOut] : [longOut, size];
  const resized = resizeBicubic(img, w, h);
  const left = roundHalfEven((w - size) / 2);
  const top = roundHalfEven((h - size) / 2);
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const row = ((y + top) * w + left) * 3;
    data.set(resized.data.subarray(row, row + size * 3), y * size * 3);
  }
  return { resized, cropped: { width: size, height: size, data } };
}

export function preprocessImageCenterCrop(img: RawImage, size: number): Float32Array {
  return normalize(resizeShortCenterCrop(img, size).cropped);
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function checkImage(img: RawImage): void {
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(
      `image buffer has ${img.data.length} bytes, expected ${img.width}x${img.height}x3 (HWC RGB, 8-bit)`,
    );
  }
}
