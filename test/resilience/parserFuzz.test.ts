/**
 * Property-based fuzzing, 10,000 cases each (BEDSIDE_FUZZ_RUNS): every literature importer (PubMed XML,
 * MEDLINE, RIS, BibTeX, CSL-JSON, BEIR JSONL) on mutated and truncated valid files and on format-flavoured
 * garbage, streamed in random chunk sizes; and the differential's grounding matcher on arbitrary notes and
 * quotes. Expected: an importer yields well-formed records or throws ImportFormatError (a clear message for
 * the clinician), nothing else; the matcher never throws and any range it returns holds the quote's words.
 * (The GGUF header check and the engine protocol have their own 10,000-case runs.)
 */
import * as assert from "node:assert/strict";
import fc from "fast-check";
import { findInNote, normalise, normaliseQuote } from "../../src/ddx/grounding";
import type { LiteratureRecord } from "../../src/literature/library";
import { parseBibtex } from "../../src/literature/import/bibtex";
import { parseBeirJsonl, parseCslJson } from "../../src/literature/import/json";
import { parseMedline } from "../../src/literature/import/medline";
import { parsePubmedXml } from "../../src/literature/import/pubmedXml";
import { ImportFormatError } from "../../src/literature/import/records";
import { parseRis } from "../../src/literature/import/ris";
import { record, tally } from "./tally";

const RUNS = Number(process.env.BEDSIDE_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.BEDSIDE_RESILIENCE_SEED ?? 42);

type Parser = (chunks: AsyncIterable<string>) => AsyncGenerator<LiteratureRecord>;

/** One valid file per format, and the tokens its syntax is made of. */
const formats: { name: string; parse: Parser; valid: string; tokens: string[] }[] = [
  {
    name: "PubMed XML",
    parse: parsePubmedXml,
    valid:
      '<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="1">12345</PMID><Article><Journal><Title>Chest</Title><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue></Journal><ArticleTitle>Aspirin &amp; <i>sepsis</i></ArticleTitle><Abstract><AbstractText Label="METHODS">Randomised trial.</AbstractText><AbstractText>Mortality fell.</AbstractText></Abstract><PublicationTypeList><PublicationType>Randomized Controlled Trial</PublicationType></PublicationTypeList></Article></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="doi">10.1/x</ArticleId></ArticleIdList></PubmedData></PubmedArticle></PubmedArticleSet>\n',
    tokens: [
      "<PubmedArticleSet>",
      "<PubmedArticle>",
      "<PMID>",
      "</PMID>",
      "<AbstractText>",
      "</AbstractText>",
      "</PubmedArticle>",
      "<![CDATA[",
      "]]>",
      "&amp;",
      "&bogus;",
      "&#x0;",
      "<!DOCTYPE x [<!ENTITY a 'b'>]>",
      "<?xml?>",
    ],
  },
  {
    name: "MEDLINE",
    parse: parseMedline,
    valid:
      "PMID- 12345\nTI  - Aspirin in sepsis: a\n      randomised trial.\nAB  - Mortality fell.\nDP  - 2020 Jan\nTA  - Chest\nPT  - Randomized Controlled Trial\nAID - 10.1/x [doi]\n\nPMID- 678\nTI  - Second.\n",
    tokens: ["PMID- ", "TI  - ", "AB  - ", "DP  - ", "AID - ", "      ", "\n\n", "\r\n"],
  },
  {
    name: "RIS",
    parse: parseRis,
    valid: "TY  - JOUR\nTI  - Aspirin in sepsis\nAB  - Mortality fell.\nPY  - 2020\nJO  - Chest\nDO  - 10.1/x\nER  - \n",
    tokens: ["TY  - ", "TI  - ", "AB  - ", "PY  - ", "ER  - ", "DO  - ", "\r\n"],
  },
  {
    name: "BibTeX",
    parse: parseBibtex,
    valid: '@article{key1,\n  title = {Aspirin in {S}epsis},\n  abstract = "Mortality fell.",\n  year = 2020,\n  journal = {Chest},\n  doi = {10.1/x}\n}\n@comment{x}\n',
    tokens: ["@article{", "@string{", "@comment{", "}", "{", '"', "title = {", "year = ", ",", "\\{", "#"],
  },
  {
    name: "CSL-JSON",
    parse: parseCslJson,
    valid:
      '[{"id":"a","type":"article-journal","title":"Aspirin in sepsis","abstract":"Mortality fell.","issued":{"date-parts":[[2020]]},"container-title":"Chest","DOI":"10.1/x","PMID":"12345"}]',
    tokens: ["[", "]", "{", "}", '"title":', '"abstract":', '"issued":', '"date-parts":', ",", '"', "\\u0000", "null", "1e999"],
  },
  {
    name: "BEIR JSONL",
    parse: parseBeirJsonl,
    valid: '{"_id":"12345","title":"Aspirin in sepsis","text":"Mortality fell."}\n{"_id":"678","title":"","text":"Second."}\n',
    tokens: ['{"_id":', '"title":', '"text":', "}\n", "{", "}", '"', "\\u0000", "\n"],
  },
];

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/** A valid file with random edits: cut, bytes replaced, pieces of syntax inserted, lines duplicated. */
function mutated(valid: string, tokens: string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.tuple(fc.constant("cut" as const), fc.nat(), fc.constant("")),
    fc.tuple(fc.constant("insert" as const), fc.nat(), fc.oneof(fc.constantFrom(...tokens), fc.string({ unit: "binary", maxLength: 8 }))),
    fc.tuple(fc.constant("replace" as const), fc.nat(), fc.string({ unit: "binary", minLength: 1, maxLength: 3 })),
    fc.tuple(fc.constant("repeat" as const), fc.nat(), fc.constant("")),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let text = valid;
    for (const [kind, at, piece] of edits) {
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      if (kind === "cut") text = text.slice(0, i);
      else if (kind === "insert") text = text.slice(0, i) + piece + text.slice(i);
      else if (kind === "replace") text = text.slice(0, i) + piece + text.slice(i + piece.length);
      else text = text.slice(0, i) + text.slice(i, i + 40) + text.slice(i);
    }
    return text;
  });
}

describe("Fuzzing the importers and the grounding matcher", function () {
  this.timeout(20 * 60_000);

  for (const format of formats) {
    it(`${format.name} importer: ${RUNS.toLocaleString("en")} mutated or garbage files, only well-formed records or a clear format error`, async () => {
      const input = fc.oneof(
        { weight: 3, arbitrary: mutated(format.valid, format.tokens) },
        {
          weight: 1,
          arbitrary: fc.array(fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom(...format.tokens)), { maxLength: 40 }).map((parts) => parts.join("")),
        },
      );
      let records = 0;
      let formatErrors = 0;
      await fc.assert(
        fc.asyncProperty(input, fc.integer({ min: 1, max: 64 }), async (text, size) => {
          tally.badInputs++;
          try {
            for await (const r of format.parse(chunked(text, size))) {
              records++;
              assert.equal(typeof r.key, "string");
              assert.ok(r.key.length > 0, "a record has a key");
              assert.ok(r.title.length > 0 || r.abstract.length > 0, "a record has a title or an abstract");
              if (r.year !== undefined) assert.ok(Number.isInteger(r.year), `year ${String(r.year)}`);
            }
          } catch (error) {
            if (!(error instanceof ImportFormatError)) throw error;
            assert.ok(error.message.length > 0);
            formatErrors++;
          }
        }),
        { numRuns: RUNS, seed: SEED },
      );
      // Not vacuous: the record checks ran on records the mutated files still held.
      assert.ok(records > 0, `${format.name}: no run produced a record to check`);
      record("importers", `${format.name}: mutated and garbage files (fast-check; ${records} records, ${formatErrors} clear format errors)`, RUNS);
    });
  }

  it(`grounding matcher: ${RUNS.toLocaleString("en")} arbitrary notes and quotes, never throws, a range holds the quote's words`, () => {
    const note = fc.oneof(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }));
    const quote = fc.oneof(fc.string({ unit: "grapheme", maxLength: 16 }), fc.string({ unit: "binary", maxLength: 16 }));
    let matched = 0;
    fc.assert(
      fc.property(note, quote, fc.boolean(), (text, q, fromNote) => {
        tally.badInputs++;
        // Half the time the quote is cut from the note itself, so matches happen.
        const asked = fromNote && text.length > 0 ? text.slice(q.length % text.length, (q.length % text.length) + 1 + (q.length % 24)) : q;
        const range = findInNote(text, asked);
        if (!range) return;
        matched++;
        assert.ok(range.start >= 0 && range.end <= text.length && range.start < range.end);
        const found = text.slice(range.start, range.end);
        assert.ok(
          normaliseQuote(found) === normaliseQuote(asked) || normalise(found, true).text === normalise(asked, true).text,
          `${JSON.stringify(found)} holds the words of ${JSON.stringify(asked)}`,
        );
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Not vacuous: a range is checked only when the matcher found one; the quotes cut from the note must give some.
    assert.ok(matched > RUNS / 20, `${matched} of ${RUNS} runs found a range to check`);
    record("grounding", "arbitrary notes and quotes to the differential's matcher (fast-check)", RUNS);
  });
});
