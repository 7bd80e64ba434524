/**
 * The literature library in a real VS Code: importing the PubMedQA corpus (../shared/data), asking a
 * dev question, and getting an answer panel whose cited source is the question's own abstract, ranked
 * first, with the generated model doing the writing (grammar-constrained JSON, streamed). Also: a
 * question the library cannot answer gets "no relevant source" without the model being asked.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { RenderedReport } from "../../src/qa/answerMessages";

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

  before(async function () {
    if (!dir) {
      console.log("literature suite skipped: ../shared/data/pubmedqa is absent");
      this.skip();
    }
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

  it("registers the literature commands and view", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.askLiterature", "bedside.searchLiterature", "bedside.importLiterature", "bedside.removeLiterature"]) assert.ok(commands.includes(id), id);
  });

  it("imports the PubMedQA corpus, merging a re-import instead of duplicating", async function () {
    this.timeout(240_000);
    const corpus = path.join(dir!, "corpus.jsonl");
    const first = await api.literature.importPaths([corpus]);
    assert.deepEqual(first.failed, []);
    assert.equal(first.added + first.updated, 1000);
    assert.equal(api.literature.library.count(), 1000);
    const again = await api.literature.importPaths([corpus]);
    assert.equal(again.added, 0);
    assert.equal(again.updated, 1000);
    assert.equal(api.literature.library.count(), 1000);
    const hits = await api.literature.library.search("mammography use HMO women tailored interventions", 3);
    assert.equal(hits[0]?.pmid, "10808977");
  });

  it("answers a dev question from its own abstract, ranked first and cited, written by the model", async function () {
    this.timeout(300_000);
    const queries = fs.readFileSync(path.join(dir!, "queries_dev.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { _id: string; text: string });
    const qrels = new Map(fs.readFileSync(path.join(dir!, "qrels_dev.tsv"), "utf8").trim().split("\n").map((l) => l.split("\t")).filter((p) => p[0] !== "query-id").map((p) => [p[0], p[1]] as const));
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
    assert.equal(api.literature.library.count(), 0);
  });
});
