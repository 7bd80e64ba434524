/**
 * Online PubMed (pure parts): what would be sent for a question (identifiers, their labels and long
 * numbers removed), the E-utilities URLs, the base URL setting, esearch answers, and a whole search
 * against a fetch that records every request (no network).
 */
import * as assert from "node:assert/strict";
import { describeRemoved, efetchUrl, esearchUrl, eutilsBase, ONLINE_ORIGIN, parseEsearch, prepareOnlineQuery, searchPubMed } from "../../../src/literature/online/pubmedOnline";

const EFETCH_XML = `<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="1">31000001</PMID><Article><Journal><JournalIssue><PubDate><Year>2019</Year></PubDate></JournalIssue><Title>Diabetes Care</Title></Journal><ArticleTitle>Metformin in pregnancy.</ArticleTitle><Abstract><AbstractText>Metformin was safe in pregnancy.</AbstractText></Abstract><AuthorList><Author><LastName>Roe</LastName><Initials>A</Initials></Author></AuthorList><PublicationTypeList><PublicationType>Journal Article</PublicationType></PublicationTypeList></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>`;

describe("online PubMed: what is sent", () => {
  it("sends the question's keywords with names, record numbers and phone numbers (and their labels) removed", () => {
    const preview = prepareOnlineQuery("Is metformin safe in pregnancy for Mrs. Jane Doe (MRN 4455667, phone 555-201-3344)?");
    assert.equal(preview.sent, "metformin safe pregnancy");
    for (const secret of ["Jane", "Doe", "4455667", "555", "3344", "mrs", "mrn", "phone"]) assert.ok(!preview.sent.toLowerCase().includes(secret.toLowerCase()), secret);
    assert.deepEqual(
      preview.removed.map((s) => s.category),
      ["name", "mrn", "phone"],
    );
    assert.equal(describeRemoved(preview), "1 name, 1 record or account number, 1 phone or fax number");
  });

  it("removes dates, emails and addresses, drops long numbers the detector missed, keeps doses and years", () => {
    const preview = prepareOnlineQuery("Seen 03/14/2025 by Dr. Patel (a.patel@example.org), 12 Oak Street: vancomycin 1500 mg trough after 2019 guideline, ref 99887766");
    assert.equal(preview.sent, "vancomycin 1500 mg trough after 2019 guideline ref");
    assert.equal(preview.droppedNumbers, 1);
    assert.match(describeRemoved(preview), /1 date.*1 long number/);
  });

  it("drops a name with no title or label before it (capitalised words in a row), keeping eponyms", () => {
    const bare = prepareOnlineQuery("Is metformin safe in pregnancy for Jane Doe?");
    assert.equal(bare.sent, "metformin safe pregnancy");
    assert.equal(bare.droppedNameWords, 2);
    assert.match(describeRemoved(bare), /2 capitalised words that may be a name/);
    assert.equal(prepareOnlineQuery("Jane Smith-Jones, 54: do statins cause myalgia?").sent, "54 statins cause myalgia");
    assert.equal(prepareOnlineQuery("Does Guillain Barre syndrome follow Campylobacter infection?").sent, "guillain barre syndrome follow campylobacter infection");
    assert.equal(prepareOnlineQuery("Is Ozempic safe with Hodgkin Lymphoma?").sent, "ozempic safe hodgkin lymphoma");
    assert.equal(prepareOnlineQuery("Does Metformin help PCOS?").sent, "metformin help pcos", "a question word before a drug name is no name");
    assert.equal(prepareOnlineQuery("Is metformin safe in pregnancy?").droppedNameWords, 0);
  });

  it("has nothing to send when the question was only identifiers", () => {
    assert.equal(prepareOnlineQuery("Patient: Maria Gonzalez, MRN: 4455667").sent, "");
  });

  it("keeps at most 16 distinct words", () => {
    const words = Array.from({ length: 30 }, (_, i) => `term${String.fromCharCode(97 + (i % 26))}${i}`);
    const sent = prepareOnlineQuery(`${words.join(" ")} ${words[0]}`).sent.split(" ");
    assert.equal(sent.length, 16);
    assert.equal(new Set(sent).size, 16);
  });
});

describe("online PubMed: E-utilities", () => {
  it("builds esearch and efetch URLs under the base, the term encoded", () => {
    const base = eutilsBase("http://127.0.0.1:8123/eutils");
    assert.equal(base.href, "http://127.0.0.1:8123/eutils/");
    const search = esearchUrl(base, "metformin & pregnancy #1", 500);
    assert.equal(search.origin + search.pathname, "http://127.0.0.1:8123/eutils/esearch.fcgi");
    assert.equal(search.searchParams.get("term"), "metformin & pregnancy #1");
    assert.deepEqual([search.searchParams.get("db"), search.searchParams.get("retmode"), search.searchParams.get("retmax")], ["pubmed", "json", "200"]);
    const fetchUrl = efetchUrl(base, ["1", "22"]);
    assert.equal(fetchUrl.href, "http://127.0.0.1:8123/eutils/efetch.fcgi?db=pubmed&id=1%2C22&retmode=xml&tool=bedside");
    assert.equal(eutilsBase(undefined).href, "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/");
    assert.equal(eutilsBase("  ").host, "eutils.ncbi.nlm.nih.gov");
  });

  it("refuses a base URL that is not http(s), carries credentials or is no URL", () => {
    assert.throws(() => eutilsBase("file:///etc/"), /http\(s\)/);
    assert.throws(() => eutilsBase("https://user:pw@example.org/"), /user name or password/);
    assert.throws(() => eutilsBase("not a url"), /not a URL/);
  });

  it("reads esearch answers and NCBI's errors", () => {
    assert.deepEqual(parseEsearch({ esearchresult: { count: "1234", idlist: ["31000001", "bogus", 7, "31000002"] } }), { count: 1234, pmids: ["31000001", "31000002"] });
    assert.throws(() => parseEsearch({ esearchresult: { ERROR: "Invalid query" } }), /Invalid query/);
    assert.throws(() => parseEsearch({ error: "API rate limit exceeded" }), /rate limit/);
    assert.throws(() => parseEsearch(null), /without results/);
  });

  it("searches then fetches, parsing the PubMed XML into records; only the term is sent", async () => {
    const requested: URL[] = [];
    const fakeFetch = async (input: string | URL | Request): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : input);
      requested.push(url);
      if (url.pathname.endsWith("/esearch.fcgi"))
        return new Response(JSON.stringify({ esearchresult: { count: "1", idlist: ["31000001"] } }), { headers: { "content-type": "application/json" } });
      if (url.pathname.endsWith("/efetch.fcgi")) return new Response(EFETCH_XML, { headers: { "content-type": "text/xml" } });
      return new Response("no", { status: 404, statusText: "Not Found" });
    };
    const result = await searchPubMed("metformin safe pregnancy", { base: eutilsBase("http://127.0.0.1:9/e/"), maxResults: 5, fetch: fakeFetch as typeof fetch });
    assert.deepEqual(result.pmids, ["31000001"]);
    assert.equal(result.records[0]?.pmid, "31000001");
    assert.equal(result.records[0]?.title, "Metformin in pregnancy.");
    assert.equal(result.records[0]?.origin, ONLINE_ORIGIN);
    assert.deepEqual(
      requested.map((u) => u.pathname),
      ["/e/esearch.fcgi", "/e/efetch.fcgi"],
    );
    assert.equal(requested[0]!.searchParams.get("term"), "metformin safe pregnancy");

    const failing = async (): Promise<Response> => new Response("slow down", { status: 429, statusText: "Too Many Requests" });
    await assert.rejects(searchPubMed("x", { base: eutilsBase(undefined), maxResults: 5, fetch: failing as typeof fetch }), /429 Too Many Requests/);
    const none = async (): Promise<Response> => new Response(JSON.stringify({ esearchresult: { count: "0", idlist: [] } }));
    const empty = await searchPubMed("zzzz", { base: eutilsBase(undefined), maxResults: 5, fetch: none as typeof fetch });
    assert.deepEqual([empty.count, empty.records.length], [0, 0]);
  });
});
