/**
 * Literature answers: the citation check (uncited sentences marked, citations to sources not
 * retrieved dropped), fitting sources into a 2,048-token context, the answer's JSON shape read while
 * it streams, and the choice of sources worth answering from.
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import type { LiteratureSource } from "../../../../src/literature/library";
import { answerSchema, buildAnswerPrompt, estimateTokens, parseAnswer, partialSentences, selectAnswerSources } from "../../../../src/literature/qa/answerPrompt";
import { checkAnswerText, checkCitations, citationNumbers, splitAnswerSentences } from "../../../../src/literature/qa/citationCheck";

const source = (n: number, passage: string, relevance = 0.8, score = 10): LiteratureSource => ({
  key: `pmid:${n}`,
  pmid: String(n),
  title: `Title ${n}`,
  journal: "J",
  year: 2020,
  authors: [],
  publicationTypes: [],
  passage,
  rank: n,
  score,
  relevance,
});

describe("literature answers: citation check", () => {
  it("marks sentences without a citation and drops citations to sources not retrieved", () => {
    const checked = checkAnswerText("Metformin is safe in pregnancy [1]. It lowers glucose [2, 7]. Doses vary. Outcomes improved [3-4].", 3);
    assert.deepEqual(
      checked.sentences.map((s) => [s.text, s.citations, s.uncited]),
      [
        ["Metformin is safe in pregnancy.", [1], false],
        ["It lowers glucose.", [2], false],
        ["Doses vary.", [], true],
        ["Outcomes improved.", [3], false],
      ],
    );
    assert.deepEqual(checked.dropped, [4, 7]);
    assert.deepEqual(checked.cited, [1, 2, 3]);
  });

  it("checks structured sentences the same way, a sentence citing only missing sources becomes uncited", () => {
    const checked = checkCitations([{ text: "A.", citations: [1] }, { text: "B.", citations: [9] }, { text: "C [2]." }], 2);
    assert.deepEqual(
      checked.sentences.map((s) => s.uncited),
      [false, true, false],
    );
    assert.deepEqual(checked.dropped, [9]);
  });

  it("reads citation groups and keeps a trailing citation with its sentence", () => {
    assert.deepEqual(citationNumbers("1, 3-5"), [1, 3, 4, 5]);
    assert.deepEqual(splitAnswerSentences("One [1]. Two? [2] Three"), ["One [1].", "Two? [2]", "Three"]);
  });

  it("never cites outside the retrieved sources, whatever the text (fuzzed)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.constantFrom("[1]", "[2]", "[0]", "[99]", "[1-40]", ". ", "! ", "\n")), { maxLength: 30 }),
        fc.integer({ min: 0, max: 5 }),
        (parts, count) => {
          const checked = checkAnswerText(parts.join(""), count);
          for (const s of checked.sentences) {
            assert.equal(s.uncited, s.citations.length === 0);
            for (const n of s.citations) assert.ok(n >= 1 && n <= count);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("literature answers: prompt and sources", () => {
  it("fits sources into Meditron's 2,048 tokens, shortening passages, then dropping the weakest sources", () => {
    const long = "Sentence about the trial results and outcomes. ".repeat(60);
    const sources = Array.from({ length: 20 }, (_, i) => source(i + 1, long));
    const fitted = buildAnswerPrompt("Does it work?", sources, { contextTokens: 2048, answerTokens: 384 });
    assert.ok(fitted.promptTokens + 384 <= 2048, `${fitted.promptTokens} tokens`);
    assert.ok(fitted.sources.length >= 3 && fitted.sources.length < 20, `${fitted.sources.length} sources`);
    assert.ok(
      fitted.sources.every((s) => s.passage.length < long.length),
      "passages were shortened first",
    );
    assert.deepEqual(
      fitted.sources.map((s) => s.pmid),
      sources.slice(0, fitted.sources.length).map((s) => s.pmid),
      "the best sources are kept, in order",
    );
    assert.match(fitted.prompt, /\[1\] Title 1 \(J, 2020, PMID 1\)/);
    assert.match(fitted.prompt, /Question: Does it work\?/);
    const small = buildAnswerPrompt("Q?", [source(1, "Short.")], { contextTokens: 2048, answerTokens: 384 });
    assert.equal(small.sources[0].passage, "Short.");
    assert.ok(estimateTokens("abcd") >= 1);
  });

  it("answers only from sources above the relevance threshold and near the best", () => {
    assert.deepEqual(selectAnswerSources([source(1, "", 0.3)], 0.4), []);
    assert.deepEqual(
      selectAnswerSources([source(1, "", 0.9, 10), source(2, "", 0.8, 6), source(3, "", 0.9, 2), source(4, "", 0.2, 9)], 0.4).map((s) => s.pmid),
      ["1", "2"],
    );
  });

  it("limits citations to the sources given and reads the answer while it streams", () => {
    const schema = answerSchema(3) as { properties: { sentences: { items: { properties: { sources: { items: { enum: number[] } } } } } } };
    assert.deepEqual(schema.properties.sentences.items.properties.sources.items.enum, [1, 2, 3]);
    const streamed = '{"sentences": [{"sources": [1], "text": "Tailored letters raised \\"mammography\\" use."}, {"sources": [2, 1], "text": "Cut off he';
    assert.deepEqual(partialSentences(streamed), [
      { text: 'Tailored letters raised "mammography" use.', citations: [1] },
      { text: "Cut off he", citations: [2, 1] },
    ]);
    assert.deepEqual(parseAnswer({ sentences: [{ sources: [1], text: "A." }, { text: 5 }] }), [{ text: "A.", citations: [1] }]);
    assert.equal(parseAnswer("nope"), undefined);
  });
});
