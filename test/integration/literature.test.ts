/**
 * The literature library in a real VS Code: importing the PubMedQA corpus (../shared/data), asking a
 * dev question, and getting an answer panel whose cited source is the question's own abstract, ranked
 * first, with the generated model doing the writing (grammar-constrained JSON, streamed). Also: a
 * question the library cannot answer gets "no relevant source" without the model being asked.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import { confirmInModal, type OnlineConfirmation, type OnlinePubMedOutcome } from "../../src/literature/online/onlinePubMedCommand";
import { ONLINE_ORIGIN } from "../../src/literature/online/pubmedOnline";
import { openLibrary } from "../../src/literature/index/libraryRecovery";
import { SqliteLiteratureLibrary } from "../../src/literature/index/sqliteLibrary";
import { minimalPdf } from "../support/minimalPdf";
import type { RenderedReport } from "../../src/literature/qa/answerMessages";
import { skipBecause } from "../support/skip";
import { ensureTestModel } from "../support/gguf/testModels";
import { until } from "./until";

const EXTENSION_ID = "bedside.bedside";

function pubmedQaDir(): string | undefined {
  const root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
  const dir = process.env.BEDSIDE_SHARED_DATA ? path.join(process.env.BEDSIDE_SHARED_DATA, "pubmedqa") : path.resolve(root, "..", "shared", "data", "pubmedqa");
  return fs.existsSync(path.join(dir, "corpus.jsonl")) ? dir : undefined;
}

describe("Bedside literature library in VS Code", () => {
  let api: BedsideApi;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;
  const dir = pubmedQaDir();
  /** Records other suites left in the shared library before this one (the resilience suite imports some). */
  let othersRecords = 0;

  before(async function () {
    if (!dir) skipBecause(this, "../shared/data/pubmedqa is absent (the shared evaluation data)");
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("model.path", model, global);
    await settings().update("literature.maxAnswerTokens", 160, global);
  });

  after(async () => {
    for (const key of ["model.path", "literature.maxAnswerTokens"]) await settings().update(key, undefined, global);
  });

  it("keeps the library in Node's built-in SQLite here; a library file moves between it and the WebAssembly one", async () => {
    // The extension host's Node (24 in code-server) has node:sqlite: the library runs on it.
    assert.equal(api.literature.library.library.driver, "node:sqlite");
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-sqlite-"));
    const file = path.join(folder, "library.sqlite");
    const record = (n: number) => ({
      key: `pmid:${900 + n}`,
      pmid: String(900 + n),
      title: `Trial ${n} of colchicine in pericarditis`,
      abstract: `Colchicine reduced recurrence of pericarditis in trial ${n}.`,
      authors: [],
      publicationTypes: [],
    });
    const onWasm = <T>(run: () => T): T => {
      process.env.BEDSIDE_SQLITE = "wasm";
      try {
        return run();
      } finally {
        delete process.env.BEDSIDE_SQLITE;
      }
    };
    try {
      const made = onWasm(() => new SqliteLiteratureLibrary(file));
      assert.equal(made.driver, "wasm");
      made.upsert([record(1), record(2), record(3)]);
      made.close();
      fs.rmSync(`${file}.lock`, { recursive: true, force: true });
      const builtin = new SqliteLiteratureLibrary(file);
      assert.equal(builtin.driver, "node:sqlite");
      assert.equal(builtin.count(), 3, "the WebAssembly library's records, read by node:sqlite");
      assert.equal((await builtin.search("colchicine pericarditis trial 2", 1))[0]?.pmid, "902");
      assert.deepEqual(builtin.upsert([record(4), record(1)]), { added: 1, updated: 1 });
      assert.equal(builtin.remove({ keys: ["pmid:903"] }), 1);
      builtin.close();
      const back = onWasm(() => new SqliteLiteratureLibrary(file));
      assert.equal(back.count(), 3, "and back");
      assert.equal((await back.search("colchicine trial 4", 1))[0]?.pmid, "904");
      back.close();
      // A damaged file: set aside, and an empty library opens, as with the WebAssembly SQLite.
      fs.rmSync(`${file}.lock`, { recursive: true, force: true });
      fs.writeFileSync(file, Buffer.alloc(64 * 1024, 7));
      const { library, recovery } = openLibrary(file);
      assert.equal(library.driver, "node:sqlite");
      assert.ok(recovery, "the damage was found");
      assert.equal(library.count(), 0);
      library.close();
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it("registers the literature commands and view", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.askLiterature", "bedside.searchLiterature", "bedside.importLiterature", "bedside.removeLiterature"]) assert.ok(commands.includes(id), id);
  });

  it("imports the PubMedQA corpus, merging a re-import instead of duplicating", async function () {
    this.timeout(240_000);
    const corpus = path.join(dir!, "corpus.jsonl");
    othersRecords = api.literature.library.count();
    const first = await api.literature.importPaths([corpus]);
    assert.deepEqual(first.failed, []);
    assert.equal(first.added + first.updated, 1000);
    assert.equal(api.literature.library.count(), othersRecords + 1000);
    const again = await api.literature.importPaths([corpus]);
    assert.equal(again.added, 0);
    assert.equal(again.updated, 1000);
    assert.equal(api.literature.library.count(), othersRecords + 1000);
    const hits = await api.literature.library.search("mammography use HMO women tailored interventions", 3);
    assert.equal(hits[0]?.pmid, "10808977");
  });

  it("answers a dev question from its own abstract, ranked first and cited, written by the model", async function () {
    this.timeout(300_000);
    const queries = fs
      .readFileSync(path.join(dir!, "queries_dev.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { _id: string; text: string });
    const qrels = new Map(
      fs
        .readFileSync(path.join(dir!, "qrels_dev.tsv"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split("\t"))
        .filter((p) => p[0] !== "query-id")
        .map((p) => [p[0], p[1]] as const),
    );
    const question = queries[0];
    const ownPmid = qrels.get(question._id)!;
    assert.equal(ownPmid, "10808977");

    const rendered = new Promise<RenderedReport>((resolve) => {
      const sub = api.literature.answers.onDidRender((report) => {
        if (report.status === "done") {
          sub.dispose();
          resolve(report);
        }
      });
    });
    const before = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    let busySeen = false;
    const stateSub = api.engine.onDidChangeState((state) => (busySeen ||= state.kind === "busy"));
    const view = await vscode.commands.executeCommand("bedside.askLiterature", question.text).then(() => api.literature.answers.current!);
    stateSub.dispose();
    assert.equal(view.status, "done", view.message);
    assert.equal(view.sources[0]?.pmid, ownPmid, "retrieval ranks the question's own abstract first");
    assert.match(view.sources[0]!.url ?? "", /^https:\/\/pubmed\.ncbi\.nlm\.nih\.gov\/10808977\/$/);
    assert.ok(view.answer && view.answer.sentences.length > 0, "the model wrote an answer");
    assert.ok(view.answer.sentences.some((s) => s.text.trim().length > 0));
    assert.ok(view.answer.cited.includes(1), "the answer cites source [1]");
    for (const n of view.answer.cited) assert.ok(n >= 1 && n <= view.sources.length, "every citation points at a retrieved source");
    const generated = api.engine.requestLog.recent().filter((r) => r.id > before);
    void generated;
    assert.ok(busySeen, "the engine was busy writing it");

    const report = await Promise.race([rendered, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the panel did not render the answer")), 30_000))]);
    assert.equal(report.cardPmids[0], ownPmid, "the first source card is the question's own abstract");
    assert.ok(report.citedNumbers.includes(1), "the rendered answer links to source card [1]");
    // The support check ran on the done answer, and the panel marks exactly the sentences it flagged.
    assert.ok(
      view.answer.sentences.filter((s) => !s.uncited).every((s) => s.support !== undefined),
      "every cited sentence was checked against its source",
    );
    assert.equal(
      report.unsupportedSentences,
      view.answer.sentences.filter((s) => !s.uncited && s.unsupported !== undefined).length,
      "the panel marks every sentence its source may not support",
    );
  });

  it("says plainly which setting to set while hybrid ranking has no embedding model, instead of falling back silently", async function () {
    this.timeout(300_000);
    const config = vscode.workspace.getConfiguration("bedside.literature");
    await config.update("ranking", "hybrid", vscode.ConfigurationTarget.Global);
    try {
      const view = await vscode.commands.executeCommand("bedside.askLiterature", "mammography use HMO women tailored interventions").then(() => api.literature.answers.current!);
      assert.equal(view.status, "done", view.message);
      assert.match(view.message ?? "", /Ranked by BM25 only: hybrid ranking needs an embedding model\. Set bedside\.literature\.embeddingModel/);
    } finally {
      await config.update("ranking", undefined, vscode.ConfigurationTarget.Global);
    }
    const plain = await vscode.commands.executeCommand("bedside.askLiterature", "mammography use HMO women tailored interventions").then(() => api.literature.answers.current!);
    assert.doesNotMatch(plain.message ?? "", /hybrid/, "with bm25 ranking there is no such note");
  });

  it("says the library has no relevant source instead of answering from memory", async function () {
    this.timeout(60_000);
    const before = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    const view = await api.literature.answers.ask("How do I tune the carburetor of a motorcycle?");
    assert.equal(view.status, "noSource");
    assert.match(view.message ?? "", /no relevant source/);
    assert.equal(view.answer, undefined);
    assert.equal(api.engine.requestLog.recent().filter((r) => r.id > before && r.lane === "general").length, 0, "the model was not asked");
  });

  it("removes what came from a file", async () => {
    const corpus = path.join(dir!, "corpus.jsonl");
    assert.equal(api.literature.library.remove({ origin: corpus }), 1000);
    assert.equal(api.literature.library.count(), othersRecords);
  });
});

/**
 * PDF folders and the optional online PubMed search, in the real extension host: pdf.js loads from its own
 * bundle (dist/pdfjs.js) with no native module; the online search talks to a real HTTP server on
 * 127.0.0.1 standing in for NCBI E-utilities, which records every request it gets.
 */
describe("Bedside literature: PDF folders and online PubMed in VS Code", () => {
  let api: BedsideApi;
  let server: http.Server;
  let base = "";
  const requests: URL[] = [];
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;
  const article = (pmid: string, title: string, abstract: string): string =>
    `<PubmedArticle><MedlineCitation><PMID Version="1">${pmid}</PMID><Article><Journal><JournalIssue><PubDate><Year>2020</Year></PubDate></JournalIssue><Title>Obstet Gynecol</Title></Journal><ArticleTitle>${title}</ArticleTitle><Abstract><AbstractText>${abstract}</AbstractText></Abstract><PublicationTypeList><PublicationType>Journal Article</PublicationType></PublicationTypeList></Article></MedlineCitation></PubmedArticle>`;
  const efetchXml = `<?xml version="1.0"?>\n<PubmedArticleSet>${article("39000001", "Metformin versus insulin in gestational diabetes.", "Metformin was as safe as insulin for neonatal outcomes in pregnancy.")}${article("39000002", "Offspring of mothers given metformin in pregnancy.", "Childhood growth after prenatal metformin exposure was followed.")}</PubmedArticleSet>`;
  const question = "Is metformin safe in pregnancy for Mrs. Jane Doe (MRN 4455667, phone 555-201-3344)?";

  before(async () => {
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push(url);
      if (url.pathname === "/eutils/esearch.fcgi") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ header: { type: "esearch" }, esearchresult: { count: "2", retmax: "2", retstart: "0", idlist: ["39000001", "39000002"] } }));
      } else if (url.pathname === "/eutils/efetch.fcgi") {
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(efetchXml);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/eutils/`;
    await settings().update("literature.onlinePubMed.baseUrl", base, global);
  });

  after(async () => {
    api.literature.onlinePubMed.confirm = confirmInModal;
    for (const key of ["literature.onlinePubMed.baseUrl", "literature.onlinePubMed.enabled"]) await settings().update(key, undefined, global);
    api.literature.library.remove({ origin: ONLINE_ORIGIN });
    await new Promise((resolve) => server.close(resolve));
  });

  it("imports a folder of PDFs and markdown: text searchable, a corrupt PDF reported, the rest imported", async function () {
    this.timeout(120_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-pdf-"));
    fs.writeFileSync(
      path.join(dir, "cap-guideline.pdf"),
      minimalPdf({
        title: "Pneumonia guideline (integration)",
        pages: [["Community-acquired pneumonia", "", "Amoxicillin for five days treats low severity zanthoxylum pneumonia."]],
      }),
    );
    fs.writeFileSync(path.join(dir, "broken.pdf"), Buffer.concat([Buffer.from("%PDF-1.7\n1 0 obj\n<<"), Buffer.alloc(40, 0x1f)]));
    fs.writeFileSync(path.join(dir, "asthma.md"), "# Asthma (integration)\n\nInhaled corticosteroids for persistent quillaja asthma.");
    const report = await api.literature.importPaths([dir]);
    try {
      assert.equal(report.files, 2, JSON.stringify(report));
      assert.equal(report.failed.length, 1);
      assert.equal(report.failed[0]!.file, path.join(dir, "broken.pdf"));
      assert.match(report.failed[0]!.message, /^broken\.pdf is not a readable PDF \(.+\)\.$/);
      const pdfHit = (await api.literature.library.search("zanthoxylum pneumonia amoxicillin", 3))[0];
      assert.equal(pdfHit?.title, "Pneumonia guideline (integration)");
      assert.match(pdfHit!.passage, /Amoxicillin for five days/);
      assert.equal((await api.literature.library.search("quillaja asthma", 3))[0]?.title, "Asthma (integration)");
    } finally {
      api.literature.library.remove({ origin: path.join(dir, "cap-guideline.pdf") });
      api.literature.library.remove({ origin: path.join(dir, "asthma.md") });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with online search off (the default), sends nothing and asks nothing", async () => {
    await settings().update("literature.onlinePubMed.enabled", undefined, global);
    let asked = 0;
    api.literature.onlinePubMed.confirm = async () => {
      asked++;
      return true;
    };
    const before = requests.length;
    const outcome = await vscode.commands.executeCommand<OnlinePubMedOutcome>("bedside.searchPubMedOnline", question);
    assert.equal(outcome.status, "disabled");
    assert.equal(asked, 0, "no confirmation was asked");
    assert.equal(requests.length, before, "the server got no request");
  });

  it("when the user declines the confirmation, sends nothing", async () => {
    await settings().update("literature.onlinePubMed.enabled", true, global);
    const shown: OnlineConfirmation[] = [];
    api.literature.onlinePubMed.confirm = async (preview) => {
      shown.push(preview);
      return false;
    };
    const before = requests.length;
    const outcome = await vscode.commands.executeCommand<OnlinePubMedOutcome>("bedside.searchPubMedOnline", question);
    assert.equal(outcome.status, "declined");
    assert.equal(shown.length, 1);
    assert.equal(requests.length, before, "the server got no request");
  });

  it("sends only the scrubbed question, exactly as confirmed, and adds the articles found to the library", async function () {
    this.timeout(60_000);
    await settings().update("literature.onlinePubMed.enabled", true, global);
    const shown: OnlineConfirmation[] = [];
    api.literature.onlinePubMed.confirm = async (preview) => {
      shown.push(preview);
      return true;
    };
    const before = requests.length;
    const outcome = await vscode.commands.executeCommand<OnlinePubMedOutcome>("bedside.searchPubMedOnline", question);
    assert.equal(outcome.status, "done", outcome.message);
    const got = requests.slice(before);
    assert.deepEqual(
      got.map((u) => u.pathname),
      ["/eutils/esearch.fcgi", "/eutils/efetch.fcgi"],
    );
    assert.equal(got[0]!.searchParams.get("term"), "metformin safe pregnancy", "the exact query the server received");
    assert.equal(got[1]!.searchParams.get("id"), "39000001,39000002");
    for (const url of got)
      for (const secret of ["Jane", "Doe", "4455667", "555", "201", "3344", "Mrs", "MRN", "phone"])
        assert.ok(!decodeURIComponent(url.href).toLowerCase().includes(secret.toLowerCase()), `${secret} was sent: ${url.href}`);
    assert.equal(shown.length, 1);
    assert.equal(shown[0]!.sent, "metformin safe pregnancy", "the user saw exactly what was sent");
    assert.equal(shown[0]!.host, new URL(base).host);
    assert.deepEqual(
      shown[0]!.removed.map((s) => s.category),
      ["name", "mrn", "phone"],
    );
    assert.deepEqual([outcome.added, outcome.updated], [2, 0]);
    assert.equal(api.literature.library.get("pmid:39000001")?.title, "Metformin versus insulin in gestational diabetes.");
    assert.equal((await api.literature.library.search("metformin insulin gestational diabetes neonatal", 3))[0]?.pmid, "39000001");
  });
});

/**
 * Hybrid ranking through the product's own path: bedside.literature.embeddingModel set to the generated bert
 * model (random weights: this proves the plumbing, not the quality), records imported with the import
 * command's code, embedded in the background by the embedding worker, then the same question asked with
 * "Ask the Literature" under `bm25` and under `hybrid`. Every record holds all the question's words, so BM25
 * orders them by term counts and lengths; the random model's cosine order differs, so RRF must move
 * something: the sources the panel shows come in another order.
 */
describe("Bedside literature: hybrid ranking in VS Code", () => {
  let api: BedsideApi;
  let folder = "";
  let corpus = "";
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;
  const question = "colchicine recurrent pericarditis";
  const bodies = [
    "Colchicine reduced recurrent pericarditis.",
    "Colchicine and recurrent pericarditis: colchicine halved recurrent pericarditis in adults.",
    "Recurrent pericarditis after cardiac surgery was less frequent with colchicine than with placebo in a trial of two hundred patients.",
    "In children with recurrent pericarditis colchicine was safe.",
    "Colchicine colchicine colchicine for recurrent pericarditis, a review of dosing and adverse effects in older adults with kidney disease.",
    "Pericarditis recurrent after viral illness; colchicine given for three months lowered recurrence.",
    "A cohort of recurrent pericarditis patients treated with colchicine, anakinra or steroids, followed for ten years at one centre.",
    "Colchicine for recurrent pericarditis in pregnancy: a case series.",
  ];

  before(async function () {
    this.timeout(120_000);
    const model = process.env.BEDSIDE_TEST_MODEL;
    if (!model) skipBecause(this, "the runner passes no BEDSIDE_TEST_MODEL (a generated GGUF) to write answers with");
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("model.path", model, global);
    await settings().update("literature.maxAnswerTokens", 48, global);
    await settings().update("literature.sources", 8, global);
    folder = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-hybrid-"));
    corpus = path.join(folder, "hybrid-corpus.jsonl");
    fs.writeFileSync(corpus, bodies.map((text, i) => JSON.stringify({ _id: String(93000001 + i), title: `Colchicine trial ${i + 1}`, text })).join("\n") + "\n");
  });

  after(async () => {
    for (const key of ["model.path", "literature.maxAnswerTokens", "literature.sources", "literature.ranking", "literature.embeddingModel"])
      await settings().update(key, undefined, global);
    if (corpus) api?.literature.library.remove({ origin: corpus });
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  const ask = async (): Promise<string[]> => {
    const view = await vscode.commands.executeCommand("bedside.askLiterature", question).then(() => api.literature.answers.current!);
    assert.ok(view.status === "done" || view.status === "error", `${view.status}: ${view.message ?? ""}`);
    assert.ok(view.sources.length >= 4, `the panel shows the sources (${view.sources.length})`);
    return view.sources.map((s) => s.pmid ?? s.title);
  };

  it("embeds imported records in the background with the embedding model, and hybrid then ranks differently from BM25", async function () {
    this.timeout(600_000);
    const report = await api.literature.importPaths([corpus]);
    assert.equal(report.added + report.updated, bodies.length);
    // Without an embedding model nothing is embedded, and hybrid says which setting to set.
    assert.equal(api.literature.embedding.progress().modelConfigured, false);

    const bert = await ensureTestModel("bert");
    await settings().update("literature.embeddingModel", bert, global);
    const done = await until(
      "every record embedded",
      () => {
        const p = api.literature.embedding.progress();
        return p.modelConfigured && !p.running && p.total > 0 && p.embedded === p.total && p;
      },
      300_000,
      200,
    );
    assert.ok(done.total >= bodies.length);
    assert.equal(done.error, undefined);
    assert.equal(api.literature.library.library.vectorModel()?.includes(bert), true, "the vectors are named by the model that made them");
    const info = await api.engine.ensureReady();
    assert.notEqual(info.path, bert, "the generation model stays the generation model");

    await settings().update("literature.ranking", "bm25", global);
    const bm25 = await ask();
    await settings().update("literature.ranking", "hybrid", global);
    const hybrid = await ask();
    const view = api.literature.answers.current!;
    assert.doesNotMatch(view.message ?? "", /BM25 only/, "hybrid ran: no fallback note");
    assert.match(view.message ?? "", /Ranked by BM25 and the embedding model together \(hybrid\)\./, "the answer says hybrid ranked it");
    const ours = (ids: string[]): string[] => ids.filter((id) => Number(id) >= 93000001 && Number(id) <= 93000008);
    assert.ok(ours(bm25).length >= 4 && ours(hybrid).length >= 4, `${bm25.join(",")} / ${hybrid.join(",")}`);
    assert.notDeepEqual(hybrid, bm25, `hybrid ranking changed the order of the sources (bm25 ${bm25.join(",")}; hybrid ${hybrid.join(",")})`);
  });

  it("says why hybrid ranks by BM25 when the embedding model file cannot be used", async function () {
    this.timeout(300_000);
    await settings().update("literature.ranking", "hybrid", global);
    const missing = path.join(folder, "no-such-embedder.gguf");
    await settings().update("literature.embeddingModel", missing, global);
    try {
      await until("the setting applied", () => api.literature.embedding.progress().error, 60_000, 100);
      const view = await vscode.commands.executeCommand("bedside.askLiterature", question).then(() => api.literature.answers.current!);
      assert.match(view.message ?? "", /Ranked by BM25 only: the embedding model could not embed the library \(the file .*no-such-embedder\.gguf was not found\)/);
    } finally {
      await settings().update("literature.embeddingModel", await ensureTestModel("bert"), global);
      await until(
        "the bert model back, every record embedded",
        () => {
          const p = api.literature.embedding.progress();
          return !p.error && !p.running && p.embedded === p.total && p;
        },
        300_000,
        200,
      );
    }
  });

  it("says how far embedding has got, and embeds a newly imported record", async function () {
    this.timeout(600_000);
    await settings().update("literature.ranking", "hybrid", global);
    const before = api.literature.embedding.progress();
    const extra = path.join(folder, "hybrid-extra.jsonl");
    fs.writeFileSync(
      extra,
      JSON.stringify({ _id: "93000100", title: "Colchicine after pericardiotomy", text: "Colchicine for recurrent pericarditis after pericardiotomy." }) + "\n",
    );
    try {
      await api.literature.importPaths([extra]);
      const decision = api.literature.library.rankingDecision("hybrid");
      // Right after the import the new record has no vector yet (unless the embedding already finished).
      if (decision.ranking === "bm25") assert.match(decision.note ?? "", /embed/);
      const after = await until(
        "the new record embedded",
        () => {
          const p = api.literature.embedding.progress();
          return !p.running && p.embedded === p.total && p.total === before.total + 1 && p;
        },
        300_000,
        200,
      );
      assert.equal(after.embedded, before.embedded + 1);
    } finally {
      api.literature.library.remove({ origin: extra });
    }
  });
});
