import * as assert from "node:assert/strict";
import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { formatAssessment } from "../../../src/ddx/assessment";
import { asciiFold, noteChunks, notePhrases, MAX_PHRASE_CHARS } from "../../../src/ddx/candidates";
import { citationSourceFromLibrary, citationsFor } from "../../../src/ddx/citations";
import type { DifferentialResult } from "../../../src/ddx/differential";
import { fitDifferential, limitLadder, planExtraction, CONTEXT_MARGIN, type CountTokens } from "../../../src/ddx/fitting";
import { findInNote, groundFindings, normalise, normaliseQuote } from "../../../src/ddx/grounding";
import { evidencePrompt, notePrefix, phrasesText, rankedListPrompt } from "../../../src/ddx/prompt";
import { evidenceSchema, keyFindingsSchema, rankedListSchema, schemaErrors, worstCaseChars, DEFAULT_LIMITS, MINIMUM_LIMITS } from "../../../src/ddx/schema";
import { isStale, relocateFinding } from "../../../src/ddx/stale";
import { findingById, panelView } from "../../../src/ddx/panelMessages";

const note = [
  "CHIEF COMPLAINT:",
  "Double vision.",
  "",
  "HPI:",
  "35-year-old woman with a 1-month history of double vision; difficulty climbing stairs. Symptoms worsen after activity and improve with rest.",
  "",
  "PHYSICAL EXAMINATION:",
  "Temp 36.6°C, BP 125/80.",
  "- Ptosis of the right upper eyelid that worsens with sustained upward gaze",
  "- Normal reflexes throughout",
  "",
  "ASSESSMENT:",
  "Probable myasthenia gravis.",
].join("\n");

describe("ddx grounding matcher", () => {
  it("finds a finding whatever its case, whitespace and punctuation, and returns the note's own range", () => {
    const range = findInNote(note, "ptosis of the RIGHT upper-eyelid");
    assert.ok(range);
    assert.equal(note.slice(range.start, range.end), "Ptosis of the right upper eyelid");
    const bp = findInNote(note, "bp 125 80");
    assert.ok(bp);
    assert.equal(note.slice(bp.start, bp.end), "BP 125/80");
    const temp = findInNote(note, "Temp 36.6 C");
    assert.equal(temp && note.slice(temp.start, temp.end), "Temp 36.6°C");
  });

  it("finds the note's own symbols from their ASCII spelling (the grammar writes ASCII only)", () => {
    const labs = "CBC: WBC 6,200 /μL, platelets 274,000 /µL; β-hCG negative; creatinine ≥ 1.5; café-au-lait spots.";
    const phrases = notePhrases(`LABS:\n${labs}`).map((p) => p.text);
    assert.ok(phrases.includes("WBC 6,200 /uL, platelets 274,000 /uL"), phrases.join(" | "));
    for (const [quote, expected] of [
      ["WBC 6,200 /uL", "WBC 6,200 /μL"],
      ["platelets 274,000 /uL", "platelets 274,000 /µL"],
      ["beta-hCG negative", "β-hCG negative"],
      ["creatinine >= 1.5", "creatinine ≥ 1.5"],
      ["cafe au lait spots", "café-au-lait spots"],
    ] as const) {
      const range = findInNote(labs, quote);
      assert.equal(range && labs.slice(range.start, range.end), expected, quote);
    }
    assert.equal(findInNote(labs, "WBC 6,200 /L"), undefined, "a dropped symbol is not silently ignored");
  });

  it("matches whole words only and rejects what the note does not say", () => {
    assert.equal(findInNote("Abdominal pain, painful swallowing.", "painf"), undefined);
    assert.equal(findInNote(note, "chest pain"), undefined);
    assert.equal(findInNote(note, "  ...  "), undefined);
    assert.equal(findInNote(note, ""), undefined);
    const pain = findInNote("painful swallowing and pain", "pain");
    assert.deepEqual(pain, { start: 23, end: 27 });
  });

  it("prefers the occurrence at or after a given offset", () => {
    const text = "cough. cough. cough.";
    assert.deepEqual(findInNote(text, "Cough", 7), { start: 7, end: 12 });
    assert.deepEqual(findInNote(text, "Cough", 100), { start: 0, end: 5 });
  });

  it("grounds quotes: keeps the found ones with their text, drops and lists the rest, once per range", () => {
    const { grounded, dropped } = groundFindings(note, ["NORMAL reflexes throughout", "fever", "normal reflexes throughout."]);
    assert.deepEqual(
      grounded.map((g) => g.noteText),
      ["Normal reflexes throughout"],
    );
    assert.deepEqual(dropped, ["fever"]);
  });

  it("property: any word-aligned piece of a note, re-cased and re-punctuated, is found and maps back to the same words", () => {
    const word = fc.stringMatching(/^[A-Za-z0-9]{1,8}$/);
    const sep = fc.constantFrom(" ", "  ", ", ", ". ", "\n", "\t", " - ", "/", ": ", "(", ") ");
    fc.assert(
      fc.property(fc.array(fc.tuple(word, sep), { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(), fc.array(sep, { minLength: 1 }), (pieces, a, b, quoteSeps) => {
        const text = pieces.map(([w, s]) => w + s).join("");
        const words = pieces.map(([w]) => w);
        const from = a % words.length;
        const to = from + 1 + (b % (words.length - from));
        const quote = words
          .slice(from, to)
          .map((w, i) => (i % 2 === 0 ? w.toUpperCase() : w.toLowerCase()) + quoteSeps[i % quoteSeps.length])
          .join("");
        const range = findInNote(text, quote);
        assert.ok(range, `"${quote}" in "${text}"`);
        assert.equal(normaliseQuote(text.slice(range.start, range.end)), normaliseQuote(quote));
        // The range starts and ends on a word character of the note.
        assert.match(text[range.start]!, /[A-Za-z0-9]/);
        assert.match(text[range.end - 1]!, /[A-Za-z0-9]/);
      }),
      { numRuns: 300 },
    );
  });

  it("property: for any text and quote, a returned range holds exactly the quote's words", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), fc.string({ unit: "grapheme", maxLength: 12 }), (text, quote) => {
        const range = findInNote(text, quote);
        if (!range) {
          // Nothing found: then the words are really not there on word boundaries.
          const n = normalise(text).text;
          const q = normaliseQuote(quote);
          assert.ok(q === "" || !` ${n} `.includes(` ${q} `));
          return;
        }
        assert.ok(range.start >= 0 && range.end <= text.length && range.start < range.end);
        // Equal as written, or (the second pass) in their ASCII spellings: "𝕏" and "Ẋ" both read "x".
        const found = text.slice(range.start, range.end);
        assert.ok(
          normaliseQuote(found) === normaliseQuote(quote) || normalise(found, true).text === normalise(quote, true).text,
          `${JSON.stringify(found)} holds the words of ${JSON.stringify(quote)}`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it("property: a quote with a word the note lacks is never grounded", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-m]{1,6}$/), { minLength: 1, maxLength: 20 }), fc.stringMatching(/^[n-z]{1,6}$/), (words, foreign) => {
        const text = words.join(" ");
        assert.equal(findInNote(text, `${words[0]} ${foreign}`), undefined);
      }),
    );
  });
});

describe("ddx note phrases", () => {
  it("splits findings sections into short ASCII phrases with exact ranges, leaving out the assessment", () => {
    const phrases = notePhrases(note);
    const texts = phrases.map((p) => p.text);
    assert.ok(texts.includes("Double vision"));
    assert.ok(texts.includes("Ptosis of the right upper eyelid that worsens with sustained upward gaze"));
    assert.ok(texts.includes("Temp 36.6 C, BP 125/80"), texts.join(" | "));
    assert.ok(!texts.some((t) => /myasthenia/i.test(t)), "the note's own assessment is not a finding");
    for (const p of phrases) {
      assert.ok(p.text.length <= MAX_PHRASE_CHARS);
      assert.match(p.text, /^[\x20-\x7e]+$/);
      assert.doesNotMatch(p.text, /["\\]/);
      const range = findInNote(note, p.text);
      assert.ok(range, p.text);
      assert.equal(normaliseQuote(note.slice(p.range.start, p.range.end)), normaliseQuote(p.text));
    }
    assert.deepEqual(
      noteChunks(note).map((c) => c.section),
      ["CHIEF COMPLAINT", "HPI", "PHYSICAL EXAMINATION"],
    );
  });

  it("splits long clauses and folds accents", () => {
    assert.equal(asciiFold('Fièvre "high" \\ 38°C'), "Fievre high 38 C");
    const long = `HPI:\n${"word ".repeat(60)}end`;
    const phrases = notePhrases(long);
    assert.ok(phrases.length > 1);
    assert.ok(phrases.every((p) => p.text.length <= MAX_PHRASE_CHARS));
  });

  it("property: every phrase of any note is found in that note", () => {
    const line = fc.oneof(fc.constantFrom("HPI:", "EXAM:", "ASSESSMENT:", "", "- "), fc.string({ maxLength: 120 }));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines.join("\n");
        for (const p of notePhrases(text)) assert.ok(findInNote(text, p.text), `${JSON.stringify(p.text)} in ${JSON.stringify(text)}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe("ddx schemas", () => {
  const phrases = ["Double vision", "Normal reflexes throughout"];

  it("accepts a valid answer and rejects invented findings, percentages and extra fields", () => {
    const ranked = rankedListSchema(DEFAULT_LIMITS);
    assert.deepEqual(schemaErrors(ranked, { diagnoses: [{ name: "Myasthenia gravis", likelihood: "high", cantMiss: false }] }), []);
    assert.notDeepEqual(schemaErrors(ranked, { diagnoses: [{ name: "MG", likelihood: "85%", cantMiss: false }] }), []);
    assert.notDeepEqual(schemaErrors(ranked, { diagnoses: [] }), []);
    assert.notDeepEqual(schemaErrors(ranked, { diagnoses: [{ name: "MG", likelihood: "low", cantMiss: false, probability: 0.8 }] }), []);
    const evidence = evidenceSchema(phrases, DEFAULT_LIMITS);
    assert.deepEqual(schemaErrors(evidence, { findingsFor: ["Double vision"], findingsAgainst: [], nextSteps: ["AChR antibodies"] }), []);
    assert.notDeepEqual(schemaErrors(evidence, { findingsFor: ["Fever"], findingsAgainst: [], nextSteps: ["x"] }), []);
    assert.notDeepEqual(schemaErrors(evidence, { findingsFor: [], findingsAgainst: [], nextSteps: ["x"] }), [], "at least one finding for");
    assert.notDeepEqual(schemaErrors(keyFindingsSchema(phrases, DEFAULT_LIMITS), { findings: ["a", "b"] }), []);
  });

  it("keeps nothing of a differential's schemas once they are gone (each run builds new ones from its note)", async () => {
    // A full collection on demand; mocha runs without --expose-gc.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const schemas: WeakRef<object>[] = [];
    (() => {
      for (let i = 0; i < 5; i++) {
        const notePhrases = [`Fever for ${i} days`, `Rash on day ${i}`];
        const schema = evidenceSchema(notePhrases, DEFAULT_LIMITS);
        assert.deepEqual(schemaErrors(schema, { findingsFor: [notePhrases[0]], findingsAgainst: [], nextSteps: ["Blood cultures"] }), []);
        schemas.push(new WeakRef(schema));
      }
    })();
    // WeakRefs made in this job hold their targets until it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.deepEqual(
      schemas.map((r) => r.deref() !== undefined),
      [false, false, false, false, false],
      "a compiled schema outlived its differential",
    );
  });

  it("bounds the longest answer: a maximal valid answer fits the worst-case estimate", () => {
    const evidence = evidenceSchema(phrases, DEFAULT_LIMITS);
    const maximal = {
      findingsFor: [phrases[1], phrases[1]],
      findingsAgainst: [phrases[1], phrases[1]],
      nextSteps: ["x".repeat(DEFAULT_LIMITS.nextStepChars), "y".repeat(DEFAULT_LIMITS.nextStepChars)],
    };
    assert.deepEqual(schemaErrors(evidence, maximal), []);
    assert.ok(JSON.stringify(maximal, null, 4).length <= worstCaseChars(evidence));
    const ranked = rankedListSchema(DEFAULT_LIMITS);
    const list = { diagnoses: Array.from({ length: 5 }, () => ({ name: "n".repeat(DEFAULT_LIMITS.nameChars), likelihood: "moderate", cantMiss: false })) };
    assert.deepEqual(schemaErrors(ranked, list), []);
    assert.ok(JSON.stringify(list, null, 4).length <= worstCaseChars(ranked));
  });
});

describe("ddx prompt fitting", () => {
  // A stand-in tokenizer (about four characters a token) keeps these tests in plain Node; the real one is
  // exercised by the integration suite and the eval.
  const count: CountTokens = async (text) => Math.ceil(text.length / 4);

  it("keeps the default answer for a short note in a 2,048-token context", async () => {
    const phrases = notePhrases(note);
    const fit = await fitDifferential(
      phrasesText(phrases),
      "whole",
      phrases.map((p) => p.text),
      2048,
      count,
    );
    assert.ok(fit);
    assert.deepEqual(fit.limits, DEFAULT_LIMITS);
    assert.ok(fit.rankedPromptTokens === (await count(rankedListPrompt(notePrefix(phrasesText(phrases), "whole")))));
  });

  it("shrinks the answer for a small context, and gives up when even the smallest one does not fit", async () => {
    const phrases = notePhrases(note);
    const text = phrasesText(phrases);
    const small = await fitDifferential(
      text,
      "whole",
      phrases.map((p) => p.text),
      700,
      count,
    );
    assert.ok(small);
    assert.notDeepEqual(small.limits, DEFAULT_LIMITS);
    const evidenceTokens = await count(evidencePrompt(small.prefix, "M".repeat(small.limits.nameChars)));
    assert.ok(
      evidenceTokens +
        worstCaseChars(
          evidenceSchema(
            phrases.map((p) => p.text),
            small.limits,
          ),
        ) +
        CONTEXT_MARGIN <=
        700,
    );
    assert.equal(
      await fitDifferential(
        text,
        "whole",
        phrases.map((p) => p.text),
        300,
        count,
      ),
      undefined,
    );
    const ladder = limitLadder();
    assert.deepEqual(ladder[0], DEFAULT_LIMITS);
    assert.deepEqual(ladder.at(-1), MINIMUM_LIMITS);
  });

  it("plans a long note section by section, splitting sections that are too long alone, every part fitting", async () => {
    const sections = ["HPI", "PHYSICAL EXAMINATION", "LABS"].map(
      (s, i) => `${s}:\n${Array.from({ length: i === 2 ? 200 : 60 }, (_, j) => `Finding number ${i}-${j} is present in the patient today.`).join(" ")}`,
    );
    const longNote = sections.join("\n\n");
    const phrases = notePhrases(longNote);
    assert.equal(
      await fitDifferential(
        phrasesText(phrases),
        "whole",
        phrases.map((p) => p.text),
        2048,
        count,
      ),
      undefined,
    );
    const parts = await planExtraction(phrases, 2048, count);
    assert.ok(parts.length > 3, `${parts.length} parts`);
    assert.deepEqual([...new Set(parts.map((p) => p.section))], ["HPI", "PHYSICAL EXAMINATION", "LABS"]);
    assert.equal(
      parts.reduce((n, p) => n + p.phrases.length, 0),
      phrases.length,
      "every phrase is read once",
    );
    for (const part of parts) {
      const answer = worstCaseChars(
        keyFindingsSchema(
          part.phrases.map((p) => p.text),
          DEFAULT_LIMITS,
        ),
      );
      assert.ok(part.promptTokens + answer + CONTEXT_MARGIN <= 2048);
    }
  });
});

describe("ddx stale notes, assessment text and citations", () => {
  it("says a changed note is stale and finds a finding again after an edit above it", () => {
    assert.equal(isStale(note, note), false);
    const edited = `Added line.\n${note}`;
    assert.equal(isStale(note, edited), true);
    const range = findInNote(note, "normal reflexes throughout")!;
    const moved = relocateFinding(note, edited, "normal reflexes throughout", range)!;
    assert.equal(edited.slice(moved.start, moved.end), "Normal reflexes throughout");
    assert.equal(relocateFinding(note, "gone", "normal reflexes throughout", range), undefined);
  });

  it("writes the differential as an ASSESSMENT section with the note's words", () => {
    const r = findInNote(note, "double vision")!;
    const result: DifferentialResult = {
      noteText: note,
      mode: "whole",
      keyFindings: [],
      droppedFindings: [],
      quotedFindings: 1,
      answers: [],
      cancelled: false,
      diagnoses: [
        {
          name: "Myasthenia gravis",
          likelihood: "high",
          cantMiss: false,
          findingsFor: [{ quote: "double vision", range: r, noteText: "Double vision" }],
          findingsAgainst: [],
          nextSteps: ["AChR antibodies"],
          citations: [{ id: "PMID:1", title: "t" }],
        },
        { name: "Brainstem stroke", likelihood: "low", cantMiss: true, findingsFor: [], findingsAgainst: [], nextSteps: [], citations: [] },
      ],
    };
    const text = formatAssessment(result, { linePrefix: "", textAfter: false });
    assert.equal(
      text,
      [
        "ASSESSMENT:",
        "Differential diagnosis (Bedside, model-generated; verify before signing):",
        "1. Myasthenia gravis (likelihood high)",
        "   For: Double vision",
        "   Next steps: AChR antibodies",
        "   Sources: PMID:1",
        "2. Brainstem stroke (likelihood low; can't miss)",
        "",
      ].join("\n"),
    );
    assert.ok(formatAssessment(result, { linePrefix: "Plan: rest", textAfter: true }).startsWith("\n\nASSESSMENT:"));
  });

  it("has no citations without a library or when it fails, and keeps only well-formed ones", async () => {
    assert.deepEqual(await citationsFor(undefined, "Asthma", [], 3), []);
    assert.deepEqual(await citationsFor({ findSources: () => Promise.reject(new Error("index missing")) }, "Asthma", [], 3), []);
    const found = await citationsFor(
      {
        findSources: async (query) => [
          { id: "PMID:9", title: query, url: "javascript:alert(1)" },
          { id: "PMID:8", title: "ok", url: "https://pubmed.ncbi.nlm.nih.gov/8/" },
        ],
      },
      "Asthma",
      ["wheeze"],
      3,
    );
    assert.deepEqual(found, [
      { id: "PMID:9", title: "Asthma wheeze" },
      { id: "PMID:8", title: "ok", url: "https://pubmed.ncbi.nlm.nih.gov/8/" },
    ]);
  });
});

describe("ddx citations from the literature library", () => {
  it("cites relevant hits with PubMed links, none from an empty library", async () => {
    const hit = (pmid: string | undefined, relevance: number) => ({
      key: pmid ? `pmid:${pmid}` : "file:g.md",
      ...(pmid ? { pmid } : {}),
      title: `T${pmid ?? "g"}`,
      authors: [],
      publicationTypes: [],
      passage: "",
      rank: 1,
      score: 1,
      relevance,
    });
    const library = { count: () => 3, search: async () => [hit("11", 0.9), hit(undefined, 0.5), hit("12", 0.05)] };
    const source = citationSourceFromLibrary(library);
    assert.equal(source.available?.(), true);
    assert.equal(citationSourceFromLibrary({ count: () => 0, search: async () => [] }).available?.(), false);
    assert.deepEqual(await source.findSources("asthma", 3), [
      { id: "PMID 11", title: "T11", url: "https://pubmed.ncbi.nlm.nih.gov/11/" },
      { id: "file:g.md", title: "Tg" },
    ]);
    assert.deepEqual(await citationSourceFromLibrary({ count: () => 0, search: async () => [hit("1", 1)] }).findSources("x", 3), []);
  });
});

describe("ddx panel view", () => {
  it("gives every shown finding an id that leads back to its range, and shows the note's own words", () => {
    const range = findInNote(note, "normal reflexes throughout")!;
    const result: DifferentialResult = {
      noteText: note,
      mode: "keyFindings",
      keyFindings: [{ quote: "double vision", range: findInNote(note, "double vision")!, noteText: "Double vision" }],
      droppedFindings: ["fever"],
      quotedFindings: 3,
      answers: [],
      cancelled: false,
      diagnoses: [
        {
          name: "MG",
          likelihood: "high",
          cantMiss: true,
          findingsFor: [],
          findingsAgainst: [{ quote: "normal reflexes throughout", range, noteText: "Normal reflexes throughout" }],
          nextSteps: [],
          citations: [],
        },
      ],
    };
    const view = panelView(result, { noteName: "a.note", running: false, stale: false, literature: false });
    assert.deepEqual(view.diagnoses[0]!.findingsAgainst, [{ id: "d0-against-0", text: "Normal reflexes throughout" }]);
    assert.deepEqual(view.keyFindings, [{ id: "k0", text: "Double vision" }]);
    assert.equal(view.dropped, 1);
    assert.deepEqual(findingById(result, "d0-against-0")?.range, range);
    assert.equal(findingById(result, "k0")?.quote, "double vision");
    assert.equal(findingById(result, "d3-for-0"), undefined);
    assert.equal(findingById(result, "<img>"), undefined);
  });
});
