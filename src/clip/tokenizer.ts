/**
 * CLIP's byte-level BPE tokenizer, read from `vocab.json` + `merges.txt` (or
 * a `tokenizer.json` holding the same model), and `clip.tokenize`'s padding.
 *
 * Text cleaning follows the reference: fix text, HTML-unescape twice, strip,
 * collapse whitespace, lowercase. The reference fixes text with ftfy; here
 * only the fixes that change CLIP prompts are applied (Unicode NFC and
 * typographic quotes to ASCII). Known shortcoming: mojibake repair and
 * ftfy's other heuristics are not reproduced, so badly encoded input may
 * tokenise differently from the reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import he from 'he';

export const SOT = 49406;
export const EOT = 49407;
export const CONTEXT_LENGTH = 77;

const PRETOKEN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** GPT-2's reversible byte -> printable character table. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + next++);
  }
  return table;
}

const TYPOGRAPHIC: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"',
};

/** The reference basic_clean + whitespace_clean + lower(). */
export function cleanText(text: string): string {
  let t = text.normalize('NFC').replace(/[\u2018\u2019\u201a\u201b\u2032\u201c\u201d\u201e\u201f\u2033]/g, (c) => TYPOGRAPHIC[c]);
  t = he.decode(he.decode(t)).trim();
  return t.replace(/\s+/g, ' ').trim().toLowerCase();
}

export class ClipTokenizer {
  private readonly byteChar = bytesToUnicode();
  private readonly cache = new Map<string, string[]>();

  constructor(
    private readonly encoder: Map<string, number>,
    private readonly ranks: Map<string, number>,
  ) {}

  /** From a folder with vocab.json + merges.txt or tokenizer.json; default: the shipped CLIP files. */
  static fromDir(dir: string | null = null): ClipTokenizer {
    const base = dir ?? fileURLDir();
    const vocabFile = path.join(base, 'vocab.json');
    const mergesFile = path.join(base, 'merges.txt');
    const tokJson = path.join(base, 'tokenizer.json');
    if (existsSync(vocabFile) && existsSync(mergesFile)) {
      const vocab: Record<string, number> = JSON.parse(readFileSync(vocabFile, 'utf8'));
      const merges = readFileSync(mergesFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('#version'));
      return ClipTokenizer.fromParts(vocab, merges);
    }
    if (existsSync(tokJson)) {
      const model = JSON.parse(readFileSync(tokJson, 'utf8')).model;
      if (!model?.vocab || !model?.merges) throw new Error(`${tokJson}: no BPE model (model.vocab / model.merges)`);
      const merges = (model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
      return ClipTokenizer.fromParts(model.vocab, merges);
    }
    if (dir !== null) return ClipTokenizer.fromDir(null);
    throw new Error(`${base}: neither vocab.json + merges.txt nor tokenizer.json found`);
  }

  static fromParts(vocab: Record<string, number>, merges: string[]): ClipTokenizer {
    const ranks = new Map<string, number>();
    merges.forEach((m, i) => ranks.set(m.trim(), i));
    return new ClipTokenizer(new Map(Object.entries(vocab)), ranks);
  }

  /** BPE symbols of one pre-token (already mapped to byte characters). */
  private bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    let word = [...token];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right.
      const a = word[best];
      const b = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** BPE ids of a text, without start/end tokens. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const m of cleanText(text).matchAll(PRETOKEN)) {
      const bytes = new TextEncoder().encode(m[0]);
      const chars = Array.from(bytes, (b) => this.byteChar[b]).join('');
      for (const sym of this.bpe(chars)) {
        const id = this.encoder.get(sym);
        if (id === undefined) throw new Error(`BPE symbol "${sym}" is not in the vocabulary`);
        ids.push(id);
      }
    }
    return ids;
  }

  /**
   * `clip.tokenize(texts, 77, truncate=True)`: [SOT, ids..., EOT] padded with
   * 0; a too long sequence keeps its first 77 ids with the last set to EOT.
   */
  tokenize(texts: string[], contextLength = CONTEXT_LENGTH): Int32Array {
    const out = new Int32Array(texts.length * contextLength);
    texts.forEach((text, s) => {
      let ids = [SOT, ...this.encode(text), EOT];
      if (ids.length > contextLength) {
        ids = ids.slice(0, contextLength);
        ids[contextLength - 1] = EOT;
      }
      out.set(ids, s * contextLength);
    });
    return out;
  }
}

function fileURLDir(): string {
  return fileURLToPath(new URL('../../assets/clip-bpe/', import.meta.url));
}

/** Position of the first end-of-text token in each row of [S,L] ids. */
export function eotIndices(ids: Int32Array, contextLength = CONTEXT_LENGTH): number[] {
  const out: number[] = [];
  for (let s = 0; s < ids.length / contextLength; s++) {
    const row = ids.subarray(s * contextLength, (s + 1) * contextLength);
    const i = row.indexOf(EOT);
    out.push(i < 0 ? contextLength - 1 : i);
  }
  return out;
}
