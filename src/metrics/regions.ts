/**
 * Connected components of one binary mask (the ground-truth regions of
 * AUPRO). 8-connectivity is the MVTec AD reference (scipy.ndimage.label with
 * a 3x3 structure of ones); 4-connectivity is offered for comparison.
 */
export type Connectivity = 4 | 8;

const N4 = [
  [-1, 0],
  [1, 0],
  [0, -1],
  [0, 1],
];
const N8 = [...N4, [-1, -1], [-1, 1], [1, -1], [1, 1]];

/**
 * Label the regions of `mask` (h*w values from `offset`) into `labels`
 * (1-based region id per pixel, 0 = normal) and return each region's size
 * (index 0 unused). `stack` is scratch space of at least h*w entries.
 */
export function labelRegions(
  mask: Uint8Array,
  offset: number,
  h: number,
  w: number,
  connectivity: Connectivity,
  labels: Int32Array,
  stack: Int32Array,
): number[] {
  const steps = connectivity === 8 ? N8 : N4;
  labels.fill(0, 0, h * w);
  const sizes = [0];
  for (let start = 0; start < h * w; start++) {
    if (!mask[offset + start] || labels[start]) continue;
    const id = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const y = (p / w) | 0;
      const x = p - y * w;
      for (const [dy, dx] of steps) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const q = yy * w + xx;
        if (mask[offset + q] && !labels[q]) {
          labels[q] = id;
          stack[top++] = q;
        }
      }
    }
    sizes.push(size);
  }
  return sizes;
}
