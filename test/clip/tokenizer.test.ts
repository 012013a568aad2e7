import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ClipTokenizer, cleanText, eotIndices } from '../../src/clip/tokenizer.ts';
import { CLIP_TINY, clipGolden } from './fixtures/helpers.ts';

const golden = JSON.parse(readFileSync(path.join(CLIP_TINY, 'golden.json'), 'utf8'));
const shipped = ClipTokenizer.fromDir(null);
const fromFixture = ClipTokenizer.fromDir(CLIP_TINY);

t.test('every golden string: cleaning and padded ids (shipped vocabulary)', async (t) => {
  for (const s of golden.tokenization) {
    t.equal(cleanText(s.text), s.cleaned_lowercased, `cleaned: ${JSON.stringify(s.text)}`);
    t.same(Array.from(shipped.tokenize([s.text])), s.ids_padded_77, `ids: ${JSON.stringify(s.text)}`);
  }
});

t.test('fixture folder vocabulary gives the same ids; batch matches golden tensor', async (t) => {
  const texts = golden.tokenization.map((s: any) => s.text);
  const ids = fromFixture.tokenize(texts);
  t.same(Array.from(ids), Array.from(clipGolden().int32('text.input_ids')));
  t.same(eotIndices(ids), golden.tokenization.map((s: any) => s.eot_index));
});

t.test('truncation keeps 77 ids and ends with EOT', async (t) => {
  const long = golden.tokenization.find((s: any) => s.truncated);
  t.ok(long, 'the fixture has a truncated string');
  const ids = shipped.tokenize([long.text]);
  t.equal(ids[76], 49407);
  t.ok(long.num_bpe_tokens_before_truncation > 75);
});
