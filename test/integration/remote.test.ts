/**
 * Team servers in a real VS Code: with `bedside.engine.endpoint` pointing at llama.cpp's own llama-server,
 * at a vLLM-shaped server and at an Ollama-shaped server (test/engine/shapedServers.ts: each one's
 * documented API, generating with that llama-server), a differential, a literature answer, a chat reply and
 * a draft from the note each complete through the product's own commands. The model is the generated tiny GGUF (random weights:
 * this proves the plumbing, not the quality of the text).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { Engine } from "../../src/engine/engine";
import type { ServerKind } from "../../src/engine/remote/remoteEngine";
import { schemaErrors } from "../../src/ddx/schema";
import type { DraftResult } from "../../src/documents/draft";
import { skipBecause } from "../support/skip";
import { when } from "./until";
import { startLlamaServer, type LlamaServer } from "../engine/llamaServer";
import { startOllamaShapedServer, startVllmShapedServer, type ShapedServer } from "../engine/shapedServers";

const EXTENSION_ID = "bedside.bedside";

const NOTE = [
  "CHIEF COMPLAINT:",
  "Chest pain and shortness of breath.",
  "",
  "HPI:",
  "58-year-old man with two hours of crushing chest pain radiating to the left arm, sweating and nausea.",
  "",
  "PLAN:",
  "",
].join("\n");

/** Three abstracts in the corpus format the library imports (BEIR corpus.jsonl). */
const CORPUS = [
  {
    _id: "90000001",
    title: "Aspirin in acute myocardial infarction",
    text: "Aspirin given early in acute myocardial infarction reduced mortality at 35 days in a randomised trial of 17,187 patients with suspected infarction.",
  },
  {
    _id: "90000002",
    title: "Troponin for chest pain",
    text: "High-sensitivity troponin at presentation and at one hour ruled out myocardial infarction in most patients with chest pain in the emergency department.",
  },
  { _id: "90000003", title: "Ankle sprain rehabilitation", text: "Supervised exercise after an ankle sprain reduced recurrence compared with usual care." },
];

describe("Bedside against team servers (llama-server, vLLM, Ollama) in VS Code", function () {
  this.timeout(300_000);
  let api: BedsideApi;
  let llama: LlamaServer | undefined;
  const shaped: ShapedServer[] = [];
  const servers: { kind: ServerKind; url: string; model?: string }[] = [];
  let corpusFile = "";
  let noteDocument: vscode.TextDocument;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;

  before(async function () {
    this.timeout(180_000);
    const binary = process.env.BEDSIDE_LLAMA_SERVER;
    if (!binary || !fs.existsSync(binary)) {
      skipBecause(this, "llama-server is not built (the engine suite builds it; or run npx tsx test/support/llamaCppTools.ts)");
    }
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    // 2,048 tokens, more than the generated model's own 512: Ollama's prompt sizes are estimates that err
    // high (one token per byte at worst), and a differential's prompt does not fit 512 estimated tokens.
    llama = await startLlamaServer(model, ["-c", "2048"], 120_000, binary);
    const backend = { url: llama.url, contextSize: 2048 };
    const vllm = await startVllmShapedServer({ backend, model: "bedside/tiny" });
    const ollama = await startOllamaShapedServer({ models: [{ name: "bedside-tiny:latest", backend, architecture: "llama", trainContext: 2048 }] });
    shaped.push(vllm, ollama);
    servers.push(
      { kind: "llama-server", url: llama.url },
      { kind: "vllm", url: `${vllm.url}/v1`, model: "bedside/tiny" },
      { kind: "ollama", url: ollama.url, model: "bedside-tiny:latest" },
    );

    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("completion.enabled", false, global);
    await settings().update("chat.maxTokens", 24, global);
    await settings().update("chat.context", "note", global);
    await settings().update("literature.maxAnswerTokens", 48, global);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-remote-it-"));
    corpusFile = path.join(dir, "corpus.jsonl");
    fs.writeFileSync(corpusFile, CORPUS.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const imported = await api.literature.importPaths([corpusFile]);
    assert.deepEqual(imported.failed, []);
    noteDocument = await vscode.workspace.openTextDocument({ language: "note", content: NOTE });
    const editor = await vscode.window.showTextDocument(noteDocument, vscode.ViewColumn.One);
    editor.selection = new vscode.Selection(noteDocument.positionAt(NOTE.length), noteDocument.positionAt(NOTE.length));
  });

  after(async () => {
    if (corpusFile) api?.literature.library.remove({ origin: corpusFile });
    for (const key of ["engine.endpoint", "engine.remoteModel", "completion.enabled", "chat.maxTokens", "chat.context", "literature.maxAnswerTokens"])
      await settings().update(key, undefined, global);
    // Close the tab, not the panel object: its events must still fire for the suites after this one.
    api?.differential.close();
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    for (const s of shaped) await s.close();
    await llama?.stop();
  });

  /** Points bedside.engine.endpoint at a server and waits until the engine switch talks to it. */
  async function useServer(server: { kind: ServerKind; url: string; model?: string }): Promise<Engine> {
    await settings().update("engine.remoteModel", server.model, global);
    await settings().update("engine.endpoint", server.url, global);
    const base = server.url.replace(/\/v1$/, "");
    const deadline = Date.now() + 30_000;
    for (;;) {
      // The extension's own RemoteEngine class (its bundle, not this one's): known by what it has.
      const active = api.models.engineSwitch.active as Engine & { endpoint?: string; serverKind?: ServerKind };
      if (active.endpoint === base) {
        const info = await active.ensureReady();
        assert.equal(active.serverKind, server.kind);
        assert.equal(info.infillSupported, server.kind === "llama-server", "only llama-server fills in the middle");
        return active;
      }
      if (Date.now() > deadline) throw new Error(`the engine did not switch to ${server.url}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  for (const kind of ["llama-server", "vllm", "ollama"] as const) {
    it(`completes a differential, a literature answer, a chat reply and a draft from the note against ${kind}`, async () => {
      const server = servers.find((s) => s.kind === kind)!;
      const engine = await useServer(server);
      // Earlier steps open panels beside the note: show the note again in the first column for this server.
      const editor = await vscode.window.showTextDocument(noteDocument, vscode.ViewColumn.One);
      assert.equal(editor.document.getText(), NOTE, "the note is open and unchanged");

      const differential = await api.differential.run(editor.document);
      assert.ok(differential && !differential.cancelled, "the differential finished");
      assert.ok(differential.diagnoses.length > 0, "it ranks at least one diagnosis");
      for (const answer of differential.answers) assert.deepEqual(schemaErrors(answer.schema, answer.value), [], answer.step);

      const view = await api.literature.answers.ask("Does aspirin reduce mortality in acute myocardial infarction?");
      assert.equal(view.status, "done", view.message);
      assert.equal(view.sources[0]?.pmid, "90000001");
      assert.ok(view.answer && view.answer.sentences.some((s) => s.text.trim().length > 0), "the model wrote an answer");

      await vscode.commands.executeCommand("bedside.chat.new");
      const outcome = await api.chat.session.send("What should be done first?");
      assert.ok(outcome && !outcome.turn.error, outcome?.turn.error);
      assert.ok(outcome.turn.text.trim().length > 0 || (outcome.result?.generatedTokens ?? 0) > 0, "the model replied");
      // Draft from Note: every field of an after-visit summary filled under its JSON schema by the server.
      await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
      const drafted = when<DraftResult | undefined>(
        "the draft to finish",
        (l) => api.documents.panel.onDidFinish(l),
        () => true,
        180_000,
      );
      await vscode.commands.executeCommand("bedside.draftFromNote", editor.document.uri, "builtin:after-visit-summary");
      const draft = await drafted;
      assert.ok(draft && !draft.cancelled, "the draft finished");
      assert.deepEqual(
        draft.template.fields.map((f) => [f.name, draft.fields[f.name]?.state]),
        draft.template.fields.map((f) => [f.name, "done"]),
        `every field is written: ${JSON.stringify(
          Object.values(draft.fields)
            .filter((f) => f.state !== "done")
            .map((f) => [f.name, f.error]),
        )}`,
      );

      assert.ok(engine.state.kind === "ready" || engine.state.kind === "busy");
      if (kind !== "llama-server") {
        const shapedServer = shaped[kind === "vllm" ? 0 : 1]!;
        assert.ok(shapedServer.generationBodies.length >= 3, `${shapedServer.generationBodies.length} generations reached the ${kind}-shaped server`);
        assert.equal(shapedServer.promptsCut, 0, "no prompt was cut to fit");
      }
    });
  }
});
