/**
 * The importers' parsers field by field: which tag or element fills which field, fallbacks, continuation
 * lines, record boundaries, chunking, LaTeX, and the messages for files that are not what they claim.
 * Written so a mutation of src/literature/import/{pubmedXml,medline,ris,bibtex,json}.ts fails one of them
 * (npm run test:mutation -- --mutate src/literature/import/ris.ts, and so on).
 */
import * as assert from "node:assert/strict";
import type { LiteratureRecord } from "../../../src/literature/library";
import { bibtexToRecord, latexToText, parseBibtex, readBibtex } from "../../../src/literature/import/bibtex";
import { cslToRecord, parseBeirJsonl, parseCslJson } from "../../../src/literature/import/json";
import { parseMedline } from "../../../src/literature/import/medline";
import { parsePubmedXml } from "../../../src/literature/import/pubmedXml";
import { ImportFormatError } from "../../../src/literature/import/records";
import { parseRis } from "../../../src/literature/import/ris";

async function* chunked(text: string, size = 1_000_000): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}
async function collect(records: AsyncIterable<LiteratureRecord>): Promise<LiteratureRecord[]> {
  const out: LiteratureRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}
const fails = async (records: AsyncIterable<LiteratureRecord>, message: string | RegExp): Promise<void> => {
  await assert.rejects(collect(records), (e: unknown) => {
    assert.ok(e instanceof ImportFormatError, String(e));
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
};

describe("PubMed XML parser", () => {
  const article = (inner: string, tag = "PubmedArticle"): string => `<${tag}>${inner}</${tag}>`;
  const set = (...articles: string[]): string => `<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet>\n<PubmedArticleSet>${articles.join("\n")}</PubmedArticleSet>`;
  const parse = (xml: string, size?: number, origin?: string) => collect(parsePubmedXml(chunked(xml, size), origin));

  it("reads every field of an article, whatever the chunking", async () => {
    const xml = set(
      article(`<MedlineCitation><PMID>0042</PMID><Article><Journal><JournalIssue><PubDate><Year>2019</Year><Year>2020</Year></PubDate></JournalIssue><Title>The Lancet</Title></Journal>
<ArticleTitle> Aspirin  <i>and</i> <b>stroke</b></ArticleTitle><ELocationID EIdType="pii">S1</ELocationID><ELocationID EIdType="DOI"> 10.1000/A </ELocationID>
<Abstract><AbstractText Label="AIMS"> Find out. </AbstractText><AbstractText>Plain <sup>2</sup> part.</AbstractText></Abstract>
<OtherAbstract><AbstractText>Other language.</AbstractText></OtherAbstract>
<AuthorList><Author><LastName> Smith </LastName><Initials> J </Initials></Author><Author><LastName>Roe</LastName></Author><Author><Initials>X</Initials></Author><Author><CollectiveName> ASPREE Group </CollectiveName></Author></AuthorList>
<PublicationTypeList><PublicationType>Journal Article</PublicationType><PublicationType>Review</PublicationType></PublicationTypeList></Article></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">42</ArticleId><ArticleId IdType="doi">10.2000/B</ArticleId></ArticleIdList></PubmedData>`),
    );
    for (const size of [1, 5, 1_000_000]) {
      const [r, ...rest] = await parse(xml, size, "f.xml");
      assert.equal(rest.length, 0);
      assert.deepEqual(r, {
        key: "pmid:42",
        pmid: "42",
        doi: "10.1000/a",
        title: "Aspirin and stroke",
        abstract: "AIMS: Find out. Plain 2 part.",
        journal: "The Lancet",
        year: 2019,
        authors: ["Smith J", "Roe", "ASPREE Group"],
        publicationTypes: ["Journal Article", "Review"],
        origin: "f.xml",
      });
    }
  });

  it("takes the article's own PMID, the journal's title, the publication year or MedlineDate, and the first title", async () => {
    const [r] = await parse(
      set(
        article(`<MedlineCitation><CommentsCorrections><PMID>1</PMID></CommentsCorrections><PMID>77</PMID><Article><Journal><Title>J1</Title></Journal>
<Book><Title>Not the journal</Title></Book><ArticleDate><Year>1990</Year></ArticleDate><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate><MedlineDate>2005</MedlineDate></PubDate>
<ArticleTitle>First</ArticleTitle><ArticleTitle>Second</ArticleTitle></Article></MedlineCitation>`),
      ),
    );
    assert.deepEqual([r.pmid, r.journal, r.year, r.title], ["77", "J1", 1998, "First"]);
    const [y] = await parse(
      set(
        article(
          `<MedlineCitation><PMID>5</PMID><Article><PubDate><MedlineDate>1970</MedlineDate><Year>1980</Year></PubDate><ArticleTitle>T</ArticleTitle><Journal><Title>J</Title></Journal></Article></MedlineCitation>`,
        ),
      ),
    );
    assert.equal(y.year, 1980, "a Year wins over a MedlineDate");
  });

  it("takes a DOI from ArticleId, text from CDATA, and ignores what lies outside its place", async () => {
    const [r] = await parse(
      set(
        article(`<MedlineCitation><PMID>8</PMID><DateCompleted><MedlineDate>1970</MedlineDate></DateCompleted><Article><ArticleTitle><![CDATA[Risk <5%]]> in <i>vivo</i></ArticleTitle>
<AbstractText>Stray, outside an Abstract.</AbstractText><Abstract><AbstractText>Kept.</AbstractText></Abstract><PubDate><MedlineDate>1999 Spring</MedlineDate></PubDate>
<AuthorList><Author><LastName> </LastName><Initials>J</Initials></Author><Author><CollectiveName> </CollectiveName></Author></AuthorList></Article></MedlineCitation>
<PubmedData><ArticleIdList><ArticleId IdType="pubmed">8</ArticleId><ArticleId IdType="doi">10.5555/only.here</ArticleId></ArticleIdList></PubmedData>`),
      ),
    );
    assert.deepEqual([r.title, r.abstract, r.year, r.authors, r.doi], ["Risk <5% in vivo", "Kept.", 1999, [], "10.5555/only.here"]);
    const outside = await parse(
      "<PubmedArticleSet><DeleteCitation><PMID>5</PMID></DeleteCitation><Other><Author><LastName>X</LastName></Author><Title>T</Title></Other></PubmedArticleSet>",
    );
    assert.deepEqual(outside, []);
  });

  it("stops at the first chunk with an error, before reading on", async () => {
    const a = article(`<MedlineCitation><PMID>1</PMID><Article><ArticleTitle>After</ArticleTitle></Article></MedlineCitation>`);
    async function* chunks(): AsyncGenerator<string> {
      yield "<PubmedArticleSet><x></y>";
      yield `${a}</PubmedArticleSet>`;
    }
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const r of parsePubmedXml(chunks())) got.push(r.title);
    }, ImportFormatError);
    assert.deepEqual(got, []);
  });

  it("reads book articles with their own PMID and title", async () => {
    const [b] = await parse(
      set(
        article(
          `<BookDocument><PMID>900</PMID><Book><BookTitle>Book <i>title</i></BookTitle></Book><Abstract><AbstractText>About it.</AbstractText></Abstract></BookDocument>`,
          "PubmedBookArticle",
        ),
      ),
    );
    assert.deepEqual([b.key, b.title, b.abstract], ["pmid:900", "Book title", "About it."]);
    const [single] = await collect(parsePubmedXml(chunked(article(`<MedlineCitation><PMID>3</PMID><Article><ArticleTitle>Alone</ArticleTitle></Article></MedlineCitation>`))));
    assert.equal(single.title, "Alone", "a lone PubmedArticle is a valid document");
  });

  it("skips an article without text and keeps going", async () => {
    const rows = await parse(
      set(
        article(`<MedlineCitation><PMID>1</PMID></MedlineCitation>`),
        article(`<MedlineCitation><PMID>2</PMID><Article><ArticleTitle>Kept</ArticleTitle></Article></MedlineCitation>`),
      ),
    );
    assert.deepEqual(
      rows.map((r) => r.pmid),
      ["2"],
    );
    assert.deepEqual(await parse(set()), []);
    assert.deepEqual(await parse("<PubmedArticleSet><Other><Title>x</Title><PMID>4</PMID></Other></PubmedArticleSet>"), []);
  });

  it("yields the articles of each chunk before reading the next", async () => {
    const a = article(`<MedlineCitation><PMID>1</PMID><Article><ArticleTitle>One</ArticleTitle></Article></MedlineCitation>`);
    async function* slow(): AsyncGenerator<string> {
      yield `<PubmedArticleSet>${a}`;
      yield "<broken";
      yield " <<<";
    }
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const r of parsePubmedXml(slow(), "s.xml")) got.push(r.title);
    }, ImportFormatError);
    assert.deepEqual(got, ["One"]);
  });

  it("says what is wrong with a file that is not PubMed XML", async () => {
    await fails(parsePubmedXml(chunked("<html><body/></html>")), "This XML is not PubMed XML: its root is <html>, not <PubmedArticleSet>.");
    // saxes reports an empty file, and one cut short, through its error handler.
    await fails(parsePubmedXml(chunked("")), "Not valid PubMed XML: 1:0: document must contain a root element.");
    await fails(parsePubmedXml(chunked("   \n"), "e.xml"), "Not valid PubMed XML (e.xml): 2:0: document must contain a root element.");
    await fails(parsePubmedXml(chunked("<PubmedArticleSet><a></b></PubmedArticleSet>"), "x.xml"), /^Not valid PubMed XML \(x\.xml\): /);
    await fails(parsePubmedXml(chunked("<PubmedArticleSet><a></b></PubmedArticleSet>")), /^Not valid PubMed XML: /);
    await fails(parsePubmedXml(chunked("<PubmedArticleSet><PubmedArticle>"), "y.xml"), "Not valid PubMed XML (y.xml): 1:33: unclosed tag: PubmedArticle");
  });
});

describe("MEDLINE parser", () => {
  const parse = (text: string, size?: number) => collect(parseMedline(chunked(text, size), "m.nbib"));

  it("reads every field, with continuation lines and fallbacks", async () => {
    const nbib = [
      "PMID- 00123",
      "TI  - Early therapy",
      "      in sepsis.",
      "AB  - First part.",
      "AB  - Second",
      "      part.",
      "JT  - Full Journal",
      "TA  - Abbr J",
      "DP  - 2001 Nov 8",
      "AU  - Rivers E",
      "FAU - Rivers, Emanuel",
      "AU  - Nguyen B",
      "PT  - Journal Article",
      "PT  - Review",
      "AID - S0001 [pii]",
      "AID - 10.1056/NEJMoa010307 [doi]",
      "",
    ].join("\n");
    for (const size of [3, 1_000_000]) {
      assert.deepEqual(await parse(nbib, size), [
        {
          key: "pmid:123",
          pmid: "123",
          doi: "10.1056/nejmoa010307",
          title: "Early therapy in sepsis.",
          abstract: "First part. Second part.",
          journal: "Full Journal",
          year: 2001,
          authors: ["Rivers E", "Nguyen B"],
          publicationTypes: ["Journal Article", "Review"],
          origin: "m.nbib",
        },
      ]);
    }
    const [fallback] = await parse("PMID- 5\nBTI - Book title\nTA  - Abbr\nDEP - 2020 Jan 01\nFAU - Roe, Ann\nLID - 10.9000/X [DOI] \n");
    assert.deepEqual([fallback.title, fallback.journal, fallback.year, fallback.authors, fallback.doi], ["Book title", "Abbr", 2020, ["Roe, Ann"], "10.9000/x"]);
    const [lid] = await parse("PMID- 6\nTI  - T\nLID - 10.1000/lid [doi]\nAID - 10.1000/aid [doi]\n");
    assert.equal(lid.doi, "10.1000/lid");
    const [noDoi] = await parse("PMID- 7\nTI  - T\nLID - S123 [pii]\n");
    assert.equal(noDoi.doi, undefined);
  });

  it("starts a record at each PMID or blank line, and ignores stray lines", async () => {
    const rows = await parse("PMID- 1\nTI  - One\nPMID- 2\nTI  - Two\n\n\n\nPMID- 3\nTI  - Three\n   \nPMID- 4\nAB  - Four\n");
    assert.deepEqual(
      rows.map((r) => [r.pmid, r.title || r.abstract]),
      [
        ["1", "One"],
        ["2", "Two"],
        ["3", "Three"],
        ["4", "Four"],
      ],
    );
    const two = await parse("PMID- 8\nTI  - A\n  \n      orphan continuation\nPMID- 9\nTI  - B");
    assert.deepEqual(
      two.map((r) => r.title),
      ["A", "B"],
    );
    const first = await parse("TI  - No pmid yet\nPMID- 10\nTI  - Ten\n");
    assert.deepEqual(
      first.map((r) => [r.pmid, r.title]),
      [
        [undefined, "No pmid yet"],
        ["10", "Ten"],
      ],
    );
    const noText = await parse("PMID- 11\n\nPMID- 12\nTI  - Twelve\n");
    assert.deepEqual(
      noText.map((r) => r.pmid),
      ["12"],
    );
    const noTextBeforePmid = await parse("PMID- 20\nPMID- 21\nTI  - T\nPMID- 22\n");
    assert.deepEqual(
      noTextBeforePmid.map((r) => r.pmid),
      ["21"],
      "records without text are skipped, at a PMID and at the end",
    );
    const blankSplits = await parse("PMID- 30\nTI  - A\n\nAU  - X\nTI  - B\n");
    assert.deepEqual(
      blankSplits.map((r) => [r.pmid, r.title, r.authors]),
      [
        ["30", "A", []],
        [undefined, "B", ["X"]],
      ],
    );
    assert.deepEqual(await parse("PMID- 31\nTI  - Bare\n"), [{ key: "pmid:31", pmid: "31", title: "Bare", abstract: "", authors: [], publicationTypes: [], origin: "m.nbib" }]);
    assert.equal((await parse("PMID- 32\nTI  - T\nLID - 10.1000/x[doi]\n"))[0]?.doi, "10.1000/x");
    const tagForms = await parse("PMID-13\nTI  -Compact\nAB  -  spaced  \n");
    assert.deepEqual([tagForms[0]?.pmid, tagForms[0]?.title, tagForms[0]?.abstract], ["13", "Compact", "spaced"]);
  });

  it("says when a file is not MEDLINE", async () => {
    await fails(parseMedline(chunked("hello\nworld\n")), 'This is not MEDLINE/PubMed format: no line starts with a field tag such as "PMID- ".');
    await fails(parseMedline(chunked("a\nb\nc\nd\ne\nf\ng\n")), 'This is not MEDLINE/PubMed format: line 6 has no "TAG - " field.');
    await fails(parseMedline(chunked("")), /no line starts with a field tag/);
    await fails(parseMedline(chunked("a\nb\nc\nd\ne\n")), /no line starts with a field tag/);
    await fails(parseMedline(chunked("pmid- 1\nti  - lower\n")), /no line starts with a field tag/);
    await fails(parseMedline(chunked("ABCDE- 1\n")), /no line starts with a field tag/);
    assert.equal((await parse("x\ny\nz\nPMID- 1\nTI  - Late tag\nstray text\nmore stray\nand more\n"))[0]?.title, "Late tag");
  });
});

describe("RIS parser", () => {
  const parse = (text: string, size?: number) => collect(parseRis(chunked(text, size), "r.ris"));

  it("reads every field with its fallbacks, whatever the chunking", async () => {
    const ris =
      "\uFEFFTY  - JOUR\nTI  - Heart\n  failure\nAU  - Smith, J\nA1  - Roe, A\nPY  - 2003///\nT2  - BMJ\nJO  - Other\nAB  - An abstract.\nN2  - Not used.\nDO  - 10.1136/BMJ.Y\nUR  - https://example.org/x\nUR  - https://pubmed.ncbi.nlm.nih.gov/555/\nAN  - 999\nER  - \n";
    for (const size of [2, 1_000_000]) {
      assert.deepEqual(await parse(ris, size), [
        {
          key: "pmid:555",
          pmid: "555",
          doi: "10.1136/bmj.y",
          title: "Heart failure",
          abstract: "An abstract.",
          journal: "BMJ",
          year: 2003,
          authors: ["Smith, J", "Roe, A"],
          publicationTypes: ["Journal Article"],
          origin: "r.ris",
        },
      ]);
    }
  });

  it("falls back tag by tag", async () => {
    const one = async (body: string): Promise<LiteratureRecord> => (await parse(`TY  - CHAP\n${body}\nER  -\n`))[0]!;
    assert.equal((await one("T1  - T1 title")).title, "T1 title");
    assert.equal((await one("CT  - CT title")).title, "CT title");
    assert.equal((await one("BT  - BT title")).title, "BT title");
    assert.equal((await one("TI  - \nT1  - Second")).title, "Second", "an empty tag gives way to the next");
    assert.equal((await one("N2  - From N2.")).abstract, "From N2.");
    for (const tag of ["JO", "JF", "JA", "J2"]) assert.equal((await one(`TI  - t\n${tag}  - ${tag} journal`)).journal, `${tag} journal`);
    assert.equal((await one("TI  - t\nY1  - 1999/01/01")).year, 1999);
    assert.equal((await one("TI  - t\nDA  - 2011/05")).year, 2011);
    assert.equal((await one("TI  - t\nDI  - 10.5000/di")).doi, "10.5000/di");
    assert.equal((await one("TI  - t\nUR  - https://doi.org/10.7000/ur")).doi, "10.7000/ur");
    assert.equal((await one("TI  - t\nUR  - https://www.ncbi.nlm.nih.gov/pubmed/321")).pmid, "321");
    assert.equal((await one("TI  - t\nAN  - PMID: 654")).pmid, "654");
    assert.equal((await one("TI  - t\nC2  - 88")).pmid, "88");
    assert.equal((await one("TI  - t\nAN  - WOS:000123")).pmid, undefined);
    assert.equal((await one("TI  - t\nAN  - 1234567890")).pmid, undefined);
    assert.deepEqual((await one("TI  - t")).publicationTypes, ["Book Chapter"]);
  });

  it("names the publication types it knows and keeps the code of others", async () => {
    const types = await parse(["JOUR", "BOOK", "CHAP", "RPRT", "CONF", "GEN", "ELEC", "THES", "DATA"].map((t) => `TY  - ${t}\nTI  - t\nER  - `).join("\n"));
    assert.deepEqual(
      types.map((r) => r.publicationTypes[0]),
      ["Journal Article", "Book", "Book Chapter", "Report", "Conference Paper", "Generic", "Web Page", "Thesis", "DATA"],
    );
    const [empty] = await parse("TY  -\nTI  - t\nER  -\n");
    assert.deepEqual(empty.publicationTypes, []);
  });

  it("keeps tags only inside a record, and closes a record left open at the end", async () => {
    const rows = await parse("TI  - outside\nER  - \nTY  - JOUR\nTI  - One\nER  - \nAU  - Stray\nstray line\nTY  - JOUR\nTI  - Two\nTY  - JOUR\nTI  - Three");
    assert.deepEqual(
      rows.map((r) => [r.title, r.authors]),
      [
        ["One", []],
        ["Three", []],
      ],
    );
    const noText = await parse("TY  - JOUR\nAU  - Someone\nER  - \n");
    assert.deepEqual(noText, []);
    const continued = await parse("TY  - JOUR\nTI  - A\n\nmore\nER  - \n");
    assert.equal(continued[0]?.title, "A more");
  });

  it("says when a file is not RIS", async () => {
    await fails(parseRis(chunked("")), 'This is not RIS: no record starts with "TY  - ".');
    await fails(parseRis(chunked("a\nb\nc\nd\ne\n")), 'This is not RIS: no record starts with "TY  - ".');
    await fails(parseRis(chunked("a\nb\nc\nd\ne\nf\n")), 'This is not RIS: line 6 is not a "TY  - " record.');
    await fails(parseRis(chunked("\n\n\n\n\n\n\n\nTY - JOUR\n")), 'This is not RIS: line 9 is not a "TY  - " record.');
    await fails(parseRis(chunked("ty  - JOUR\nTI  - t\n")), /no record starts/);
    assert.equal((await parse("x\ny\n\n\n\n\n\nTY  - JOUR\nTI  - ok\nER  - \n"))[0]?.title, "ok");
  });
});

describe("BibTeX reader", () => {
  it("reduces LaTeX to plain text", () => {
    assert.equal(latexToText("{\\'E}tude \\`a \\^o \\\"u \\~n \\=a \\.z \\u{g} \\v{c} \\c{c} \\H{o}"), "Étude à ô ü ñ ā ż ğ č ç ő");
    assert.equal(latexToText("\\' {E}"), "É");
    assert.equal(latexToText("\\textit{in vivo} \\textbf{b} \\emph{c} \\textsc{d} \\textrm{e} \\mathrm{f} \\text{g} \\url{h}"), "in vivo b c d e f g h");
    assert.equal(latexToText("50\\% \\& \\$5 \\#1 a\\_b \\{x\\}"), "50% & $5 #1 a_b x");
    assert.equal(latexToText("\\alpha  blocker \\LaTeX{}"), "blocker");
    assert.equal(latexToText("New~York 1--2  \n spaced "), "New York 1–2 spaced");
    assert.equal(latexToText("\\k{a}"), "a");
    // Letter-named accents are commands of one letter: \url, \cite and \verb are not accents on "r", "i" and "e".
    assert.equal(latexToText("\\url{https://x.org} \\cite{k} \\verb{v} \\Huge{H} \\u g"), "https://x.org k v H ğ");
  });

  it("reads entries with braced, quoted, bare and concatenated values", () => {
    const { entries, skipped } = readBibtex(`
@Article{ key1 ,
  Title = {A {nested} title},
  year = 2001,
  note = "quoted {with} braces",
  misc = "a" # {b} # c,
  escaped = {a \\} b},
  journal:x = {colon},
}
@book(key2, title={Round})
@comment{ignored, title={x}}
@preamble{"x"}
@string{jn = "J"}
@misc{nofields}
@misc{, title={No key}}
`);
    assert.deepEqual(entries, [
      { type: "article", key: "key1", fields: { title: "A {nested} title", year: "2001", note: "quoted {with} braces", misc: "abc", escaped: "a \\} b", "journal:x": "colon" } },
      { type: "book", key: "key2", fields: { title: "Round" } },
      { type: "misc", key: "", fields: { title: "No key" } },
    ]);
    assert.equal(skipped, 1);
  });

  it("skips broken entries and counts them, reading the rest", () => {
    const cases: Array<[string, number, number]> = [
      ["@article{a, title={never closed", 0, 1],
      ['@article{a, title="never closed', 0, 1],
      ["@article{a, title={x}} }, y={z}}\n@book{b, title={ok}}", 2, 0],
      ["@article{a, title=}\n@book{b, title={ok}}", 1, 1],
      ["@article{a, = {x}}\n@book{b, title={ok}}", 1, 1],
      ["@article{a, title={x} junk={y}}", 1, 0],
      ["@article{a, title={x} {y}}", 0, 1],
      ["@article{a, title={x}", 0, 1],
      ["@article{a, title={unbalanced}}}", 1, 0],
      ['@article{a, title="x}"}', 0, 1],
      ["@ article{a, title={x}}", 0, 0],
      ["email me @ home", 0, 0],
    ];
    for (const [text, read, skipped] of cases) {
      const result = readBibtex(text);
      assert.deepEqual([result.entries.length, result.skipped], [read, skipped], text);
    }
    assert.deepEqual(readBibtex("@article{a, title={x} # {y}}").entries[0]?.fields, { title: "xy" });
    assert.deepEqual(readBibtex("@article{a,title={x},}").entries[0]?.fields, { title: "x" });
    assert.deepEqual(readBibtex("@article{a, title = { x } , year=1999}").entries[0]?.fields, { title: " x ", year: "1999" });
    assert.deepEqual(readBibtex("@article{a, title={x} #}").entries[0]?.fields, { title: "x" });
  });

  it("turns an entry into a record with its fallbacks", () => {
    const rec = (fields: Record<string, string>, type = "article") => bibtexToRecord({ type, key: "k", fields: { title: "T", ...fields } }, "b.bib")!;
    assert.deepEqual(rec({ pmid: "12", doi: "10.1000/X", abstract: "A \\& b", journal: "{J}", year: "2001", author: "Doe, J. AND Roe, {\\'A}. and  " }), {
      key: "pmid:12",
      pmid: "12",
      doi: "10.1000/x",
      title: "T",
      abstract: "A & b",
      journal: "J",
      year: 2001,
      authors: ["Doe, J.", "Roe, Á."],
      publicationTypes: ["Journal Article"],
      origin: "b.bib",
    });
    assert.equal(rec({ eprinttype: "PubMed", eprint: "34" }).pmid, "34");
    assert.equal(rec({ eprinttype: "arxiv", eprint: "34" }).pmid, undefined);
    assert.equal(rec({ journaltitle: "JT" }).journal, "JT");
    assert.equal(rec({ booktitle: "BT" }).journal, "BT");
    assert.equal(rec({ date: "2012-03-04" }).year, 2012);
    assert.deepEqual(rec({}).authors, []);
    const types = ["article", "book", "inbook", "incollection", "inproceedings", "techreport", "phdthesis", "mastersthesis", "misc", "online", "patent"];
    assert.deepEqual(
      types.map((t) => rec({}, t).publicationTypes[0]),
      ["Journal Article", "Book", "Book Chapter", "Book Chapter", "Conference Paper", "Report", "Thesis", "Thesis", "Generic", "Web Page", "patent"],
    );
  });

  it("parses a stream, and says when nothing could be read", async () => {
    const rows = await collect(parseBibtex(chunked("@article{a, title={One}}\n@article{b, author={X}}\n@article{c, title={Two}}", 4), "b.bib"));
    assert.deepEqual(
      rows.map((r) => r.title),
      ["One", "Two"],
    );
    await fails(parseBibtex(chunked("just text")), "No BibTeX entry could be read (entries start with @article{key, ...).");
    assert.deepEqual(await collect(parseBibtex(chunked(" \n\t"))), []);
    assert.deepEqual(await collect(parseBibtex(chunked(""))), []);
  });
});

describe("CSL-JSON and BEIR JSON Lines parsers", () => {
  it("turns a CSL item into a record with its fallbacks", () => {
    assert.deepEqual(
      cslToRecord(
        {
          type: "article-journal",
          title: "T",
          abstract: "A",
          "container-title": "J",
          issued: { "date-parts": [[2010, 2]] },
          PMID: 77,
          DOI: "10.1000/Z",
          author: [{ family: "Roe", given: "Ann b. Carol" }, { literal: "WHO Group" }, { given: "Solo" }, "not an author", { family: "Only" }],
        },
        "c.json",
      ),
      {
        key: "pmid:77",
        pmid: "77",
        doi: "10.1000/z",
        title: "T",
        abstract: "A",
        journal: "J",
        year: 2010,
        authors: ["Roe AC", "WHO Group", "S", "Only"],
        publicationTypes: ["Journal Article"],
        origin: "c.json",
      },
    );
    const r = cslToRecord({ title: "T", pmid: "8", doi: "10.2000/y", issued: { raw: "2001-02" }, author: "nobody" })!;
    assert.deepEqual([r.pmid, r.doi, r.year, r.authors, r.publicationTypes], ["8", "10.2000/y", 2001, [], []]);
    assert.equal(cslToRecord({ title: "T", issued: { literal: "Spring 1999" } })?.year, 1999);
    assert.equal(cslToRecord({ title: "T", issued: { "date-parts": "2001", raw: "1998" } })?.year, 1998);
    assert.equal(cslToRecord({ title: "T", issued: { "date-parts": [2001], raw: "1997" } })?.year, 1997);
    assert.equal(cslToRecord({ title: "T", issued: [2001] })?.year, undefined);
    assert.equal(cslToRecord({ title: "T", issued: null })?.year, undefined);
    assert.equal(cslToRecord({ title: true, abstract: "only" })?.title, "");
    const types = ["article-journal", "book", "chapter", "report", "paper-conference", "webpage", "thesis", "dataset"];
    assert.deepEqual(
      types.map((type) => cslToRecord({ title: "T", type })?.publicationTypes[0]),
      ["Journal Article", "Book", "Book Chapter", "Report", "Conference Paper", "Web Page", "Thesis", "dataset"],
    );
    for (const notItem of [null, [], "x", 3]) assert.equal(cslToRecord(notItem), undefined);
  });

  it("reads an array, an object with items, or a single item, and says what is not CSL-JSON", async () => {
    const read = (text: string) => collect(parseCslJson(chunked(text, 3), "c.json"));
    assert.deepEqual(
      (await read('\uFEFF[{"title":"A"},{"title":""},{"title":"B"}]')).map((r) => r.title),
      ["A", "B"],
    );
    assert.deepEqual(
      (await read('{"items":[{"title":"C"}]}')).map((r) => r.title),
      ["C"],
    );
    assert.deepEqual(
      (await read('{"title":"D"}')).map((r) => [r.title, r.origin]),
      [["D", "c.json"]],
    );
    await fails(parseCslJson(chunked("not json")), /^This is not CSL-JSON: /);
    await fails(parseCslJson(chunked("3")), "This is not CSL-JSON: expected an array of items.");
    await fails(parseCslJson(chunked("null")), "This is not CSL-JSON: expected an array of items.");
  });

  it("reads BEIR rows with their ids and metadata, skipping blank and bad lines", async () => {
    const text = [
      '{"_id":"00123","title":"T1","text":"Body 1.","metadata":{"doi":"10.1000/A","journal":"J","year":2001}}',
      "",
      '{"id":"x9","title":"T2","abstract":"Body 2.","doi":"10.2000/b","journal":"J2","year":"1999"}',
      "not json",
      '"a string"',
      '{"_id":"5","title":"","text":""}',
      '{"_id":"7","title":"T3","text":"B","metadata":{"pmid":"42"}}',
      '{"_id":"1234567890","title":"T4","text":"B"}',
      '{"title":"T5","text":"B"}',
    ].join("\n");
    const rows = await collect(parseBeirJsonl(chunked(text, 7), "b.jsonl"));
    assert.deepEqual(
      rows.map((r) => [r.key, r.title, r.abstract, r.doi, r.journal, r.year, r.origin]),
      [
        ["pmid:123", "T1", "Body 1.", "10.1000/a", "J", 2001, "b.jsonl"],
        ["beir:x9", "T2", "Body 2.", "10.2000/b", "J2", 1999, "b.jsonl"],
        ["pmid:42", "T3", "B", undefined, undefined, undefined, "b.jsonl"],
        ["beir:1234567890", "T4", "B", undefined, undefined, undefined, "b.jsonl"],
        [rows[4]!.key, "T5", "B", undefined, undefined, undefined, "b.jsonl"],
      ],
    );
    assert.match(rows[4]!.key, /^ref:[0-9a-f]{16}$/);
    const notPmids = await collect(parseBeirJsonl(chunked('{"_id":"123","title":"T","text":"B"}\n'), "b", { idsArePmids: false }));
    assert.deepEqual(
      notPmids.map((r) => [r.key, r.pmid]),
      [["beir:123", undefined]],
    );
    const numeric = await collect(parseBeirJsonl(chunked('{"_id":456,"title":"T","text":"B"}\n')));
    assert.equal(numeric[0]?.key, "pmid:456");
  });

  it("gives up on a file whose first three non-blank lines are not JSON, but not later", async () => {
    await fails(parseBeirJsonl(chunked("a\n\nb\nc\n")), "This is not JSON Lines: line 4 is not JSON.");
    assert.deepEqual(await collect(parseBeirJsonl(chunked("a\nb\n"))), []);
    const late = await collect(parseBeirJsonl(chunked('{"_id":"x","title":"T","text":"B"}\na\nb\nc\nd\n')));
    assert.equal(late.length, 1);
  });
});
