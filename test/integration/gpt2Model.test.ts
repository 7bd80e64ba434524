/**
 * A GPT-2-architecture base model (BioMedLM's layout at a small width, generated: learned position
 * embeddings, no FIM tokens, no chat template, a 1,024-token context) in a real VS Code: the suite points
 * bedside.model.path at it, then runs an inline completion (the text before the cursor only), Ask the
 * Literature, the differential and a chat through their commands and panels, and points the setting
 * back. Random weights: the words are nonsense; what is checked is that each path runs on this file with
 * the prompt format a base model gets.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { RenderedReport } from "../../src/ddx/differentialPanel";
import { until, when } from "./until";

const EXTENSION_ID = "bedside.bedside";

const NOTE = [
  "CHIEF COMPLAINT:",
  "Chest pain.",
  "",
  "HPI:",
  "58-year-old man with sudden sharp chest pain radiating to the left arm, worse on exertion. He reports shortness of breath and nausea. He denies fever or cough.",
  "",
  "PAST MEDICAL HISTORY:",
  "Hypertension, diabetes mellitus, hyperlipidemia.",
  "",
  "PLAN:",
  "Troponin and ecg. Follow up in clinic.",
].join("\n");

describe("Bedside on a GPT-2-architecture base model (BioMedLM layout) in VS Code", function () {
  this.timeout(240_000);
  let api: BedsideApi;
  let gpt2: string;
  let previousPath: string | undefined;
  let corpus: string;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;
  const changed = ["engine.gpu", "engine.threads", "engine.contextSize", "literature.maxAnswerTokens", "chat.maxTokens", "chat.context"];

  async function openNote(content: string, cursor: number): Promise<vscode.TextEditor> {
    const document = await vscode.workspace.openTextDocument({ language: "note", content });
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const at = document.positionAt(cursor);
    editor.selection = new vscode.Selection(at, at);
    return editor;
  }
  const lastRequestId = (): number => api.engine.requestLog.recent().at(-1)?.id ?? 0;
  const requestsSince = (id: number) => api.engine.requestLog.recent().filter((r) => r.id > id);

  before(async () => {
    const model = process.env.BEDSIDE_TEST_GPT2_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_GPT2_MODEL (a generated GPT-2 GGUF)");
    gpt2 = model;
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    previousPath = settings().inspect<string>("model.path")?.globalValue;
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    // More than the model's 1,024: the engine keeps to the file's own context.
    await settings().update("engine.contextSize", 2048, global);
    await settings().update("literature.maxAnswerTokens", 120, global);
    await settings().update("chat.maxTokens", 24, global);
    await settings().update("chat.context", "note", global);
    await settings().update("model.path", gpt2, global);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await api.engine.ensureReady();
      if (info.path === gpt2) break;
      if (Date.now() > deadline) throw new Error(`the engine did not switch to ${gpt2}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    if (corpus) api?.literature.library.remove({ origin: corpus });
    for (const key of changed) await settings().update(key, undefined, global);
    await settings().update("model.path", previousPath, global);
  });

  it("loads as BioMedLM would: gpt2, 1,024 tokens, no fill-in-the-middle, no chat template", () => {
    const state = api.engine.state;
    assert.ok(state.kind === "ready" || state.kind === "busy", state.kind);
    assert.equal(state.info.architecture, "gpt2");
    assert.equal(state.info.contextSize, 1024);
    assert.equal(state.info.infillSupported, false);
    assert.equal(state.info.chatTemplate, undefined);
  });

  it("suggests from the text before the cursor only, though the note goes on after it", async () => {
    const cursor = NOTE.indexOf("Troponin");
    const editor = await openNote(NOTE.slice(0, cursor) + "He needs " + NOTE.slice(cursor), cursor + "He needs ".length);
    await until("any warm-up to finish", () => api.engine.requestLog.recent().every((r) => r.finishedAt !== undefined));
    const before = lastRequestId();
    await api.completions.provider.provideInlineCompletionItems(
      editor.document,
      editor.selection.active,
      { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
      new vscode.CancellationTokenSource().token,
    );
    const requests = requestsSince(before);
    assert.ok(requests.length > 0, "the model was asked");
    assert.deepEqual([...new Set(requests.map((r) => r.kind))], ["complete"], "a plain completion, never infill");
    assert.ok(
      requests.every((r) => r.finishedAt !== undefined && r.stopReason !== undefined),
      "each request finished",
    );
  });

  it("answers a literature question from the library, citing the sources it was given", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-gpt2-lit-"));
    corpus = path.join(dir, "chest-pain.jsonl");
    fs.writeFileSync(
      corpus,
      [
        {
          _id: "39100001",
          title: "High-sensitivity troponin to rule out myocardial infarction in acute chest pain",
          text: "Troponin testing at admission and after one hour ruled out myocardial infarction in most patients with acute chest pain.",
        },
        {
          _id: "39100002",
          title: "Aspirin in suspected acute coronary syndrome",
          text: "Early aspirin reduced mortality in patients with suspected acute coronary syndrome and chest pain.",
        },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n") + "\n",
    );
    await api.literature.importPaths([corpus]);
    const view = await api.literature.answers.ask("Does troponin testing rule out myocardial infarction in acute chest pain?");
    assert.equal(view.status, "done", view.message);
    assert.ok(view.sources.length > 0);
    assert.ok(view.answer && view.answer.sentences.length > 0, "the model wrote an answer");
    for (const n of view.answer.cited) assert.ok(n >= 1 && n <= view.sources.length, `citation [${n}] points at a retrieved source`);
  });

  it("ranks a differential for the note in the panel", async () => {
    await openNote(NOTE, NOTE.length);
    const finished = when<unknown>(
      "the differential to finish",
      (l) => api.differential.onDidFinish(l),
      () => true,
      180_000,
    );
    const rendered = when<RenderedReport>(
      "the panel to show diagnoses",
      (l) => api.differential.onDidRender(l),
      (r) => !r.running && r.diagnoses.length > 0,
      180_000,
    );
    rendered.catch(() => undefined);
    await vscode.commands.executeCommand("bedside.differentialDiagnosis");
    await finished;
    const result = api.differential.current;
    assert.ok(result && !result.cancelled && result.diagnoses.length > 0, "a ranked differential (undefined after an error: see the Bedside log)");
    const shown = await rendered;
    assert.equal(shown.diagnoses.length, result.diagnoses.length, "the panel shows each diagnosis");
  });

  it("chats through the few-shot User/Assistant transcript a base model gets", async () => {
    await openNote(NOTE, NOTE.length);
    await vscode.commands.executeCommand("bedside.chat.new");
    const before = lastRequestId();
    const outcome = await api.chat.session.send("Summarise the plan in one line.");
    assert.ok(outcome && !outcome.turn.error, outcome?.turn.error);
    assert.ok(outcome.result && outcome.result.generatedTokens > 0, "the model replied");
    // Opening the note warms the completion lane up (a one-token completion of its own); chat runs on the general lane.
    assert.deepEqual(
      requestsSince(before)
        .filter((r) => r.lane !== "completion")
        .map((r) => r.kind),
      ["complete"],
      "a completion of the transcript, not the engine's chat call",
    );
    assert.match(api.chat.session.state().modelLine, /User\/Assistant prompt/);
    assert.match(api.chat.session.state().modelLine, /1024 tokens/);
  });
});
