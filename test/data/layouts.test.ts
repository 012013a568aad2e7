/**
 * Each benchmark layout and each quirk of real copies, on small folders the
 * test builds itself.
 */
import t from 'tap';
import { join } from 'node:path';
import { listDataset, countByCategory } from '../../src/data/adapters/index.ts';
import { buildManifest } from '../../src/data/manifest.ts';
import { HashIndex } from '../../src/data/hash-index.ts';
import { readSampleMask } from '../../src/data/samples.ts';
import { findDuplicates, crossDatasetDuplicates } from '../../src/data/duplicates.ts';
import { bmp, jpeg, maskPng, png, put, rgbPng, solid, tempDir } from './helpers.ts';

const build = (l: Parameters<typeof buildManifest>[0], name = 'x') =>
  buildManifest(l, { name, domain: 'industrial', maskThreshold: 0, index: new HashIndex(tempDir()) });

t.test('MVTec: root text files, __MACOSX, ._ files, masks matched by name', async (t) => {
  const root = tempDir();
  put(join(root, 'readme.txt'), 'MVTec AD');
  put(join(root, 'license.txt'), 'CC BY-NC-SA 4.0');
  const c = join(root, 'cable');
  put(join(c, 'train/good/000.png'), await rgbPng(4, 4));
  put(join(c, 'test/good/000.png'), await rgbPng(4, 4, [1, 1, 1]));
  put(join(c, 'test/good/._000.png'), 'AppleDouble');
  put(join(c, 'test/crack/000.png'), await rgbPng(4, 4, [2, 2, 2]));
  put(join(c, 'test/crack/002.png'), await rgbPng(4, 4, [3, 3, 3])); // no 001: sorted position would pair 002 with 001_mask
  put(join(c, 'ground_truth/crack/000_mask.png'), await maskPng(4, 4));
  put(join(c, 'ground_truth/crack/001_mask.png'), await maskPng(4, 4));
  put(join(c, 'ground_truth/crack/002_mask.png'), await maskPng(4, 4));
  put(join(root, '__MACOSX/cable/test/crack/._000.png'), 'AppleDouble');

  const l = listDataset('mvtec', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), { cable: { normal: 1, anomalous: 2, masks: 2 } });
  const s002 = l.samples.find((s) => s.image.endsWith('crack/002.png'))!;
  t.equal(s002.mask, join(c, 'ground_truth/crack/002_mask.png'), 'matched by name, not by sorted position');
  t.same(countByCategory(listDataset('mvtec', root, { split: 'train' })), { cable: { normal: 1, anomalous: 0, masks: 0 } });
  const { manifest } = await build(l, 'mvtec');
  t.same(manifest.samples.map((s) => s.id), ['cable/cable/test/crack/000.png', 'cable/cable/test/crack/002.png', 'cable/cable/test/good/000.png']);
});

t.test('MVTec: missing ground truth, missing mask, unknown category, missing root', async (t) => {
  const root = tempDir();
  put(join(root, 'bottle/test/good/000.png'), await rgbPng(4, 4));
  put(join(root, 'bottle/test/broken/000.png'), await rgbPng(4, 4, [9, 9, 9]));
  const l = listDataset('mvtec', root, { split: 'test' });
  t.equal(l.problems.length, 1);
  t.match(l.problems[0].file, join(root, 'bottle/ground_truth'));
  t.match(l.problems[0].message, /has 1 anomalous test images but no ground_truth\/ folder; expected ground_truth\/<defect>\/<stem>_mask\.png/);
  await t.rejects(build(l), /bottle\/ground_truth: missing: category "bottle"/);

  const allowed = listDataset('mvtec', root, { split: 'test', allowMissingMasks: true });
  const { manifest } = await build(allowed);
  t.same(manifest.categoriesWithoutMasks, ['bottle']);
  t.match(manifest.notes.join('\n'), /only image-level metrics apply/);

  put(join(root, 'bottle/ground_truth/broken/001_mask.png'), await maskPng(4, 4));
  const m = listDataset('mvtec', root, { split: 'test' });
  t.match(m.problems[0], {
    file: join(root, 'bottle/test/broken/000.png'),
    message: new RegExp(`anomalous image without mask: expected ${join(root, 'bottle/ground_truth/broken/000_mask.png')}`),
  });

  t.throws(() => listDataset('mvtec', root, { split: 'test', categories: ['screw'] }), /category "screw" not found under .*; available: bottle/);
  t.throws(() => listDataset('mvtec', join(root, 'nope'), { split: 'test' }), /dataset root .*nope does not exist or is not a folder; format "mvtec" expects/);
});

t.test('mask size differs from its image: refused at listing (headers) and when read', async (t) => {
  const root = tempDir();
  put(join(root, 'tile/test/good/000.png'), await rgbPng(8, 8));
  put(join(root, 'tile/test/crack/000.png'), await rgbPng(8, 8));
  const mask = put(join(root, 'tile/ground_truth/crack/000_mask.png'), await maskPng(8, 6));
  const l = listDataset('mvtec', root, { split: 'test' });
  await t.rejects(build(l), { message: `${mask}: mask is 8x6 but its image ${join(root, 'tile/test/crack/000.png')} is 8x8; a mask must have exactly its image's size` });
  const sample = {
    id: 'a', imagePath: join(root, 'tile/test/crack/000.png'), relPath: '', imageHash: '', category: 'tile',
    label: 1 as const, maskPath: mask, maskHash: null, defectType: 'crack',
  };
  await t.rejects(readSampleMask(sample), /mask is 8x6 but its image .* is 8x8/);
  const normal = await readSampleMask({ ...sample, imagePath: join(root, 'tile/test/good/000.png'), maskPath: null, label: 0 });
  t.equal(normal.data.length, 64, 'a normal image gets an all-zero mask of its size');
  t.equal(normal.data.reduce((a, b) => a + b, 0), 0);
});

t.test('an unreadable file named like an image is refused, naming it', async (t) => {
  const root = tempDir();
  put(join(root, 'wood/test/good/000.png'), await rgbPng(4, 4));
  const bad = put(join(root, 'wood/test/good/001.png'), 'version https://git-lfs.github.com/spec/v1\n');
  const l = listDataset('mvtec', root, { split: 'test' });
  await t.rejects(build(l), new RegExp(`${bad.replace(/\./g, '\\.')}: not a readable image \\(it starts with bytes 76 65 72 73`));
});

t.test('BTAD: ok/ko, mask extension differs, class 03 BMP masks, names from the stem', async (t) => {
  const root = tempDir();
  const px = solid(4, 4, [50, 60, 70]);
  put(join(root, '01/train/ok/0000.bmp'), bmp(4, 4, px, { bits: 24 }));
  put(join(root, '01/test/ok/0000.bmp'), bmp(4, 4, px, { bits: 24 }));
  put(join(root, '01/test/ko/0020.bmp'), bmp(4, 4, px, { bits: 24 }));
  put(join(root, '01/ground_truth/ko/0020.png'), await maskPng(4, 4));
  put(join(root, '02/test/ko/0001.png'), await rgbPng(4, 4));
  put(join(root, '02/ground_truth/ko/0001.png'), await maskPng(4, 4));
  put(join(root, '03/test/ko/0005.bmp'), bmp(4, 4, px, { bits: 24 }));
  put(join(root, '03/ground_truth/ko/0005.bmp'), bmp(4, 4, [0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { bits: 8 }));
  const l = listDataset('btad', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), {
    '01': { normal: 1, anomalous: 1, masks: 1 },
    '02': { normal: 0, anomalous: 1, masks: 1 },
    '03': { normal: 0, anomalous: 1, masks: 1 },
  });
  t.equal(l.samples.find((s) => s.category === '01' && s.label === 1)!.mask, join(root, '01/ground_truth/ko/0020.png'), 'not 0020.bm.png');
  const { manifest } = await build(l, 'btad');
  const s03 = manifest.samples.find((s) => s.category === '03')!;
  const m = await readSampleMask(s03);
  t.same([...m.data].slice(0, 4), [0, 1, 0, 0], 'BMP mask read');
});

t.test('MPDD and DTD-Synthetic read the MVTec layout', async (t) => {
  const root = tempDir();
  put(join(root, 'bracket_black/test/good/000.png'), await rgbPng(4, 4));
  put(join(root, 'bracket_black/test/hole/000.png'), await rgbPng(4, 4));
  put(join(root, 'bracket_black/ground_truth/hole/000_mask.png'), await maskPng(4, 4));
  put(join(root, '__MACOSX/bracket_black/test/hole/._000.png'), 'x');
  t.same(countByCategory(listDataset('mpdd', root, { split: 'test' })), { bracket_black: { normal: 1, anomalous: 1, masks: 1 } });
  const dtd = tempDir();
  put(join(dtd, 'Woven_001/test/good/000.png'), await rgbPng(4, 4));
  put(join(dtd, 'Woven_001/test/bad/000.png'), await rgbPng(4, 4));
  put(join(dtd, 'Woven_001/ground_truth/bad/000_mask.png'), await maskPng(4, 4));
  t.same(countByCategory(listDataset('dtd', dtd, { split: 'test' })), { Woven_001: { normal: 1, anomalous: 1, masks: 1 } });
});

t.test('VisA: CRLF, quoted fields with commas, class-id masks', async (t) => {
  const root = tempDir();
  put(join(root, 'split_csv/1cls.csv'), [
    'object,split,label,image,mask',
    'candle,train,normal,candle/Data/Images/Normal/0000.JPG,',
    'candle,test,normal,candle/Data/Images/Normal/0001.JPG,',
    'candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png',
    '"pcb1",test,anomaly,"pcb1/Data/Images/Anomaly/000.JPG","pcb1/Data/Masks/Anomaly/000.png"',
    '',
  ].join('\r\n'));
  put(join(root, 'candle/image_anno.csv'), [
    'image,label,mask',
    'candle/Data/Images/Normal/0001.JPG,normal,',
    'candle/Data/Images/Anomaly/000.JPG,"bubble,discolor",candle/Data/Masks/Anomaly/000.png',
  ].join('\r\n') + '\r\n');
  for (const f of ['candle/Data/Images/Normal/0000.JPG', 'candle/Data/Images/Normal/0001.JPG', 'candle/Data/Images/Anomaly/000.JPG', 'pcb1/Data/Images/Anomaly/000.JPG']) {
    put(join(root, f), await jpeg(8, 8, 3, solid(8, 8, [100, 90, 80])));
  }
  // Masks hold defect-class ids (here 3 and 7), not 255.
  const ids = new Array(64).fill(0);
  ids[9] = 3;
  ids[10] = 7;
  put(join(root, 'candle/Data/Masks/Anomaly/000.png'), await png(8, 8, 1, ids));
  put(join(root, 'pcb1/Data/Masks/Anomaly/000.png'), await png(8, 8, 1, ids));

  const l = listDataset('visa', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), { candle: { normal: 1, anomalous: 1, masks: 1 }, pcb1: { normal: 0, anomalous: 1, masks: 1 } });
  const a = l.samples.find((s) => s.category === 'candle' && s.label === 1)!;
  t.equal(a.defectType, 'bubble,discolor');
  t.notOk(a.image.endsWith('\r'), 'no carriage return left in a path');
  const { manifest } = await build(l, 'visa');
  const m = await readSampleMask(manifest.samples.find((s) => s.category === 'pcb1')!);
  t.equal(m.data.reduce((x, y) => x + y, 0), 2, 'class ids binarised at > 0');
  t.equal(m.nonBinaryPixels, 2);
  t.same(countByCategory(listDataset('visa', root, { split: 'train' })), { candle: { normal: 1, anomalous: 0, masks: 0 } });
  t.throws(() => listDataset('visa', tempDir(), { split: 'test' }), /split_csv\/1cls\.csv not found: .*use format "mvtec"/);
});

t.test('HeadCT: header with a leading space, unpadded ids, doubly nested folder', async (t) => {
  const root = tempDir();
  put(join(root, 'labels.csv'), 'id, hemorrhage\n0,1\n7,1\n100,0\n123,0\n');
  for (const n of ['000', '007', '100']) put(join(root, 'head_ct/head_ct', `${n}.png`), await png(4, 4, 4, solid(4, 4, [9, 9, 9, 255])));
  const l = listDataset('headct', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), { brain: { normal: 1, anomalous: 2, masks: 0 } });
  t.equal(l.samples.find((s) => s.image.endsWith('007.png'))!.label, 1, 'file 007 is id 7');
  t.equal(l.hasMasks, false);
  t.match(l.notes.join('\n'), /labels\.csv lists 1 ids whose image is absent/);
  put(join(root, 'head_ct/head_ct/150.png'), await rgbPng(4, 4));
  t.match(listDataset('headct', root, { split: 'test' }).problems[0].message, /no row in .*labels\.csv for this image/);
  t.same(listDataset('headct', root, { split: 'train' }).samples, [], 'no train split');
});

t.test('BrainMRI: brain_tumor_dataset only, extension lies, spaces', async (t) => {
  const root = tempDir();
  const inner = join(root, 'brain_tumor_dataset');
  put(join(inner, 'no/no 98.jpg'), await png(4, 4, 3, solid(4, 4, [1, 2, 3]), { palette: true })); // a palette PNG named .jpg
  put(join(inner, 'no/1 no.jpeg'), await jpeg(4, 4, 1, new Array(16).fill(40)));
  put(join(inner, 'yes/Y1.jpg'), await jpeg(4, 4, 3, solid(4, 4, [200, 10, 10])));
  put(join(inner, 'yes/Y100.JPG'), await jpeg(4, 4, 3, solid(4, 4, [10, 200, 10])));
  // The archive's byte-identical top-level copies must not be counted twice.
  put(join(root, 'yes/Y1.jpg'), await jpeg(4, 4, 3, solid(4, 4, [200, 10, 10])));
  put(join(root, 'no/1 no.jpeg'), await jpeg(4, 4, 1, new Array(16).fill(40)));
  const l = listDataset('brainmri', root, { split: 'test' });
  t.same(countByCategory(l), { brain: { normal: 2, anomalous: 2, masks: 0 } });
  t.match(l.notes.join('\n'), /top-level yes\/ and no\/ ignored/);
  const { manifest } = await build(l, 'brainmri');
  t.equal(manifest.samples.length, 4, 'a PNG named .jpg hashes and validates');
});

t.test('Br35H: pred/ is not a class', async (t) => {
  const root = tempDir();
  put(join(root, 'yes/y0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [5, 5, 5])));
  put(join(root, 'no/no0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [6, 6, 6])));
  put(join(root, 'no/No12.jpg'), await jpeg(4, 4, 3, solid(4, 4, [7, 7, 7])));
  put(join(root, 'pred/pred0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [8, 8, 8])));
  put(join(root, 'pred/pred1.jpg'), await jpeg(4, 4, 3, solid(4, 4, [9, 9, 9])));
  const l = listDataset('br35h', root, { split: 'test' });
  t.same(countByCategory(l), { brain: { normal: 2, anomalous: 1, masks: 0 } });
  t.match(l.notes.join('\n'), /pred\/ \(2 unlabeled images\) ignored: it is not a class/);
});

t.test('Kvasir: all anomalous, category colon, masks by name', async (t) => {
  const root = tempDir();
  const k = join(root, 'Kvasir-SEG');
  for (const id of ['cju0b', 'cju0a']) {
    put(join(k, 'images', `${id}.jpg`), await jpeg(8, 8, 3, solid(8, 8, [180, 90, 90])));
    put(join(k, 'masks', `${id}.jpg`), await jpeg(8, 8, 3, solid(8, 8, [255, 255, 255])));
  }
  put(join(k, 'kavsir_bboxes.json'), '{}');
  const l = listDataset('kvasir', root, { split: 'test' });
  t.same(countByCategory(l), { colon: { normal: 0, anomalous: 2, masks: 2 } });
  for (const s of l.samples) t.equal(s.mask, s.image.replace('/images/', '/masks/'));
  put(join(k, 'images', 'cju0c.jpg'), await jpeg(8, 8, 3, solid(8, 8, [1, 1, 1])));
  t.match(listDataset('kvasir', root, { split: 'test' }).problems[0], { file: join(k, 'images/cju0c.jpg'), message: /anomalous image without mask/ });
});

t.test('Endo: image folders plus masks/', async (t) => {
  const root = tempDir();
  put(join(root, 'images/b.jpg'), await jpeg(8, 8, 3, solid(8, 8, [1, 2, 3])));
  put(join(root, 'images/a.jpg'), await jpeg(8, 8, 3, solid(8, 8, [1, 2, 3])));
  put(join(root, 'good/n.jpg'), await jpeg(8, 8, 3, solid(8, 8, [1, 2, 3])));
  put(join(root, 'masks/a.png'), await maskPng(8, 8));
  put(join(root, 'masks/b.png'), await maskPng(8, 8));
  const l = listDataset('endo', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), { colon: { normal: 1, anomalous: 2, masks: 2 } });
  t.equal(l.samples.find((s) => s.image.endsWith('b.jpg'))!.mask, join(root, 'masks/b.png'));
});

t.test('meta.json: absolute and relative paths, double slashes, empty mask_path', async (t) => {
  const root = tempDir();
  put(join(root, 'bottle/test/good/000.png'), await rgbPng(4, 4));
  put(join(root, 'bottle/test/broken/000.png'), await rgbPng(4, 4, [5, 5, 5]));
  put(join(root, 'bottle/ground_truth/broken/000_mask.png'), await maskPng(4, 4));
  put(join(root, 'brain/yes/y0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [5, 5, 5])));
  put(join(root, 'brain/no/n0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [9, 9, 9])));
  const meta = {
    train: {},
    test: {
      bottle: [
        { img_path: 'bottle/test/good//000.png', mask_path: '', cls_name: 'bottle', specie_name: 'good', anomaly: 0 },
        { img_path: 'bottle/test/broken//000.png', mask_path: 'bottle/ground_truth/broken/000_mask.png', cls_name: 'bottle', specie_name: 'broken', anomaly: 1 },
      ],
      brain: [
        { img_path: join(root, 'brain/yes/y0.jpg'), mask_path: '', cls_name: 'brain', specie_name: 'yes', anomaly: 1 },
        { img_path: `${root}/brain/no//n0.jpg`, mask_path: '', cls_name: 'brain', specie_name: 'no', anomaly: 0 },
      ],
    },
  };
  put(join(root, 'meta.json'), JSON.stringify(meta, null, 4) + '\n');
  const l = listDataset('meta', root, { split: 'test' });
  t.same(l.problems, []);
  t.same(countByCategory(l), { bottle: { normal: 1, anomalous: 1, masks: 1 }, brain: { normal: 1, anomalous: 1, masks: 0 } });
  t.equal(l.samples[1].image, join(root, 'bottle/test/broken/000.png'), 'double slash normalised');
  t.same(l.categoriesWithoutMasks, ['brain']);
  const { manifest } = await build(l, 'meta');
  t.equal(manifest.samples.find((s) => s.category === 'brain' && s.label === 0)!.relPath, 'brain/no/n0.jpg', 'absolute path made relative to the root');
  t.same(listDataset('meta', root, { split: 'train' }).samples, []);

  const bad = structuredClone(meta);
  bad.test.bottle[1].mask_path = '';
  bad.test.bottle.push({ ...meta.test.bottle[1], img_path: 'bottle/test/broken/000.png' });
  put(join(root, 'meta.json'), JSON.stringify(bad));
  t.match(listDataset('meta', root, { split: 'test' }).problems[0].message, /anomalous image without mask: its mask_path in .*meta\.json is empty/);
});

t.test('duplicates by content hash, within and across datasets', async (t) => {
  const a = tempDir();
  const b = tempDir();
  const same = await jpeg(4, 4, 3, solid(4, 4, [77, 77, 77]));
  put(join(a, 'brain_tumor_dataset/no/17 no.jpg'), same);
  put(join(a, 'brain_tumor_dataset/no/27 no.jpg'), same);
  put(join(a, 'brain_tumor_dataset/yes/Y1.jpg'), await jpeg(4, 4, 3, solid(4, 4, [1, 1, 1])));
  put(join(b, 'no/no401.jpg'), same);
  put(join(b, 'yes/y0.jpg'), await jpeg(4, 4, 3, solid(4, 4, [2, 2, 2])));
  const ma = (await build(listDataset('brainmri', a, { split: 'test' }), 'brainmri')).manifest;
  const mb = (await build(listDataset('br35h', b, { split: 'test' }), 'br35h')).manifest;
  t.match(ma.notes.join('\n'), /1 image\(s\) are byte-identical copies/);
  const within = findDuplicates([{ dataset: 'brainmri', samples: ma.samples }]);
  t.equal(within.length, 1);
  t.same(within[0].members.map((m) => m.id), ['brain/brain_tumor_dataset/no/17 no.jpg', 'brain/brain_tumor_dataset/no/27 no.jpg']);
  const across = crossDatasetDuplicates(findDuplicates([{ dataset: 'brainmri', samples: ma.samples }, { dataset: 'br35h', samples: mb.samples }]));
  t.equal(across.length, 1);
  t.same(across[0].members.map((m) => m.dataset), ['brainmri', 'brainmri', 'br35h']);
});
