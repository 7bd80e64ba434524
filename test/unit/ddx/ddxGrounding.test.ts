/**
 * The DDx grounding matcher, case by case: what normalising keeps and maps back, ASCII spellings, word
 * boundaries, preferred occurrences and de-duplication. Written so a mutation of src/ddx/grounding.ts fails
 * one of them (npm run test:mutation -- --mutate src/ddx/grounding.ts).
 */
import * as assert from "node:assert/strict";
import { findInNote, foldChar, groundFindings, normalise, normaliseQuote, NoteIndex } from "../../../src/ddx/grounding";

describe("ddx grounding: normalising", () => {
  it("lower-cases words, joins them with single spaces and maps every character back to the note", () => {
    const n = normalise("  BP: 150/90.  ");
    assert.equal(n.text, "bp 150 90");
    assert.deepEqual(n.starts, [2, 3, 4, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(n.ends, [3, 4, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(normalise(""), { text: "", starts: [], ends: [] });
    assert.deepEqual(normalise("..."), { text: "", starts: [], ends: [] });
  });

  it("keeps letters and digits of any script, each piece of a lengthened capital mapping to its source", () => {
    assert.equal(normaliseQuote("Ärztin — Δx 5µg"), "ärztin δx 5µg");
    const n = normalise("İx");
    assert.equal(n.text, "i\u0307x");
    assert.deepEqual(n.starts, [0, 0, 1]);
    assert.deepEqual(n.ends, [1, 1, 2]);
    const wide = normalise("a 😀 b");
    assert.equal(wide.text, "a b");
    assert.deepEqual(wide.starts, [0, 1, 5]);
    assert.deepEqual(wide.ends, [1, 5, 6]);
    const astral = normalise("𝐀b");
    assert.equal(astral.text, "𝐀b");
    assert.deepEqual(astral.starts, [0, 0, 2]);
    assert.deepEqual(astral.ends, [2, 2, 3]);
  });

  it("spells symbols in ASCII when folding, strips accents, and leaves other scripts as gaps", () => {
    const spelled: Array<[string, string]> = [
      ["\u00b5", "u"],
      ["\u03bc", "u"],
      ["\u00d7", "x"],
      ["\u2265", ">="],
      ["\u2264", "<="],
      ["\u00b1", "+/-"],
      ["\u2013", "-"],
      ["\u2014", "-"],
      ["\u2212", "-"],
      ["\u2018", "'"],
      ["\u2019", "'"],
      ["\u201c", '"'],
      ["\u201d", '"'],
      ["\u03b1", "alpha"],
      ["\u03b2", "beta"],
      ["\u03b3", "gamma"],
      ["\u03b4", "delta"],
    ];
    for (const [char, ascii] of spelled) assert.equal(foldChar(char), ascii, char);
    assert.equal(foldChar("é"), "e");
    assert.equal(foldChar("a"), "a");
    assert.equal(foldChar("\u007f"), "\u007f");
    assert.equal(foldChar("Ж"), " ");
    assert.equal(foldChar("ﬁ"), "fi");
    assert.equal(foldChar("\u0080"), " ");
    const n = normalise("β-blocker 5 µg", true);
    assert.equal(n.text, "beta blocker 5 ug");
    assert.deepEqual(n.starts.slice(0, 5), [0, 0, 0, 0, 1]);
    assert.deepEqual(n.ends.slice(0, 4), [1, 1, 1, 1]);
    assert.equal(normalise("β", false).text, "β");
  });

  it("a note index folds only when asked, once", () => {
    const index = new NoteIndex("WBC 6,200 /μL");
    assert.equal(index.plain.text, "wbc 6 200 μl");
    const folded = index.folded;
    assert.equal(folded.text, "wbc 6 200 ul");
    assert.equal(index.folded, folded);
    assert.equal(index.source, "WBC 6,200 /μL");
  });
});

describe("ddx grounding: finding quotes", () => {
  it("answers the exact range of the note's words, across case, spacing and punctuation", () => {
    const note = "HPI: Sudden-onset  CHEST pain, radiating to the left arm.";
    assert.deepEqual(findInNote(note, "sudden onset chest pain"), { start: 5, end: 29 });
    assert.deepEqual(findInNote(note, "left arm"), { start: 48, end: 56 });
    assert.deepEqual(findInNote(note, "HPI"), { start: 0, end: 3 });
    assert.equal(findInNote(note, "arm radiating"), undefined);
  });

  it("matches only whole words at both ends", () => {
    const note = "painful swallowing; pain";
    assert.deepEqual(findInNote(note, "pain"), { start: 20, end: 24 });
    assert.equal(findInNote("xpain", "pain"), undefined);
    assert.equal(findInNote("painx", "pain"), undefined);
    assert.deepEqual(findInNote("pain", "pain"), { start: 0, end: 4 });
    assert.deepEqual(findInNote("a pain b", "pain"), { start: 2, end: 6 });
    assert.equal(findInNote("spain pains", "pain"), undefined);
  });

  it("prefers the first occurrence at or after a note offset, else the first", () => {
    const note = "cough. cough. cough.";
    assert.deepEqual(findInNote(note, "cough", 0), { start: 0, end: 5 });
    assert.deepEqual(findInNote(note, "cough", 1), { start: 7, end: 12 });
    assert.deepEqual(findInNote(note, "cough", 7), { start: 7, end: 12 });
    assert.deepEqual(findInNote(note, "cough", 8), { start: 14, end: 19 });
    assert.deepEqual(findInNote(note, "cough", 19), { start: 0, end: 5 });
    assert.deepEqual(findInNote(note, "cough", 500), { start: 0, end: 5 });
    assert.deepEqual(findInNote("fever then cough", "fever", 6), { start: 0, end: 5 });
    assert.deepEqual(findInNote("cough and coughing", "cough", 6), { start: 0, end: 5 });
  });

  it("falls back to the ASCII spelling only for notes that are not plain ASCII", () => {
    assert.deepEqual(findInNote("WBC 6,200 /μL today", "WBC 6,200 /uL"), { start: 0, end: 13 });
    assert.deepEqual(findInNote("started β-blocker", "beta blocker"), { start: 8, end: 17 });
    assert.deepEqual(findInNote(new NoteIndex("started β-blocker"), "β blocker"), { start: 8, end: 17 });
    assert.equal(findInNote("started beta blocker", "β-blocker"), undefined, "an ASCII note is not folded");
    assert.equal(findInNote("Ж pain", "x pain"), undefined);
    assert.deepEqual(findInNote("naïve patient; naive", "naive", 16), { start: 15, end: 20 });
    assert.deepEqual(findInNote("naïve patient", "naive"), { start: 0, end: 5 });
  });

  it("finds nothing for a quote without words", () => {
    assert.equal(findInNote("pain", "—"), undefined);
    assert.deepEqual(findInNote("Ж pain", "Ж"), { start: 0, end: 1 });
    assert.equal(findInNote("é pain", "..."), undefined);
  });
});

describe("ddx grounding: grounding a list of findings", () => {
  it("keeps the note's own text for each quote found, once per range, and lists those not found", () => {
    const note = "Fever 39 C. Productive COUGH. No rash.";
    const { grounded, dropped } = groundFindings(note, ["fever 39 c", "productive cough", "Productive  cough.", "headache", "rash", "stiff neck"]);
    assert.deepEqual(grounded, [
      { quote: "fever 39 c", range: { start: 0, end: 10 }, noteText: "Fever 39 C" },
      { quote: "productive cough", range: { start: 12, end: 28 }, noteText: "Productive COUGH" },
      { quote: "rash", range: { start: 33, end: 37 }, noteText: "rash" },
    ]);
    assert.deepEqual(dropped, ["headache", "stiff neck"]);
    const index = new NoteIndex("δ pain");
    assert.deepEqual(
      groundFindings(index, ["pain", "delta pain"]).grounded.map((g) => g.noteText),
      ["pain", "δ pain"],
    );
    assert.deepEqual(groundFindings("x", []), { grounded: [], dropped: [] });
  });
});
