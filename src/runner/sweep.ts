/**
 * Sweeps: one pipeline, many runs. Each point is a set of overrides applied
 * like `-S`; points share every node whose key is equal, so a sweep over a
 * late param reuses the early nodes from the cache.
 *
 * YAML:
 *   sweep:
 *     grid:   { params.alpha: [0.1, 0.5], feat.layers: [[6], [6, 12]] }
 *     ranges inside grid: { params.T: { start: 0, stop: 1, step: 0.25 } }
 *     points: [ { params.alpha: 0.1, params.T: 0.2 }, ... ]
 * `grid` is the cartesian product of its axes (in the order written);
 * `points` is an explicit list; with both, every point is combined with every
 * grid cell. A range includes `stop` when a step lands on it.
 *
 * Command line: `--sweep path=v1,v2,v3` or `--sweep path=start:stop:step`,
 * repeatable (each flag is one grid axis); it replaces the file's sweep.
 */
import { Diagnostics, type Loc } from './errors.ts';
import { isPlainObject } from './merge.ts';
import { splitTopLevel, type Override } from './overrides.ts';
import type { LocTable } from './yaml-source.ts';

export type SweepPoint = Override[];

interface Axis {
  path: string;
  values: Override[];
}

const RANGE = /^\s*(-?[\d.e+-]+)\s*:\s*(-?[\d.e+-]+)\s*:\s*(-?[\d.e+-]+)\s*$/i;

export function rangeValues(start: number, stop: number, step: number): number[] {
  if (!(step > 0) || !Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new Error(
      `range needs finite start/stop and a positive step (got ${start}:${stop}:${step})`,
    );
  }
  const out: number[] = [];
  const n = Math.floor((stop - start) / step + 1e-9);
  for (let i = 0; i <= n; i++) out.push(Number((start + i * step).toPrecision(12)));
  return out;
}

/** Axes from `--sweep` flags. */
export function cliSweep(args: string[]): SweepPoint[] {
  const axes: Axis[] = args.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`--sweep ${arg}: expected path=v1,v2 or path=start:stop:step`);
    const path = arg.slice(0, eq).trim();
    const rhs = arg.slice(eq + 1);
    const source = `--sweep ${arg}`;
    const r = RANGE.exec(rhs);
    if (r) {
      const vals = rangeValues(Number(r[1]), Number(r[2]), Number(r[3]));
      return { path, values: vals.map((v) => ({ path, value: v, source })) };
    }
    return { path, values: splitTopLevel(rhs).map((text) => ({ path, text, source })) };
  });
  return product(axes);
}

/** Points of a YAML `sweep:` block (empty when there is none). */
export function yamlSweep(spec: unknown, locs: LocTable, diags: Diagnostics): SweepPoint[] {
  if (spec === undefined) return [];
  const at = (...p: (string | number)[]): Loc | undefined => locs.value(['sweep', ...p]);
  if (!isPlainObject(spec)) {
    diags.add(at(), 'sweep must be a map with `grid` and/or `points`');
    return [];
  }
  for (const k of Object.keys(spec)) {
    if (k !== 'grid' && k !== 'points') {
      diags.add(locs.key(['sweep', k]), `unknown sweep field "${k}" (expected grid or points)`);
    }
  }
  const typed = (path: string, value: unknown, loc: Loc | undefined): Override => ({
    path,
    value,
    source: `sweep ${path}=${JSON.stringify(value)}`,
    loc,
  });

  const axes: Axis[] = [];
  if (spec.grid !== undefined) {
    if (!isPlainObject(spec.grid))
      diags.add(at('grid'), 'sweep.grid must map paths to lists of values');
    else {
      for (const [path, v] of Object.entries(spec.grid)) {
        const loc = at('grid', path);
        if (Array.isArray(v)) {
          axes.push({ path, values: v.map((x, i) => typed(path, x, at('grid', path, i))) });
        } else if (isPlainObject(v) && 'start' in v && 'stop' in v && 'step' in v) {
          try {
            const vals = rangeValues(Number(v.start), Number(v.stop), Number(v.step));
            axes.push({ path, values: vals.map((x) => typed(path, x, loc)) });
          } catch (e) {
            diags.add(loc, `sweep.grid.${path}: ${(e as Error).message}`);
          }
        } else {
          diags.add(loc, `sweep.grid.${path}: expected a list of values or {start, stop, step}`);
        }
      }
    }
  }
  let points: SweepPoint[] = [[]];
  if (spec.points !== undefined) {
    if (!Array.isArray(spec.points)) diags.add(at('points'), 'sweep.points must be a list of maps');
    else {
      points = spec.points.map((p, i) => {
        if (!isPlainObject(p)) {
          diags.add(at('points', i), 'each sweep point must be a map of path: value');
          return [];
        }
        return Object.entries(p).map(([path, v]) => typed(path, v, at('points', i, path)));
      });
    }
  }
  const grid = product(axes);
  return points.flatMap((p) => grid.map((g) => [...p, ...g]));
}

function product(axes: Axis[]): SweepPoint[] {
  let out: SweepPoint[] = [[]];
  for (const axis of axes) out = out.flatMap((p) => axis.values.map((v) => [...p, v]));
  return out;
}
