/**
 * The citation support check: a cited sentence is marked when its cited passage lacks its content
 * words or its numbers, or when another retrieved source covers it clearly better; abbreviations match
 * their long forms both ways. Pure functions on real text.
 */
import * as assert from "node:assert/strict";
import { checkAnswerText, checkCitations } from "../../../../src/literature/qa/citationCheck";
import { checkSupport, numbersIn, parseAbbreviations } from "../../../../src/literature/qa/citationSupport";

const METFORMIN = "Metformin use in 120 pregnant women with gestational diabetes was safe. Neonatal hypoglycaemia occurred in 8.5% of infants, similar to insulin.";
const STROKE = "Early mobilisation within 24 hours after acute stroke did not improve functional outcome at 3 months in 2104 patients.";
const MI = "Patients with acute myocardial infarction treated with aspirin had lower mortality at 30 days.";

describe("citation support check", () => {
  it("leaves a sentence its cited passage supports unmarked, and keeps the citation check's result", () => {
    const answer = checkAnswerText("Metformin was safe in pregnant women with gestational diabetes [1]. Nothing cited here.", 2);
    const checked = checkSupport(answer, [METFORMIN, STROKE]);
    assert.equal(checked.sentences[0].unsupported, undefined);
    assert.ok((checked.sentences[0].support ?? 0) > 0.9);
    assert.equal(checked.sentences[1].uncited, true, "an uncited sentence stays marked as uncited");
    assert.equal(checked.sentences[1].unsupported, undefined);
    assert.deepEqual(checked.cited, answer.cited);
    assert.equal(checked.unsupported, 0);
  });

  it("marks a sentence cited to a passage about something else", () => {
    const checked = checkSupport(checkCitations([{ text: "Metformin was safe in pregnant women with gestational diabetes.", citations: [2] }], 2), [METFORMIN, STROKE]);
    assert.ok(checked.sentences[0].unsupported === "content" || checked.sentences[0].unsupported === "otherSource");
    assert.equal(checked.unsupported, 1);
  });

  it("marks a sentence whose number is in no cited passage, always", () => {
    const right = checkSupport(checkCitations([{ text: "Neonatal hypoglycaemia occurred in 8.5% of infants.", citations: [1] }], 1), [METFORMIN]);
    assert.equal(right.sentences[0].unsupported, undefined);
    const wrong = checkSupport(checkCitations([{ text: "Neonatal hypoglycaemia occurred in 18.5% of infants.", citations: [1] }], 1), [METFORMIN]);
    assert.equal(wrong.sentences[0].unsupported, "numbers");
    const thousands = checkSupport(checkCitations([{ text: "The trial enrolled 2,104 patients after acute stroke.", citations: [1] }], 1), [STROKE]);
    assert.equal(thousands.sentences[0].unsupported, undefined, "1,200-style numbers match their plain form");
    assert.deepEqual(numbersIn("0.50 and 1,200 and 007"), ["0.5", "1200", "7"]);
  });

  it("marks a sentence another retrieved source supports clearly better", () => {
    const partly = "Acute stroke patients had lower mortality with aspirin at 30 days.";
    const checked = checkSupport(checkCitations([{ text: partly, citations: [1] }], 2), [STROKE, MI]);
    assert.ok(checked.sentences[0].unsupported !== undefined);
    const cited = checkSupport(checkCitations([{ text: partly, citations: [2] }], 2), [STROKE, MI]);
    assert.ok((cited.sentences[0].support ?? 0) > (checked.sentences[0].support ?? 0));
  });

  it("matches abbreviations to their long forms both ways", () => {
    const short = checkSupport(checkCitations([{ text: "Aspirin lowered mortality after MI.", citations: [1] }], 1), [MI]);
    assert.equal(short.sentences[0].unsupported, undefined);
    const passageShort = "Aspirin is given after MI.";
    const long = checkSupport(checkCitations([{ text: "Aspirin after myocardial infarction.", citations: [1] }], 1), [passageShort]);
    assert.equal(long.sentences[0].unsupported, undefined);
    const none = checkSupport(checkCitations([{ text: "Aspirin after myocardial infarction.", citations: [1] }], 1), [passageShort], { abbreviations: new Map() });
    assert.notEqual(none.sentences[0].unsupported, undefined, "without the abbreviation the long form is not found");
    const parsed = parseAbbreviations("short_form\tlong_form\nqow\tevery other week\nMI\tmyocardial infarction\nMI\tmitral insufficiency\n");
    assert.deepEqual(parsed.get("mi"), ["myocardial infarction", "mitral insufficiency"]);
  });
});
