/**
 * BM25 scoring, coverage, rank fusion and the text analyzer, figure by figure (the reference values are
 * worked out by hand from the Lucene formula below). Written so a mutation of
 * src/literature/index/bm25.ts or analyzer.ts fails one of them
 * (npm run test:mutation -- --mutate src/literature/index/bm25.ts).
 */
import * as assert from "node:assert/strict";
import { queryTerms, stem, STOP_WORDS, terms, words } from "../../../src/literature/index/analyzer";
import { bm25Score, coverage, idf, LUCENE_BM25, reciprocalRankFusion, termCounts, type CorpusStats } from "../../../src/literature/index/bm25";

const close = (actual: number, expected: number, what = ""): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what} ${actual} != ${expected}`);

describe("BM25 scoring", () => {
  const stats = (docCount: number, avgLength: number, dfs: Record<string, number>): CorpusStats => ({ docCount, avgLength, df: (t) => dfs[t] ?? 0 });

  it("uses Lucene's parameters and idf", () => {
    assert.deepEqual(LUCENE_BM25, { k1: 0.9, b: 0.4 });
    close(idf(10, 1), Math.log(1 + 9.5 / 1.5), "idf(10, 1)");
    close(idf(10, 10), Math.log(1 + 0.5 / 10.5), "idf(10, 10)");
    close(idf(100, 0), Math.log(1 + 100.5 / 0.5), "idf(100, 0)");
  });

  it("counts term frequencies and document length", () => {
    const { tf, length } = termCounts(["a", "b", "a", "c", "a"]);
    assert.deepEqual(
      [...tf],
      [
        ["a", 3],
        ["b", 1],
        ["c", 1],
      ],
    );
    assert.equal(length, 5);
    assert.deepEqual(termCounts([]), { tf: new Map(), length: 0 });
  });

  it("scores a document as the sum over query terms of idf times saturated frequency, normalised by length", () => {
    const s = stats(10, 4, { rare: 1, common: 5 });
    const doc = termCounts(["rare", "rare", "common", "x", "y", "z"]);
    const norm = 0.9 * (1 - 0.4 + (0.4 * 6) / 4);
    const expected = idf(10, 1) * ((2 * 1.9) / (2 + norm)) + idf(10, 5) * ((1 * 1.9) / (1 + norm));
    close(bm25Score(["rare", "common", "absent"], doc, s), expected, "score");
    close(bm25Score(["rare", "rare"], doc, s), 2 * idf(10, 1) * ((2 * 1.9) / (2 + norm)), "a repeated query term counts twice");
    assert.equal(bm25Score(["absent"], doc, s), 0);
    assert.equal(bm25Score([], doc, s), 0);
    const custom = bm25Score(["rare"], doc, s, { k1: 1.2, b: 0.75 });
    close(custom, idf(10, 1) * ((2 * 2.2) / (2 + 1.2 * (1 - 0.75 + (0.75 * 6) / 4))), "custom parameters");
  });

  it("treats an average length below one as one", () => {
    const doc = termCounts(["a", "b"]);
    const norm = 0.9 * (1 - 0.4 + 0.4 * 2);
    close(bm25Score(["a"], doc, stats(3, 0, { a: 1 })), idf(3, 1) * (1.9 / (1 + norm)));
    close(bm25Score(["a"], doc, stats(3, 0.5, { a: 1 })), idf(3, 1) * (1.9 / (1 + norm)));
  });

  it("measures coverage as the idf-weighted share of query terms the document holds", () => {
    const s = stats(10, 4, { rare: 1, common: 5 });
    const doc = termCounts(["rare", "x"]);
    const wRare = idf(10, 1);
    const wCommon = idf(10, 5);
    const wUnseen = idf(10, 0);
    close(coverage(["rare", "common"], doc, s), wRare / (wRare + wCommon));
    close(coverage(["common", "unseen", "rare"], doc, s), wRare / (wRare + wCommon + wUnseen));
    assert.equal(coverage(["rare"], doc, s), 1);
    assert.equal(coverage(["common"], doc, s), 0);
    assert.equal(coverage([], doc, s), 0);
  });

  it("fuses ranked lists by reciprocal rank, ties broken by key", () => {
    const fused = reciprocalRankFusion([
      ["a", "b", "c"],
      ["c", "b"],
    ]);
    assert.deepEqual(
      fused.map((r) => r.key),
      ["c", "b", "a"],
    );
    close(fused[0]!.score, 1 / 63 + 1 / 61, "c");
    close(fused[1]!.score, 1 / 62 + 1 / 62, "b");
    close(fused[2]!.score, 1 / 61, "a");
    const k1 = reciprocalRankFusion([["x", "y"]], 1);
    close(k1[0]!.score, 1 / 2);
    close(k1[1]!.score, 1 / 3);
    assert.deepEqual(
      reciprocalRankFusion([["q"], ["p"]]).map((r) => r.key),
      ["p", "q"],
      "equal scores: alphabetical",
    );
    assert.deepEqual(reciprocalRankFusion([]), []);
  });
});

describe("text analyzer", () => {
  it("splits ASCII text into lower-case letter and digit words", () => {
    assert.deepEqual(words("HbA1c 7.5% in T2DM_patients, (n=40)"), ["hba1c", "7", "5", "in", "t2dm", "patients", "n", "40"]);
    assert.deepEqual(words(""), []);
    assert.deepEqual(words(" .,; "), []);
  });

  it("splits other text into words of any script with accents removed", () => {
    assert.deepEqual(words("Ménière's Krankheit, Δx ½ 東京"), ["meniere", "s", "krankheit", "δx", "1", "2", "東京"]);
    assert.deepEqual(words("Éé"), ["ee"]);
    assert.deepEqual(words("—"), []);
  });

  it("stems words with Porter and leaves numbers alone", () => {
    assert.equal(stem("treated"), "treat");
    assert.equal(stem("patients"), "patient");
    assert.equal(stem("2019s"), "2019s");
    assert.equal(stem("½s"), "½s");
    assert.equal(stem("treated"), "treat", "from the cache");
  });

  it("keeps Lucene's English stop words out of terms", () => {
    assert.equal(STOP_WORDS.size, 33);
    for (const w of [
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
    ]) {
      assert.ok(STOP_WORDS.has(w), w);
    }
    assert.deepEqual(terms("The patients were NOT treated with insulin in 2019"), ["patient", "were", "treat", "insulin", "2019"]);
    assert.deepEqual(terms(""), []);
  });

  it("makes distinct query terms, each with a word that produces it, up to a maximum", () => {
    assert.deepEqual(queryTerms("Is treating treated patients with the patient's insulin?"), [
      { term: "treat", word: "treating" },
      { term: "patient", word: "patients" },
      { term: "s", word: "s" },
      { term: "insulin", word: "insulin" },
    ]);
    assert.deepEqual(queryTerms("a b c d e", 2), [
      { term: "b", word: "b" },
      { term: "c", word: "c" },
    ]);
    assert.deepEqual(queryTerms("b c", 2).length, 2);
    assert.equal(queryTerms(Array.from({ length: 40 }, (_, i) => `w${i}x`).join(" ")).length, 32);
    const long = "x".repeat(65);
    assert.deepEqual(
      queryTerms(`${long} ${"y".repeat(64)}`).map((t) => t.word),
      ["y".repeat(64)],
    );
  });
});
