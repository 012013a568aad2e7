/**
 * a_loc of EntroAD Eq. 21: the mean of the top 1 % values of the final map.
 *
 * k = floor(0.01 * H * W) (2683 at 518x518). The mean is over the k largest
 * values as a multiset, so ties at the k-th value need no rule.
 * [ours] For maps under 100 pixels the floor gives k = 0; we take k = 1
 * (the maximum) so that tiny test maps still have a score.
 */

/** k = max(1, floor(fraction * n)). */
export function topCount(n: number, fraction = 0.01): number {
  return Math.max(1, Math.floor(fraction * n));
}

/** Mean of the k largest values (float64 sum). */
export function topKMean(values: ArrayLike<number>, k: number): number {
  const n = values.length;
  if (n === 0) throw new Error('topKMean: empty map');
  if (k < 1 || k > n) throw new Error(`topKMean: k = ${k} outside 1..${n}`);
  const sorted = Float64Array.from(values).sort(); // ascending
  let sum = 0;
  for (let i = n - k; i < n; i++) sum += sorted[i];
  return sum / k;
}

/** Eq. 21 on an H*W map: mean of the top 1 %. */
export function topPercentMean(map: ArrayLike<number>, fraction = 0.01): number {
  return topKMean(map, topCount(map.length, fraction));
}
