/**
 * The position table resized 4x4 -> 6x6 as torch's interpolate does:
 * bilinear against the method fixture (abs 1e-6), bicubic against
 * clip-tiny's vision48.pos_embed, plus hand-checked small cases.
 */
import t from 'tap';
import { resizePosTable } from '../../src/clip/pos-embed.ts';
import { excess, goldens, tinyWeights } from './fixtures/load.ts';

const table = tinyWeights().get('vision_model.embeddings.position_embedding.weight').data;

t.test('bilinear 4x4 -> 6x6 matches pos48_bilinear.pos_embed', async (t) => {
  const got = resizePosTable(table, 64, 6, 'bilinear');
  t.equal(got.length, 37 * 64);
  t.ok(excess(got, goldens('method').float32('pos48_bilinear.pos_embed'), 1e-6) <= 0);
});

t.test('bicubic 4x4 -> 6x6 matches vision48.pos_embed', async (t) => {
  const got = resizePosTable(table, 64, 6, 'bicubic');
  t.ok(excess(got, goldens('clip-tiny').float32('vision48.pos_embed'), 1e-6) <= 0);
});

t.test('class row kept; same size is a copy; 1-D hand case', async (t) => {
  // width 1, grid 2 -> 4 (bilinear): row values [a b; c d] = [0 4; 8 12].
  // Source coordinates for 4 outputs from 2: (i+0.5)/2-0.5 = -0.25 (clamped 0), 0.25, 0.75, 1.25 (upper tap clamped).
  const tiny = Float32Array.of(7, 0, 4, 8, 12);
  const out = resizePosTable(tiny, 1, 4, 'bilinear');
  t.equal(out[0], 7, 'class row');
  t.same(Array.from(out.subarray(1, 5)), [0, 1, 3, 4], 'first row: 0, 0.25*4, 0.75*4, 4');
  t.same(Array.from(out.subarray(13, 17)), [8, 9, 11, 12], 'last row');
  const same = resizePosTable(tiny, 1, 2, 'bicubic');
  t.same(Array.from(same), Array.from(tiny));
  t.throws(() => resizePosTable(Float32Array.of(7, 0, 4, 8), 1, 4, 'bilinear'), /is not 1 \+ a square grid/);
});
