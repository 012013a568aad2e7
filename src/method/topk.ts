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

/** Mean of the k largest values (float64 sum), ties counted as a multiset. */
export function topKMean(values: ArrayLike<number>, k: number): number {
  const n = values.length;
  if (n === 0) throw new Error('topKMean: empty map');
  if (k < 1 || k > n) throw new Error(`topKMean: k = ${k} outside 1..${n}`);
  const a = Float64Array.from(values);
  selectLargest(a, k);
  let sum = 0;
  for (let i = n - k; i < n; i++) sum += a[i];
  return sum / k;
}

/**
 * Rearrange `a` so that its last k entries are its k largest (as a
 * multiset), by quickselect on position n - k: O(n) instead of a sort.
 */
function selectLargest(a: Float64Array, k: number): void {
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    // median of three as pivot, Hoare partition
    const mid = (lo + hi) >>> 1;
    const p = median3(a[lo], a[mid], a[hi]);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return; // j < target < i: a[target] sits between the parts, equal to p
  }
}

function median3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}

/** Eq. 21 on an H*W map: mean of the top 1 %. */
export function topPercentMean(map: ArrayLike<number>, fraction = 0.01): number {
  return topKMean(map, topCount(map.length, fraction));
}
