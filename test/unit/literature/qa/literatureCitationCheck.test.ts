/**
 * The citation check of a literature answer, number by number: citation groups and ranges, which numbers
 * are valid, what is dropped, sentence splitting and the text left once markers are removed. Written so a
 * mutation of src/literature/qa/citationCheck.ts fails one of them (npm run test:mutation -- --mutate src/literature/qa/citationCheck.ts).
 */
import * as assert from "node:assert/strict";
import { checkAnswerText, checkCitations, citationNumbers, splitAnswerSentences } from "../../../../src/literature/qa/citationCheck";

describe("citation check: numbers", () => {
  it("reads single numbers, lists and ranges in either direction, with any spacing and dash", () => {
    assert.deepEqual(citationNumbers("2"), [2]);
    assert.deepEqual(citationNumbers(" 2 , 10 "), [2, 10]);
    assert.deepEqual(citationNumbers("3-5"), [3, 4, 5]);
    assert.deepEqual(citationNumbers("5 - 3"), [3, 4, 5]);
    assert.deepEqual(citationNumbers("3\u20134"), [3, 4]);
    assert.deepEqual(citationNumbers("4-4"), [4]);
    assert.deepEqual(citationNumbers("1, 3-4, 6"), [1, 3, 4, 6]);
  });

  it("ignores parts that are not numbers or ranges", () => {
    assert.deepEqual(citationNumbers("a, 2, 3-b, -4, 5-, 1 2"), [2]);
    assert.deepEqual(citationNumbers(""), []);
  });

  it("caps a range at 50 numbers", () => {
    assert.equal(citationNumbers("1-1000").length, 50);
    assert.deepEqual(citationNumbers("1-1000").slice(-1), [50]);
    assert.equal(citationNumbers("1-50").length, 50);
    assert.deepEqual(citationNumbers("1-49, 7").slice(-2), [49, 7]);
    assert.deepEqual(citationNumbers("1-50, 7-8").length, 50);
  });
});

describe("citation check: sentences", () => {
  it("splits at sentence ends and line breaks, keeping trailing citations with their sentence", () => {
    assert.deepEqual(splitAnswerSentences("A [1]. B! [2][3] C? D"), ["A [1].", "B! [2][3]", "C?", "D"]);
    assert.deepEqual(splitAnswerSentences("Second line.\n\nThird... [1, 2-3] Fourth"), ["Second line.", "Third... [1, 2-3]", "Fourth"]);
    assert.deepEqual(splitAnswerSentences("   "), []);
    assert.deepEqual(splitAnswerSentences(""), []);
    assert.deepEqual(splitAnswerSentences("Dose [1\u20132]. Next"), ["Dose [1\u20132].", "Next"]);
  });
});

describe("citation check: answers", () => {
  it("keeps valid citations once each, in order of first mention, and drops the rest", () => {
    const checked = checkCitations([{ text: "A [3][1, 3] [0] [2.5] [4].", citations: [2, 3] }], 3);
    assert.deepEqual(checked.sentences, [{ text: "A [2.5].", citations: [2, 3, 1], uncited: false }]);
    assert.deepEqual(checked.dropped, [0, 4]);
    assert.deepEqual(checked.cited, [1, 2, 3]);
  });

  it("drops numbers outside 1..sourceCount and those that are not whole", () => {
    const checked = checkCitations([{ text: "X.", citations: [1.5, -1, 0, 1, 5, 6, NaN] }], 5);
    assert.deepEqual(checked.sentences[0]!.citations, [1, 5]);
    assert.deepEqual(
      checked.dropped.filter((n) => !Number.isNaN(n)),
      [-1, 0, 1.5, 6],
    );
    assert.equal(checked.dropped.length, 5);
  });

  it("sorts what was dropped and what was cited numerically", () => {
    const checked = checkAnswerText("A [10]. B [9]. C [2]. D [12]. E [1].", 9);
    assert.deepEqual(checked.dropped, [10, 12]);
    assert.deepEqual(checked.cited, [1, 2, 9]);
  });

  it("removes citation markers and the space before punctuation they leave", () => {
    const checked = checkAnswerText("Aspirin helps [1] , a lot [2] ; truly [1]! Yes [2] : no", 2);
    assert.deepEqual(
      checked.sentences.map((s) => s.text),
      ["Aspirin helps, a lot; truly!", "Yes: no"],
    );
    assert.deepEqual(checkAnswerText("Dose [ 1 ,2 ] matters .", 2).sentences, [{ text: "Dose matters.", citations: [1, 2], uncited: false }]);
  });

  it("keeps a sentence that is only a citation, and drops one left empty", () => {
    const checked = checkCitations([{ text: "[1]" }, { text: "[7]" }, { text: "  " }, { text: "Plain." }], 2);
    assert.deepEqual(checked.sentences, [
      { text: "", citations: [1], uncited: false },
      { text: "Plain.", citations: [], uncited: true },
    ]);
    assert.deepEqual(checked.dropped, [7]);
  });

  it("marks a sentence uncited when it cites nothing valid, and with no sources nothing is valid", () => {
    const checked = checkAnswerText("Claim one [1]. Claim two.", 0);
    assert.deepEqual(
      checked.sentences.map((s) => [s.text, s.uncited]),
      [
        ["Claim one.", true],
        ["Claim two.", true],
      ],
    );
    assert.deepEqual(checked.cited, []);
    assert.deepEqual(checked.dropped, [1]);
  });
});
