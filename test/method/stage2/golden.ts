/**
 * Access to the method goldens (fixture sections 4, 7 and 9: Gaussian,
 * routing and gating, fusion and top-1 %), from the project's copy of the
 * fixture in test/fixtures/method.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type SafetensorsFile } from '../../../src/util/safetensors.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const goldenDir = join(repoRoot, 'test/fixtures/method');

let st: SafetensorsFile | null = null;
let js: any = null;
export function golden(): SafetensorsFile {
  st ??= readSafetensors(join(goldenDir, 'golden.safetensors'));
  return st;
}
export function goldenJson(): any {
  js ??= JSON.parse(readFileSync(join(goldenDir, 'golden.json'), 'utf8'));
  return js;
}

/** Largest |a - b| - (atol + rtol |b|); <= 0 means within tolerance. */
export function worstExcess(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol = 0): number {
  if (a.length !== b.length) return Infinity;
  let worst = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const ex = Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i]));
    if (!(ex <= worst)) worst = Number.isNaN(ex) ? Infinity : Math.max(worst, ex);
  }
  return worst;
}
