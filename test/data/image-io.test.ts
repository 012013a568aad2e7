import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImage, readMask, resizeMask, resizeMaskBilinear, sniffImageType, readImageSize } from '../../src/data/image-io.ts';
import { bmp, jpeg, png, png16, put, sharedData, solid, tempDir } from './helpers.ts';

const dir = tempDir();

t.test('type comes from the bytes, not the extension', async (t) => {
  const asJpg = put(join(dir, 'lie', 'No15.jpg'), await png(2, 1, 4, [10, 20, 30, 0, 40, 50, 60, 255]));
  const asPng = put(join(dir, 'lie', 'photo.png'), await jpeg(8, 8, 3, solid(8, 8, [200, 100, 50])));
  const upper = put(join(dir, 'lie', 'Y100.JPG'), await jpeg(8, 8, 3, solid(8, 8, [200, 100, 50])));
  const jpeg2 = put(join(dir, 'lie', '1 no.jpeg'), await jpeg(8, 8, 1, new Array(64).fill(90)));
  t.equal(sniffImageType(readFileSync(asJpg)), 'png');
  t.equal(sniffImageType(readFileSync(asPng)), 'jpeg');
  // RGBA named .jpg: alpha dropped without compositing (as PIL convert('RGB')).
  t.same([...(await readImage(asJpg)).data], [10, 20, 30, 40, 50, 60]);
  for (const f of [asPng, upper]) {
    const im = await readImage(f);
    t.equal(im.width, 8);
    t.ok(Math.abs(im.data[0] - 200) <= 3 && Math.abs(im.data[1] - 100) <= 3 && Math.abs(im.data[2] - 50) <= 3, `${f} decodes its JPEG colour`);
  }
  const g = await readImage(jpeg2);
  t.equal(g.data.length, 8 * 8 * 3, 'grayscale JPEG comes out as RGB');
  t.ok(Math.abs(g.data[0] - 90) <= 2 && g.data[0] === g.data[1] && g.data[1] === g.data[2]);
});

t.test('PNG modes L, LA, P, RGB, RGBA and 16-bit all become 8-bit RGB', async (t) => {
  const L = put(join(dir, 'modes', 'l.png'), await png(2, 1, 1, [7, 250]));
  const LA = put(join(dir, 'modes', 'la.png'), await png(2, 1, 2, [7, 0, 250, 255]));
  const P = put(join(dir, 'modes', 'p.png'), await png(2, 1, 3, [255, 0, 0, 0, 0, 255], { palette: true }));
  const RGB = put(join(dir, 'modes', 'rgb.png'), await png(2, 1, 3, [1, 2, 3, 4, 5, 6]));
  const RGBA = put(join(dir, 'modes', 'rgba.png'), await png(2, 1, 4, [1, 2, 3, 0, 4, 5, 6, 9]));
  const G16 = put(join(dir, 'modes', 'g16.png'), await png16(2, 1, [0, 65535]));
  t.equal(readFileSync(L)[25], 0, 'colour type 0 (gray)');
  t.equal(readFileSync(LA)[25], 4, 'colour type 4 (gray + alpha)');
  t.equal(readFileSync(P)[25], 3, 'colour type 3 (palette)');
  t.equal(readFileSync(G16)[24], 16, 'bit depth 16');
  t.same([...(await readImage(L)).data], [7, 7, 7, 250, 250, 250]);
  t.same([...(await readImage(LA)).data], [7, 7, 7, 250, 250, 250]);
  t.same([...(await readImage(P)).data], [255, 0, 0, 0, 0, 255]);
  t.same([...(await readImage(RGB)).data], [1, 2, 3, 4, 5, 6]);
  t.same([...(await readImage(RGBA)).data], [1, 2, 3, 4, 5, 6]);
  t.same([...(await readImage(G16)).data], [0, 0, 0, 255, 255, 255]);
});

t.test('BMP: 24-bit, 8-bit with a colour table, top-down rows', async (t) => {
  const px = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7, 1, 2, 3, 200, 100, 50];
  const b24 = put(join(dir, 'bmp', 'a.bmp'), bmp(3, 2, px, { bits: 24 }));
  const b24td = put(join(dir, 'bmp', 'td.bmp'), bmp(3, 2, px, { bits: 24, topDown: true }));
  const pal = [[0, 0, 0], [10, 200, 30]];
  const b8 = put(join(dir, 'bmp', 'p.bmp'), bmp(3, 2, [0, 1, 0, 1, 1, 0], { bits: 8, palette: pal }));
  t.same([...(await readImage(b24)).data], px);
  t.same([...(await readImage(b24td)).data], px, 'top-down BMP keeps its row order');
  t.same([...(await readImage(b8)).data], [0, 0, 0, 10, 200, 30, 0, 0, 0, 10, 200, 30, 10, 200, 30, 0, 0, 0]);
  const size = await readImageSize(b24td);
  t.same(size, { type: 'bmp', width: 3, height: 2 });
  // An 8-bit BMP mask with a gray ramp: index 255 is white.
  const m = put(join(dir, 'bmp', '0020.bmp'), bmp(2, 2, [0, 255, 0, 0], { bits: 8 }));
  t.same([...(await readMask(m)).data], [0, 1, 0, 0]);
});

t.test('TIFF is read', async (t) => {
  const f = put(join(dir, 'tif', 'a.tiff'), await sharp(Buffer.from([5, 6, 7, 8, 9, 10]), { raw: { width: 2, height: 1, channels: 3 } }).tiff({ compression: 'lzw' }).toBuffer());
  t.same([...(await readImage(f)).data], [5, 6, 7, 8, 9, 10]);
});

t.test('masks: 0/1, 0/255, class ids, 16-bit, RGB and noisy JPEG', async (t) => {
  const zeroOne = put(join(dir, 'm', '01.png'), await png(4, 1, 1, [0, 1, 1, 0]));
  const m255 = put(join(dir, 'm', '255.png'), await png(4, 1, 1, [0, 255, 255, 0]));
  const ids = put(join(dir, 'm', 'visa.png'), await png(4, 1, 1, [0, 1, 9, 3]));
  const m16 = put(join(dir, 'm', '16.png'), await png16(4, 1, [0, 65535, 300, 0]));
  const rgb = put(join(dir, 'm', 'rgb.png'), await png(3, 1, 3, [0, 0, 0, 255, 0, 0, 0, 0, 20]));
  const a = await readMask(zeroOne);
  t.same([...a.data], [0, 1, 1, 0], '0/1 mask is not read as all black');
  t.equal(a.nonBinaryPixels, 2, 'value 1 is neither 0 nor 255: counted');
  const b = await readMask(m255);
  t.same([...b.data], [0, 1, 1, 0]);
  t.equal(b.nonBinaryPixels, 0);
  const c = await readMask(ids);
  t.same([...c.data], [0, 1, 1, 1], 'VisA class ids are anomalies at > 0');
  t.same([...(await readMask(ids, { threshold: 127 })).data], [0, 0, 0, 0], 'and vanish at > 127, the known pitfall');
  const d = await readMask(m16);
  t.same([...d.data], [0, 1, 1, 0]);
  t.equal(d.nonBinaryPixels, 1, '300 of 65535 is not binary');
  // Gray of pure red is (255*19595 + 32768) >> 16 = 76; of (0,0,20) it is 2.
  t.same([...(await readMask(rgb)).data], [0, 1, 1]);
  t.same([...(await readMask(rgb, { threshold: 76 })).data], [0, 0, 0]);
  t.same([...(await readMask(rgb, { threshold: 75 })).data], [0, 1, 0]);

  const w = 32;
  const sq = new Array(w * w * 3).fill(0);
  for (let y = 5; y < 21; y++) for (let x = 5; x < 21; x++) sq.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
  const jm = put(join(dir, 'm', 'kvasir.jpg'), await jpeg(w, w, 3, sq, 75));
  const j = await readMask(jm);
  t.ok(j.nonBinaryPixels > 0, 'JPEG mask has in-between values, counted');
  t.equal(j.data[12 * w + 12], 1);
  t.equal(j.data[31 * w + 31], 0, "a block without the square stays 0");
  t.ok(j.data.reduce((s, v) => s + v, 0) >= 256, '> 0 keeps at least the drawn square');
});

t.test('resizeMask matches the torch reference (bilinear, half-pixel, no antialias)', async (t) => {
  const fx = JSON.parse(readFileSync(new URL('./fixtures/maskdown.json', import.meta.url), 'utf8'));
  for (const name of ['maskdown', 'maskdown_tiny']) {
    const mask = Uint8Array.from(fx[name].mask);
    const soft = resizeMaskBilinear(mask, 48, 48, 6);
    t.same([...soft], fx[name].resized, `${name}: interpolated values exact`);
    t.same([...resizeMask(mask, 48, 48, 6)], fx[name].resized.map((v: number) => (v > 0.5 ? 1 : 0)), `${name}: > 0.5`);
    t.same([...resizeMask(mask, 48, 48, 6)], fx[name].is_anomaly, `${name}: the cells that are exactly 1`);
  }
  // Upsampling keeps a one-pixel mask's centre.
  t.same([...resizeMask(Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), 3, 3, 3)], [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  t.throws(() => resizeMask(new Uint8Array(5), 2, 2, 4), /expected 2x2/);
});

t.test('unreadable files: clear errors naming the file', async (t) => {
  const txt = put(join(dir, 'bad', '._000.png'), 'Mac OS X        \u0000\u0005\u0016\u0007');
  await t.rejects(readImage(txt), { message: new RegExp(`${txt.replace(/[.]/g, '\\.')}: not a readable image .*expected PNG, JPEG, BMP or TIFF`) });
  await t.rejects(readImage(join(dir, 'bad', 'nope.png')), /nope\.png: cannot read image: file does not exist/);
  const trunc = put(join(dir, 'bad', 'trunc.png'), (await png(64, 64, 3, solid(64, 64, [1, 2, 3]))).subarray(0, 60));
  await t.rejects(readImage(trunc), /trunc\.png: cannot decode PNG content/);
});

// Independent reference: PIL 9.4 `np.asarray(Image.open(f).convert('RGB'))`,
// sha256 of the bytes (first 16 hex digits) and the sum of all values;
// masks: `convert('L')` then counts of > 0, > 127 and values not 0/255.
t.test('real files decode like PIL', { skip: !existsSync(sharedData) && `../shared/data not found at ${sharedData}` }, async (t) => {
  const exact: [string, string, number][] = [
    ['brainmri/brain_tumor_dataset/no/No15.jpg', '22e2c5184215b090', 26886263], // PNG RGBA named .jpg
    ['brainmri/brain_tumor_dataset/no/no 9.png', '0c77f7406e0c470d', 217341393],
    ['brainmri/brain_tumor_dataset/yes/Y92.png', '1f6f721288781b86', 14710224], // PNG L
    ['mvtec/grid/test/bent/000.png', 'eeb956eb2719fe97', 358349031], // MVTec grid is mode L
    ['headct/head_ct/head_ct/188.png', 'd0a38fc4da25a6a8', 12018501], // RGBA
  ];
  for (const [f, sha, sum] of exact) {
    const im = await readImage(join(sharedData, f));
    t.equal(createHash('sha256').update(im.data).digest('hex').slice(0, 16), sha, `${f}: same pixels as PIL`);
    t.equal(im.data.reduce((s, v) => s + v, 0), sum);
  }
  // JPEG decoders may differ by a level here and there.
  for (const [f, sum, n] of [['br35h/no/no0.jpg', 76573608, 630 * 630 * 3], ['brainmri/brain_tumor_dataset/no/N1.JPG', 23792219, 338 * 276 * 3]] as const) {
    const im = await readImage(join(sharedData, f));
    t.equal(im.data.length, n);
    t.ok(Math.abs(im.data.reduce((s, v) => s + v, 0) - sum) / n < 0.5, `${f}: mean within half a level of PIL`);
  }
  const grid = await readMask(join(sharedData, 'mvtec/grid/ground_truth/bent/000_mask.png'));
  t.equal(grid.data.reduce((s, v) => s + v, 0), 5460);
  t.equal(grid.nonBinaryPixels, 0);
  const kv = join(sharedData, 'kvasir/Kvasir-SEG/masks/cju0qkwl35piu0993l0dewei2.jpg');
  const k0 = await readMask(kv);
  t.equal(k0.data.reduce((s, v) => s + v, 0), 94684, 'Kvasir mask > 0 as PIL');
  t.equal(k0.nonBinaryPixels, 3396);
  t.equal((await readMask(kv, { threshold: 127 })).data.reduce((s, v) => s + v, 0), 93043, 'Kvasir mask > 127 as PIL');
});
