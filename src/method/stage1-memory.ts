/**
 * Building the Stage-1 memories from the auxiliary set (MRAD Stage 1).
 *
 * Image memory: one key per image, its L2-normalised global feature, with
 * the one-hot image label as value. Patch memory: per image, the mask is
 * brought to the patch grid (see `mask-grid.ts`) and the smoothed ln_post
 * tokens give at most one normal and one anomaly prototype. Each key keeps
 * the index of the sample it came from (`owner`), so that tests and logs
 * can check what the quantile filter removes.
 */
import { l2NormalizeRows } from './smoothing.ts';
import { maskToGrid, maskPrototypes } from './mask-grid.ts';
import type { MemoryBank } from './stage1-io.ts';

export interface MemoryImage {
  /** Global feature [E] (not yet normalised). */
  global: Float32Array;
  /** Smoothed ln_post tokens of the memory layer [N,D]. */
  mem: Float32Array;
  label: 0 | 1;
  /** 0/1 mask at size x size. */
  mask: Uint8Array;
}

export class MemoryBuilder {
  private imgKeys: Float32Array[] = [];
  private imgVals: number[] = [];
  private imgOwners: number[] = [];
  private patKeys: Float32Array[] = [];
  private patVals: number[] = [];
  private patOwners: number[] = [];

  constructor(
    readonly E: number,
    readonly D: number,
    readonly grid: number,
    readonly size: number,
  ) {}

  add(owner: number, img: MemoryImage): { normal: boolean; anomaly: boolean } {
    if (img.global.length !== this.E) throw new Error(`memory: global feature of sample ${owner} has ${img.global.length} values, expected E = ${this.E}`);
    if (img.mem.length !== this.grid * this.grid * this.D) {
      throw new Error(`memory: tokens of sample ${owner} have ${img.mem.length} values, expected N*D = ${this.grid ** 2}*${this.D}`);
    }
    this.imgKeys.push(l2NormalizeRows(img.global, this.E));
    this.imgVals.push(img.label);
    this.imgOwners.push(owner);

    const gridMask = maskToGrid(Float32Array.from(img.mask), this.size, this.size, this.grid); // [g*g]
    const protos = maskPrototypes(img.mem, this.D, gridMask);
    for (const [cls, p] of [[0, protos.normal], [1, protos.anomaly]] as const) {
      if (!p) continue;
      this.patKeys.push(p.key);
      this.patVals.push(cls);
      this.patOwners.push(owner);
    }
    return { normal: Boolean(protos.normal), anomaly: Boolean(protos.anomaly) };
  }

  build(): MemoryBank {
    const oneHot = (vals: number[]) => {
      const v = new Float32Array(vals.length * 2);
      vals.forEach((c, i) => (v[i * 2 + c] = 1));
      return v;
    };
    const concat = (rows: Float32Array[], C: number) => {
      const out = new Float32Array(rows.length * C);
      rows.forEach((r, i) => out.set(r, i * C));
      return out;
    };
    if (this.imgKeys.length === 0) throw new Error('memory: the auxiliary dataset has no images');
    return {
      E: this.E,
      D: this.D,
      Kimg: concat(this.imgKeys, this.E),
      Vimg: oneHot(this.imgVals),
      Kpat: concat(this.patKeys, this.D),
      Vpat: oneHot(this.patVals),
      ownerImg: Int32Array.from(this.imgOwners),
      ownerPat: Int32Array.from(this.patOwners),
    };
  }
}
