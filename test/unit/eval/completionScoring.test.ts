import * as assert from "node:assert/strict";
import { charsAccepted, matchingWords, nextWordMatches, per100, simulateWordAccept, wordStarts, wordUnits } from "../../eval/completionScoring";

describe("completion replay scoring", () => {
  it("finds word starts after spaces and line breaks, and at the start when the text before ends in whitespace", () => {
    assert.deepEqual(wordStarts("no  acute\ndistress."), [0, 4, 10]);
    assert.deepEqual(wordStarts("no acute", "x"), [3]);
    assert.deepEqual(wordStarts(" \n"), []);
  });

  it("splits word units with their leading whitespace", () => {
    assert.deepEqual(wordUnits("chest pain,\n  radiating"), ["chest", " pain,", "\n  radiating"]);
    assert.deepEqual(wordUnits("   "), []);
  });

  it("counts the characters accepted as the longest common prefix", () => {
    assert.equal(charsAccepted("chest pain radiating", "chest pressure"), 7);
    assert.equal(charsAccepted("", "chest"), 0);
    assert.equal(charsAccepted("chest pain", "chest pain"), 10);
    assert.equal(charsAccepted("chest pain and more", "chest pain"), 10);
  });

  it("matches the next word exactly, punctuation included", () => {
    assert.ok(nextWordMatches("pain radiating", "pain and"));
    assert.ok(!nextWordMatches("pain, radiating", "pain and"));
    assert.ok(!nextWordMatches("pai", "pain"));
    assert.ok(!nextWordMatches("", "pain"));
  });

  it("counts only whole matching words", () => {
    assert.deepEqual(matchingWords("chest pain radiating", "chest pain and"), { words: 2, chars: 10 });
    // the suggestion ends inside the note's word: that word does not count
    assert.deepEqual(matchingWords("chest hyperten", "chest hypertension"), { words: 1, chars: 5 });
    // a whole word before punctuation counts
    assert.deepEqual(matchingWords("chest pain", "chest pain. No fever"), { words: 2, chars: 10 });
    // a different punctuation ends the match
    assert.deepEqual(matchingWords("pain, fever", "pain. fever"), { words: 0, chars: 0 });
    // line breaks are part of the unit
    assert.deepEqual(matchingWords("stable.\nPLAN:", "stable.\nPLAN:\n"), { words: 2, chars: 13 });
  });

  it("simulates a clinician who accepts matching words and types on after them", () => {
    const text = "the patient denies chest pain today";
    const shown = [
      { offset: 0, text: "the patient reports" }, // accepts "the patient" (2 words, 11 chars)
      { offset: 4, text: "patient denies" }, // inside the accepted text: skipped
      { offset: 12, text: "denies chest pain tomorrow" }, // accepts "denies chest pain" (3 words, 17 chars)
      { offset: 30, text: undefined },
    ];
    const result = simulateWordAccept(text, shown);
    assert.deepEqual(result, { savedChars: 11 - 2 + (17 - 3), acceptedWords: 5, accepts: 2 });
    assert.equal(per100(result.savedChars, text.length), (100 * 23) / text.length);
  });

  it("saves nothing when no suggestion starts with a whole matching word", () => {
    assert.deepEqual(simulateWordAccept("chest pain", [{ offset: 0, text: "abdominal pain" }]), { savedChars: 0, acceptedWords: 0, accepts: 0 });
    assert.equal(per100(5, 0), 0);
  });
});
