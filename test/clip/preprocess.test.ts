import t from 'tap';
import { normalize, preprocessImage, resizeBicubic, resizeShortCenterCrop } from '../../src/clip/preprocess.ts';
import { clipGolden, excess } from './fixtures/helpers.ts';

const g = clipGolden();
const raw = (name: string) => {
  const [height, width] = g.shape(name);
  return { width, height, data: Uint8Array.from(g.int32(name)) };
};

// raw0 landscape, raw1 portrait (crop offset 2.5 -> 2), raw0_48 upscaling (4.5 -> 4)
for (const [c, n, src] of [['raw0', 32, 'preproc.raw0.raw_u8'], ['raw1', 32, 'preproc.raw1.raw_u8'], ['raw0_48', 48, 'preproc.raw0.raw_u8']] as const) {
  t.test(`reference Resize(${n}) + CenterCrop + normalise on ${c}`, async (t) => {
    const { resized, cropped } = resizeShortCenterCrop(raw(src), n);
    const [rh, rw] = g.shape(`preproc.${c}.resized_u8`);
    t.same([resized.height, resized.width], [rh, rw], 'short side to n, long side truncated');
    t.ok(excess(resized.data, g.int32(`preproc.${c}.resized_u8`)) <= 0, 'bicubic resize is bit-exact with Pillow');
    t.ok(excess(cropped.data, g.int32(`preproc.${c}.cropped_u8`)) <= 0, 'centre crop offsets round half to even');
    t.ok(excess(normalize(cropped), g.float32(`preproc.${c}.output`)) <= 1e-5, 'normalised output within 1e-5');
  });
}

t.test('method preprocessing resizes to the exact square without cropping', async (t) => {
  const img = raw('preproc.raw0.raw_u8'); // 48 wide, 40 high
  const out = preprocessImage(img, 32);
  t.equal(out.length, 3 * 32 * 32);
  // Same resampler, one call per axis: equal to resizing to 32x32 directly.
  t.same(out, normalize(resizeBicubic(img, 32, 32)));
  // A flat image stays flat: mean/std applied per channel.
  const flat = { width: 5, height: 7, data: new Uint8Array(5 * 7 * 3).fill(255) };
  const f = preprocessImage(flat, 4);
  t.ok(Math.abs(f[0] - (1 - 0.48145466) / 0.26862954) < 1e-6);
  t.ok(Math.abs(f[3 * 16 - 1] - (1 - 0.40821073) / 0.27577711) < 1e-6);
  t.throws(() => preprocessImage({ width: 2, height: 2, data: new Uint8Array(5) }, 4), /expected 2x2x3/);
});
