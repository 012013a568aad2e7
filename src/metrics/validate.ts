/**
 * Input checks shared by every metric. Each error names the offending value
 * by its flat index and, for maps, by (image, row, column).
 */
import { MetricInputError } from './errors.ts';

/** Scores as flat arrays; Float32Array keeps float32 ties exactly. */
export type ScoreArray = Float32Array | Float64Array | ArrayLike<number>;
/** 0/1 labels or masks (booleans accepted). */
export type LabelArray = ArrayLike<number | boolean>;
/** [N, H, W]: N maps of H rows and W columns, flat row-major. */
export type MapShape = readonly [number, number, number];

export function where(i: number, shape?: MapShape): string {
  if (!shape) return `index ${i}`;
  const [, h, w] = shape;
  const n = Math.floor(i / (h * w));
  const y = Math.floor((i % (h * w)) / w);
  return `index ${i} (image ${n}, row ${y}, column ${i % w})`;
}

export function checkNotEmpty(a: ArrayLike<unknown>, what: string): void {
  if (!a || a.length === 0) throw new MetricInputError(`${what} is empty: nothing to evaluate`);
}

/** Reject NaN and +-Infinity (sklearn does; the MVTec AD code would silently rank NaN first). */
export function checkFinite(scores: ScoreArray, what: string, shape?: MapShape): void {
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new MetricInputError(
        `${what} holds a non-finite value (${v}) at ${where(i, shape)}; ` +
          'anomaly scores must be finite numbers',
      );
    }
  }
}

/**
 * Binary labels as a Uint8Array of 0/1. Throws on any other value: a mask
 * read as 0..255 must be binarised by its loader, not here.
 */
export function toBinary(labels: LabelArray, what: string, shape?: MapShape): Uint8Array {
  if (labels instanceof Uint8Array) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] > 1) throw nonBinary(labels[i], i, what, shape);
    }
    return labels;
  }
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v !== 0 && v !== false) throw nonBinary(v, i, what, shape);
  }
  return out;
}

function nonBinary(v: unknown, i: number, what: string, shape?: MapShape): MetricInputError {
  return new MetricInputError(
    `${what} holds the value ${v} at ${where(i, shape)}; only 0 and 1 are allowed. ` +
      'Binarise masks when loading them (e.g. 8-bit value > 127), not in the metric',
  );
}

export function checkSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, an: string, bn: string): void {
  if (a.length !== b.length) {
    throw new MetricInputError(`${an} has ${a.length} values but ${bn} has ${b.length}; they must match one to one`);
  }
}

export function checkShape(shape: readonly number[], what: string): MapShape {
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new MetricInputError(`${what} shape must be [N, H, W] with positive integers, got ${JSON.stringify(shape)}`);
  }
  return shape as unknown as MapShape;
}

/** Compare map and mask shapes per dimension: equal lengths with swapped H, W must fail. */
export function checkSameShape(mapShape: MapShape, maskShape: MapShape): void {
  const names = ['image count N', 'height H', 'width W'];
  for (let d = 0; d < 3; d++) {
    if (mapShape[d] !== maskShape[d]) {
      throw new MetricInputError(
        `maps have shape [${mapShape}] but masks have shape [${maskShape}] (${names[d]} differs); ` +
          'resize masks to the evaluation size of the maps first',
      );
    }
  }
}

export function checkFprLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0 || limit > 1) {
    throw new MetricInputError(`fprLimit must be a number with 0 < fprLimit <= 1, got ${limit}`);
  }
  return limit;
}
