/**
 * Literature importers (every format, streamed in arbitrary chunks, fuzzed: they only ever throw
 * ImportFormatError), merging by PMID/DOI, BM25 ranking and filters on a real SQLite (WebAssembly)
 * library on disk, passages and Vancouver citations.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import type { LiteratureRecord } from "../../../src/literature/library";
import { parseBibtex } from "../../../src/literature/import/bibtex";
import { detectFormat, readLiteratureFile } from "../../../src/literature/import/importFiles";
import { parseBeirJsonl, parseCslJson } from "../../../src/literature/import/json";
import { parseMedline } from "../../../src/literature/import/medline";
import { parsePubmedXml } from "../../../src/literature/import/pubmedXml";
import { ImportFormatError } from "../../../src/literature/import/records";
import { parseRis } from "../../../src/literature/import/ris";
import { textToRecords } from "../../../src/literature/import/textDocument";
import { bm25Score, idf, reciprocalRankFusion, termCounts } from "../../../src/literature/index/bm25";
import { queryTerms, terms } from "../../../src/literature/index/analyzer";
import { selectPassage } from "../../../src/literature/index/passage";
import { mergeRecords, SqliteLiteratureLibrary } from "../../../src/literature/index/sqliteLibrary";
import { vancouverCitation } from "../../../src/literature/vancouver";

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect(records: AsyncIterable<LiteratureRecord>): Promise<LiteratureRecord[]> {
  const out: LiteratureRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

const PUBMED_XML = `<?xml version="1.0" ?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">31234567</PMID>
<Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>2019</Year><Month>Jun</Month></PubDate></JournalIssue><Title>The Lancet</Title></Journal>
<ArticleTitle>Aspirin for <i>primary</i> prevention of stroke.</ArticleTitle>
<ELocationID EIdType="doi" ValidYN="Y">10.1016/S0140-6736(19)31234-5</ELocationID>
<Abstract><AbstractText Label="BACKGROUND">Aspirin reduces vascular events &amp; bleeding is a risk.</AbstractText><AbstractText Label="RESULTS">Stroke fell by 10<sup>2</sup> events.</AbstractText></Abstract>
<AuthorList><Author><LastName>Smith</LastName><ForeName>John</ForeName><Initials>J</Initials></Author><Author><CollectiveName>ASPREE Group</CollectiveName></Author></AuthorList>
<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType><PublicationType UI="D016449">Randomized Controlled Trial</PublicationType></PublicationTypeList>
</Article></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">31234567</ArticleId><ArticleId IdType="doi">10.1016/S0140-6736(19)31234-5</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID Version="1">20000001</PMID><Article><Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue><Title>BMJ</Title></Journal><ArticleTitle>Second paper.</ArticleTitle></Article>
<CommentsCorrectionsList><CommentsCorrections><PMID>999</PMID></CommentsCorrections></CommentsCorrectionsList></MedlineCitation></PubmedArticle>
</PubmedArticleSet>`;

describe("literature importers", () => {
  it("reads PubMed XML streamed in any chunking: PMID, DOI, labelled abstract, inline markup, journal, year, authors, types", async () => {
    for (const size of [7, 64, 100_000]) {
      const [a, b] = await collect(parsePubmedXml(chunked(PUBMED_XML, size), "x.xml"));
      assert.equal(a.pmid, "31234567");
      assert.equal(a.key, "pmid:31234567");
      assert.equal(a.doi, "10.1016/s0140-6736(19)31234-5");
      assert.equal(a.title, "Aspirin for primary prevention of stroke.");
      assert.equal(a.abstract, "BACKGROUND: Aspirin reduces vascular events & bleeding is a risk. RESULTS: Stroke fell by 102 events.");
      assert.equal(a.journal, "The Lancet");
      assert.equal(a.year, 2019);
      assert.deepEqual(a.authors, ["Smith J", "ASPREE Group"]);
      assert.deepEqual(a.publicationTypes, ["Journal Article", "Randomized Controlled Trial"]);
      assert.equal(b.pmid, "20000001", "a PMID inside CommentsCorrections is not the article's");
      assert.equal(b.year, 1998);
    }
  });

  it("reads gzipped PubMed XML (baseline files) from disk, and says when a file is not PubMed XML", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bedside-lit-"));
    try {
      writeFileSync(join(dir, "pubmed24n0001.xml.gz"), gzipSync(PUBMED_XML));
      assert.equal((await collect(readLiteratureFile(join(dir, "pubmed24n0001.xml.gz")))).length, 2);
      writeFileSync(join(dir, "other.xml"), "<html><body>hi</body></html>");
      await assert.rejects(collect(readLiteratureFile(join(dir, "other.xml"))), ImportFormatError);
      writeFileSync(join(dir, "broken.xml.gz"), Buffer.from("not gzip at all"));
      await assert.rejects(collect(readLiteratureFile(join(dir, "broken.xml.gz"))), ImportFormatError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads MEDLINE (.nbib) with continuation lines", async () => {
    const nbib =
      "PMID- 12345678\nTI  - Early goal-directed therapy in\n      severe sepsis.\nAB  - We randomised patients.\n      Mortality fell.\nJT  - The New England journal of medicine\nDP  - 2001 Nov 8\nAU  - Rivers E\nAU  - Nguyen B\nPT  - Journal Article\nLID - 10.1056/NEJMoa010307 [doi]\n\nPMID- 2\nTI  - Other.\n";
    const [r, second] = await collect(parseMedline(chunked(nbib, 5)));
    assert.equal(r.title, "Early goal-directed therapy in severe sepsis.");
    assert.equal(r.abstract, "We randomised patients. Mortality fell.");
    assert.equal(r.year, 2001);
    assert.equal(r.doi, "10.1056/nejmoa010307");
    assert.deepEqual(r.authors, ["Rivers E", "Nguyen B"]);
    assert.equal(second.pmid, "2");
  });

  it("reads RIS, BibTeX (LaTeX reduced, a broken entry skipped) and CSL-JSON", async () => {
    const [ris] = await collect(
      parseRis(
        chunked(
          "TY  - JOUR\nTI  - Heart failure\nAU  - Smith, J\nPY  - 2003\nJO  - BMJ\nAB  - An abstract.\nDO  - 10.1136/BMJ.Y\nUR  - https://pubmed.ncbi.nlm.nih.gov/555/\nER  - \n",
          9,
        ),
      ),
    );
    assert.deepEqual([ris.pmid, ris.doi, ris.year, ris.journal, ris.abstract], ["555", "10.1136/bmj.y", 2003, "BMJ", "An abstract."]);
    const bib =
      '@comment{x}\n@article{a, title={{\\\'E}tude of {ACE} inhibitors}, author={M{\\"u}ller, Hans and Doe, J.}, journal={Lancet}, year=2001, doi={10.1000/X}, pmid={123}, abstract={Hi \\& there}}\n@article{broken, title={never closed\n@book{b, title="Second", year={1999}}';
    const entries = await collect(parseBibtex(chunked(bib, 11)));
    assert.equal(entries[0].title, "Étude of ACE inhibitors");
    assert.deepEqual(entries[0].authors, ["Müller, Hans", "Doe, J."]);
    assert.deepEqual([entries[0].pmid, entries[0].abstract, entries[0].year], ["123", "Hi & there", 2001]);
    const [csl] = await collect(
      parseCslJson(
        chunked(
          JSON.stringify([
            {
              type: "article-journal",
              title: "T",
              abstract: "A",
              "container-title": "J",
              issued: { "date-parts": [[2010, 2]] },
              author: [{ family: "Roe", given: "Ann B" }],
              PMID: "77",
              DOI: "10.1000/z",
            },
          ]),
          4,
        ),
      ),
    );
    assert.deepEqual([csl.pmid, csl.year, csl.authors[0], csl.publicationTypes[0]], ["77", 2010, "Roe AB", "Journal Article"]);
  });

  it("reads BEIR JSONL, skipping a bad line, and splits markdown guidelines into sections", async () => {
    const rows = await collect(parseBeirJsonl(chunked('{"_id":"21645374","title":"","text":"Programmed cell death."}\nnot json\n{"_id":"x1","title":"T","text":"Body."}\n', 13)));
    assert.deepEqual(
      rows.map((r) => r.key),
      ["pmid:21645374", "beir:x1"],
    );
    const md = `# Sepsis guideline 2021\n\n## Antibiotics\n\n${"Give antibiotics within one hour. ".repeat(80)}\n\n## Fluids\n\nGive 30 ml/kg crystalloid.`;
    const sections = textToRecords(md, "/g/sepsis.md", "sepsis.md");
    assert.ok(sections.length >= 2);
    assert.ok(sections.every((s) => s.publicationTypes[0] === "Guideline" && s.year === 2021));
    assert.ok(sections.some((s) => s.title === "Sepsis guideline 2021 — Fluids" && /crystalloid/.test(s.abstract)));
  });

  it("recognises formats by name and first characters", () => {
    assert.equal(detectFormat("a.xml.gz", ""), "pubmed-xml");
    assert.equal(detectFormat("export.txt", "PMID- 1\n"), "medline");
    assert.equal(detectFormat("x", "TY  - JOUR"), "ris");
    assert.equal(detectFormat("refs.bib", ""), "bibtex");
    assert.equal(detectFormat("zotero.json", "["), "csl-json");
    assert.equal(detectFormat("corpus.jsonl", "{"), "beir-jsonl");
    assert.equal(detectFormat("paper.pdf", "%PDF"), "pdf");
    assert.equal(detectFormat("download", "%PDF-1.7"), "pdf");
    assert.equal(detectFormat("slides.key", "PK"), undefined);
  });

  it("never throws anything but ImportFormatError on arbitrary input (fuzzed)", async () => {
    const parsers = [parsePubmedXml, parseMedline, parseRis, parseBibtex, parseCslJson, parseBeirJsonl];
    const pieces = fc.constantFrom(
      "<PubmedArticleSet>",
      "<PubmedArticle>",
      "<PMID>",
      "</PMID>",
      "<AbstractText>",
      "</PubmedArticle>",
      "PMID- ",
      "TY  - ",
      "ER  - ",
      "@article{",
      "}",
      "{",
      '"',
      "title={",
      "[",
      "]",
      '{"_id":',
      "\n",
      "      ",
      "&amp;",
      "&bogus;",
      "<![CDATA[",
      "]]>",
      "\u0000",
      "é",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string(), pieces), { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), async (parts, size) => {
        const text = parts.join("");
        for (const parse of parsers) {
          try {
            for await (const record of parse(chunked(text, size))) {
              assert.equal(typeof record.key, "string");
              assert.ok(record.title.length > 0 || record.abstract.length > 0);
            }
          } catch (error) {
            if (!(error instanceof ImportFormatError)) throw error;
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("literature library (SQLite FTS5 in WebAssembly)", () => {
  let dir: string;
  let library: SqliteLiteratureLibrary;
  const rec = (pmid: string, title: string, abstract: string, extra: Partial<LiteratureRecord> = {}): LiteratureRecord => ({
    key: `pmid:${pmid}`,
    pmid,
    title,
    abstract,
    authors: [],
    publicationTypes: ["Journal Article"],
    ...extra,
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-lib-"));
    library = new SqliteLiteratureLibrary(join(dir, "library.sqlite"));
  });
  afterEach(() => {
    library.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ranks by BM25 over title and abstract, best first, with the matching passage", async () => {
    library.upsert([
      rec("1", "Metformin in pregnancy", "Metformin use in pregnant women with gestational diabetes was safe. Neonatal outcomes were similar.", { year: 2015 }),
      rec("2", "Insulin pumps", "Insulin pumps in type 1 diabetes in adults.", { year: 2010, publicationTypes: ["Review"] }),
      rec("3", "Stroke rehabilitation", "Early mobilisation after stroke.", { year: 2020 }),
    ]);
    library.refreshStats();
    const hits = await library.search("Is metformin safe in pregnancy?", 3);
    assert.equal(hits[0].pmid, "1");
    assert.ok(hits[0].relevance > 0.9);
    assert.ok(
      hits.every((h) => h.pmid !== "3"),
      "a source sharing no word is not returned",
    );
    assert.equal((await library.search("diabetes", 5, { yearFrom: 2012 })).map((h) => h.pmid).join(), "1");
    assert.equal((await library.search("diabetes", 5, { publicationTypes: ["review"] })).map((h) => h.pmid).join(), "2");
    assert.deepEqual(await library.search("the of and", 5), [], "stop words alone match nothing");
  });

  it("merges duplicates by PMID and DOI, updates on re-import, removes by origin", () => {
    assert.deepEqual(library.upsert([rec("9", "Old title", "Old abstract text that is long enough to keep.", { origin: "a.xml" })]), { added: 1, updated: 0 });
    assert.deepEqual(library.upsert([{ key: "doi:10.1000/x", doi: "10.1000/x", title: "From Zotero", abstract: "", authors: ["Roe A"], publicationTypes: [] }]), {
      added: 1,
      updated: 0,
    });
    assert.deepEqual(library.upsert([rec("9", "New title", "New abstract.", { doi: "10.1000/x" })]), { added: 0, updated: 1 });
    library.refreshStats();
    assert.equal(library.get("pmid:9")?.title, "New title");
    assert.equal(library.remove({ origin: "a.xml" }), 1);
    library.refreshStats();
    assert.equal(library.count(), 1);
  });

  it("keeps identifiers and non-empty fields from both sides of a merge", () => {
    const merged = mergeRecords(
      { key: "doi:10.1000/x", doi: "10.1000/x", title: "T", abstract: "A long enough abstract to be kept as it is.", journal: "J", authors: ["A"], publicationTypes: ["Review"] },
      { key: "pmid:5", pmid: "5", title: "", abstract: "", authors: [], publicationTypes: ["Journal Article"] },
    );
    assert.deepEqual([merged.key, merged.doi, merged.title, merged.journal, merged.publicationTypes.length], ["pmid:5", "10.1000/x", "T", "J", 2]);
  });
});

describe("literature ranking parts", () => {
  it("scores BM25 as Lucene does and fuses rankings by RRF", () => {
    const stats = { docCount: 10, avgLength: 4, df: (t: string) => (t === "rare" ? 1 : 5) };
    assert.ok(idf(10, 1) > idf(10, 5));
    const a = bm25Score(["rare"], termCounts(["rare", "x", "y", "z"]), stats);
    const b = bm25Score(["rare"], termCounts(["rare", "x", "y", "z", "w", "v", "u", "t"]), stats);
    assert.ok(a > b, "a longer document scores lower for the same match");
    assert.deepEqual(
      reciprocalRankFusion([
        ["a", "b"],
        ["b", "c"],
      ]).map((r) => r.key),
      ["b", "a", "c"],
    );
  });

  it("stems and drops stop words the same way for documents and questions", () => {
    assert.deepEqual(terms("The patients were treated"), ["patient", "were", "treat"]);
    assert.deepEqual(
      queryTerms("Is the patient treated?").map((t) => t.term),
      ["patient", "treat"],
    );
  });

  it("picks whole sentences around the best match for the passage", () => {
    const text = "Background about something else entirely. Metformin was safe in pregnancy. Other findings followed. More unrelated text here.";
    const passage = selectPassage(text, terms("metformin pregnancy"), 60);
    assert.match(passage, /Metformin was safe in pregnancy\./);
    assert.ok(passage.length <= 70);
  });

  it("writes Vancouver citations", () => {
    assert.equal(
      vancouverCitation({ authors: ["Rivers E", "Nguyen B"], title: "Early goal-directed therapy.", journal: "N Engl J Med", year: 2001, pmid: "11794169" }),
      "Rivers E, Nguyen B. Early goal-directed therapy. N Engl J Med. 2001. PMID: 11794169.",
    );
    assert.match(vancouverCitation({ authors: ["A", "B", "C", "D", "E", "F", "G"], title: "T" }), /^A, B, C, D, E, F, et al\. T\.$/);
  });
});
