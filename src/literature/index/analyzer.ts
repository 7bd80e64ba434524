/**
 * Text analysis shared by ranking and passage selection: Unicode word tokens, lower case, accents
 * folded, Lucene's English stop words, Porter stems (the same algorithm as SQLite FTS5's `porter`
 * tokenizer). Pure.
 */
import { stemmer } from "stemmer";

/** Lucene's default English stop words (what the BEIR BM25 reference figures use). */
export const STOP_WORDS = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "but",
  "by",
  "for",
  "if",
  "in",
  "into",
  "is",
  "it",
  "no",
  "not",
  "of",
  "on",
  "or",
  "such",
  "that",
  "the",
  "their",
  "then",
  "there",
  "these",
  "they",
  "this",
  "to",
  "was",
  "will",
  "with",
]);

/** Word tokens as SQLite's unicode61 tokenizer splits them (letters and digits), lower case, accents removed. */
export function words(text: string): string[] {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  return (
    text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

const stemCache = new Map<string, string>();

/** Porter stem of a lower-case word (numbers stay as they are); memoised, as vocabularies repeat. */
export function stem(word: string): string {
  let cached = stemCache.get(word);
  if (cached === undefined) {
    cached = /^\p{N}/u.test(word) ? word : stemmer(word);
    if (stemCache.size > 200_000) stemCache.clear();
    stemCache.set(word, cached);
  }
  return cached;
}

/** Stems of the words that carry meaning (stop words dropped). */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const word of words(text)) if (!STOP_WORDS.has(word)) out.push(stem(word));
  return out;
}

/** The query's distinct terms, each with one word that produces it (what is sent to FTS5, which stems again). */
export function queryTerms(query: string, max = 32): Array<{ term: string; word: string }> {
  const seen = new Map<string, string>();
  for (const word of words(query)) {
    if (STOP_WORDS.has(word) || word.length > 64) continue;
    const term = stem(word);
    if (!seen.has(term)) seen.set(term, word);
    if (seen.size >= max) break;
  }
  return [...seen].map(([term, word]) => ({ term, word }));
}
