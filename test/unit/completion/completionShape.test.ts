/**
 * The shape of an inline suggestion, edge by edge (the digit guard, sentence and header cuts, lists,
 * whitespace, repetitions). Written so a mutation of src/completion/suggestionShape.ts fails one of them
 * (npm run test:mutation -- --mutate src/completion/suggestionShape.ts).
 */
import * as assert from "node:assert/strict";
import { DIGIT_TEXTS, shapeSuggestion, stopStrings, type ShapeInput } from "../../../src/completion/suggestionShape";

const base: ShapeInput = { linePrefix: "The patient reports ", lineSuffix: "", before: "", after: "", inList: false, allowDigits: false };

describe("suggestion shape: the digit guard", () => {
  it("bans exactly the ten digits in generation", () => {
    assert.deepEqual(DIGIT_TEXTS, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  });

  it("cuts at the first digit wherever it is, keeping the words before it", () => {
    assert.equal(shapeSuggestion("aspirin 81 mg daily", base), "aspirin");
    assert.equal(shapeSuggestion("heart rate of 0", base), "heart rate of");
    assert.equal(shapeSuggestion("weight 9 kg", base), "weight");
    assert.equal(shapeSuggestion("no fever\nT 38", { ...base, inList: true }), "no fever");
  });

  it("keeps digits when numbers are allowed", () => {
    assert.equal(shapeSuggestion("aspirin 81 mg daily", { ...base, allowDigits: true }), "aspirin 81 mg daily");
    assert.equal(shapeSuggestion("a temperature of 38.5 C. Then", { ...base, allowDigits: true }), "a temperature of 38.5 C.", "a decimal point is no sentence end");
  });
});

describe("suggestion shape: lines, sentences and headers", () => {
  it("asks the engine to stop at a line end, or at a blank line inside a list", () => {
    assert.deepEqual(stopStrings(false), ["\n"]);
    assert.deepEqual(stopStrings(true), ["\n\n"]);
  });

  it("drops carriage returns", () => {
    assert.equal(shapeSuggestion("chest\r pain", base), "chest pain");
    assert.equal(shapeSuggestion("Aspirin\r\n- Statin\r", { ...base, linePrefix: "- ", inList: true }), "Aspirin\n- Statin");
  });

  it("ends after the first sentence, whatever its end mark", () => {
    assert.equal(shapeSuggestion("pain! And more", base), "pain!");
    assert.equal(shapeSuggestion("pain? And more", base), "pain?");
    assert.equal(shapeSuggestion("pain.", base), "pain.");
    assert.equal(shapeSuggestion("e.g.the pain", base), "e.g.the pain", "a period inside a word is no sentence end");
  });

  it("refuses a header at the start of a line and cuts before one written later", () => {
    assert.equal(shapeSuggestion("PLAN: rest", base), undefined, "a header right after the cursor mid-line leaves nothing");
    assert.equal(shapeSuggestion("PLAN: rest", { ...base, linePrefix: "  " }), undefined);
    assert.equal(shapeSuggestion("stable. PLAN: rest", base), "stable.");
    assert.equal(shapeSuggestion("stable PLAN: rest", { ...base, linePrefix: "" }), "stable");
  });

  it("keeps a line-start text that only looks like an inline header when it is no section header", () => {
    // "ABC-:" matches the inline-header pattern at offset 0 but is not a header line (it ends in "-").
    assert.equal(shapeSuggestion("ABC-: pain", { ...base, linePrefix: "" }), "ABC-: pain");
    assert.equal(shapeSuggestion("ABC-: pain", base), undefined, "mid-line the same text is cut before");
    assert.equal(shapeSuggestion("ABC-: pain", { ...base, linePrefix: "  \t" }), "ABC-: pain", "indentation is still the start of the line");
  });
});

describe("suggestion shape: lists", () => {
  const list: ShapeInput = { ...base, linePrefix: "- ", inList: true };

  it("goes on with list items, trimming their ends, and stops at the first line that is not one", () => {
    assert.equal(shapeSuggestion("Aspirin\n- Statin  \n- Heparin\nplain text\n- Later", list), "Aspirin\n- Statin\n- Heparin");
  });

  it("keeps to one line when the first line was already cut", () => {
    assert.equal(shapeSuggestion("Aspirin daily. Then\n- Statin", list), "Aspirin daily.");
  });

  it("keeps to one line outside a list", () => {
    assert.equal(shapeSuggestion("Aspirin\n- Statin", { ...list, inList: false }), "Aspirin");
  });
});

describe("suggestion shape: whitespace and repetitions", () => {
  it("trims the end, and the start only after a space already typed", () => {
    assert.equal(shapeSuggestion("chest pain  \t", base), "chest pain");
    assert.equal(shapeSuggestion(" \tfever", base), "fever");
    assert.equal(shapeSuggestion(" fever", { ...base, linePrefix: "reports" }), " fever");
    assert.equal(shapeSuggestion(" fever", { ...base, linePrefix: "reports\t" }), "fever");
    assert.equal(shapeSuggestion(" fever", { ...base, linePrefix: "he reports" }), " fever", "only a space right before the cursor counts");
  });

  it("leaves out what already follows the cursor on the line", () => {
    assert.equal(shapeSuggestion("chest pain since yesterday", { ...base, lineSuffix: "  since yesterday " }), "chest pain");
    assert.equal(shapeSuggestion("chest pain since", { ...base, lineSuffix: "yesterday" }), "chest pain since");
    assert.equal(shapeSuggestion("chest pain \t since yesterday", { ...base, lineSuffix: "since yesterday" }), "chest pain");
    assert.equal(shapeSuggestion("since yesterday", { ...base, lineSuffix: "since yesterday" }), undefined);
    assert.equal(shapeSuggestion("chest pain", { ...base, lineSuffix: "   " }), "chest pain");
  });

  it("refuses a suggestion of eight characters or more already written before or after the cursor", () => {
    assert.equal(shapeSuggestion("dyspnoea", { ...base, before: "Known dyspnoea on exertion." }), undefined);
    assert.equal(shapeSuggestion("dyspnoea", { ...base, after: "Worse dyspnoea at night." }), undefined);
    assert.equal(shapeSuggestion("dyspnea", { ...base, before: "Known dyspnea.", after: "dyspnea" }), "dyspnea", "seven characters may repeat");
    assert.equal(shapeSuggestion("dyspnoea", { ...base, before: "Known cough.", after: "No fever." }), "dyspnoea");
    assert.equal(shapeSuggestion(" dyspnoea", { ...base, linePrefix: "(", before: "Known (dyspnoea)" }), undefined, "compared without the leading space");
  });
});
