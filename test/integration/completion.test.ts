/**
 * Inline completions in a real VS Code: ghost text comes from the worker, accepting it is one undo step
 * and is remembered as Bedside text, typing on aborts the request in flight (seen in the engine's request
 * log), and no suggestion holds a digit. The runner passes a generated model in BEDSIDE_TEST_MODEL.
 */
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { ProvidedSuggestion } from "../../src/completion/noteCompletionProvider";
import { until } from "./until";

const EXTENSION_ID = "bedside.bedside";

describe("Bedside inline completions in VS Code", () => {
  let api: BedsideApi;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;

  async function openNote(content: string): Promise<vscode.TextEditor> {
    const document = await vscode.workspace.openTextDocument({ language: "note", content });
    const editor = await vscode.window.showTextDocument(document);
    const end = document.positionAt(content.length);
    editor.selection = new vscode.Selection(end, end);
    return editor;
  }

  /** Triggers the inline suggestion at the cursor and waits for what the provider returned there. */
  async function triggerAndWait(editor: vscode.TextEditor): Promise<ProvidedSuggestion> {
    const offset = editor.document.offsetAt(editor.selection.active);
    const uri = editor.document.uri.toString();
    const provided = new Promise<ProvidedSuggestion>((resolve) => {
      const sub = api.completions.provider.onDidProvide((p) => {
        if (p.uri === uri && p.offset === offset) {
          sub.dispose();
          resolve(p);
        }
      });
    });
    await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    return Promise.race([provided, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no suggestion within 30 s")), 30_000))]);
  }

  before(async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("engine.contextSize", 512, global);
    await settings().update("model.path", model, global);
    await api.engine.ensureReady();
  });

  after(async () => {
    // Revert rather than close: closing a changed untitled note would ask to save it.
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    for (const key of ["model.path", "completion.maxTokens", "completion.timeoutMs"]) await settings().update(key, undefined, global);
  });

  it("registers the note language's commands, outline and completion status", async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ["bedside.toggleCompletions", "bedside.snoozeCompletions", "bedside.markAiTextReviewed"]) assert.ok(commands.includes(id), id);
    const editor = await openNote("SUBJECTIVE:\nCough.\n\nASSESSMENT:\nBronchitis.\n\nPLAN:\n- Rest\n");
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>("vscode.executeDocumentSymbolProvider", editor.document.uri);
    assert.deepEqual(
      symbols.map((s) => s.name),
      ["SUBJECTIVE", "ASSESSMENT", "PLAN"],
    );
    assert.match(api.completions.status.text, /Completions/);
  });

  it("shows ghost text from the worker while typing a note, and no digit in it", async () => {
    const editor = await openNote("HISTORY OF PRESENT ILLNESS:\nThe patient is a woman who presents with ");
    await until("the warm-up to finish", () => api.engine.requestLog.recent().every((r) => r.finishedAt !== undefined));
    const warmUp = api.engine.requestLog.recent().at(-1);
    const before = warmUp?.id ?? 0;
    const suggestion = await triggerAndWait(editor);
    assert.ok(suggestion.text.trim().length > 0, "a suggestion");
    assert.ok(!suggestion.fromCache);
    assert.doesNotMatch(suggestion.text, /[0-9]/);
    const requests = api.engine.requestLog.recent().filter((r) => r.id > before);
    const answered = requests.find((r) => r.lane === "completion" && r.stopReason !== "aborted" && r.stopReason !== "error");
    assert.ok(answered, "the worker answered on the completion lane");
    console.log(`      warm-up on open evaluated ${warmUp?.promptTokensEvaluated} prompt tokens; the suggestion ${answered.promptTokensEvaluated}`);
    console.log(`      ghost text: ${JSON.stringify(suggestion.text)}`);
  });

  it("never suggests a digit by default, even where a number belongs", async function () {
    // Up to 30 s per prompt when none comes: long enough to reach the count below instead of a timeout.
    this.timeout(6 * 30_000);
    const prompts = ["VITAL SIGNS:\nBlood pressure ", "MEDICATIONS:\n- Metoprolol ", "LABS:\nHemoglobin ", "The patient is a ", "PLAN:\nFollow up in "];
    const shown: string[] = [];
    for (const prompt of prompts) {
      const editor = await openNote(prompt);
      // A prompt may give no suggestion at all (nothing left once digits are kept out): that is allowed,
      // a suggestion with a digit is not.
      const suggestion = await triggerAndWait(editor).catch(() => undefined);
      if (suggestion) {
        shown.push(suggestion.text);
        assert.doesNotMatch(suggestion.text, /[0-9]/, `after ${JSON.stringify(prompt)}`);
      }
      await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    }
    // Not vacuous: most of these prompts must have shown a suggestion that was checked.
    assert.ok(shown.length >= 3, `${shown.length} of ${prompts.length} prompts gave a suggestion to check: ${JSON.stringify(shown)}`);
  });

  it("inserts an accepted suggestion as one undo step and remembers it as Bedside text", async () => {
    const content = "ASSESSMENT:\nThe patient has ";
    const editor = await openNote(content);
    const suggestion = await triggerAndWait(editor);
    await until("the ghost text to be shown", () => true, 200);
    await vscode.commands.executeCommand("editor.action.inlineSuggest.commit");
    await until("the suggestion to be inserted", () => editor.document.getText() !== content);
    assert.equal(editor.document.getText(), content + suggestion.text);
    const spans = await until("the accepted text to be remembered", () => {
      const s = api.completions.markers.spansOf(editor.document.uri);
      return s.length > 0 && s;
    });
    assert.deepEqual(
      spans.map((s) => s.text),
      [suggestion.text],
    );
    await vscode.commands.executeCommand("undo");
    assert.equal(editor.document.getText(), content, "one undo restores the exact text");
    await vscode.commands.executeCommand("redo");
    await vscode.commands.executeCommand("bedside.markAiTextReviewed");
    assert.equal(api.completions.markers.spansOf(editor.document.uri).length, 0);
    assert.equal(editor.document.getText(), content + suggestion.text, "marking reviewed never changes the note");
  });

  it("aborts the request in flight when the clinician types on", async () => {
    // Long suggestions, so that a request is still generating when the next keystroke comes.
    await settings().update("completion.maxTokens", 400, global);
    await settings().update("completion.timeoutMs", 30_000, global);
    await settings().update("completion.allowNumbers", false, global);
    const editor = await openNote("PLAN:\nContinue ");
    // Opening the note warms the cache, and so does the cursor coming to rest (300 ms after a command moved
    // it): let both start and finish, so that the request watched below is the suggestion.
    await new Promise((r) => setTimeout(r, 500));
    await until("the warm-up to finish", () => api.engine.requestLog.recent().every((r) => r.finishedAt !== undefined));
    const logged = api.engine.requestLog.recent();
    const lastId = logged[logged.length - 1]?.id ?? 0;
    void vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
    const inFlight = await until("a completion request in flight", () => api.engine.requestLog.recent().find((r) => r.id > lastId && r.finishedAt === undefined), 30_000, 2);
    await vscode.commands.executeCommand("type", { text: "t" });
    const finished = await until("the request to finish", () => {
      const entry = api.engine.requestLog.recent().find((r) => r.id === inFlight.id);
      return entry?.finishedAt !== undefined && entry;
    });
    assert.equal(finished.stopReason, "aborted", "typing on aborted the request in flight");
    assert.equal(editor.document.getText(), "PLAN:\nContinue t");
    console.log(`      request ${finished.id} aborted ${finished.finishedAt! - finished.startedAt} ms after it started`);
  });

  it("keeps the prompt within a small model context, so the note's start is not cut on every request", async () => {
    // bedside.engine.contextSize 256 and a prompt window raised to 2,048 tokens: the window is capped to what
    // the context holds with the reply (maxTokens 24) and node-llama-cpp's context-shift reserve (26), else
    // every request's prompt would be cut at a moving start and fill the context.
    await settings().update("completion.maxTokens", undefined, global);
    await settings().update("completion.contextTokens", 2048, global);
    await settings().update("engine.contextSize", 256, global);
    try {
      await until("the model to reload with a 256-token context", () => api.engine.state.kind === "ready" && api.engine.state.info.contextSize === 256, 120_000);
      const sentence = "The patient reports intermittent chest pressure on exertion, relieved by rest, without syncope.\n";
      const editor = await openNote(`HISTORY OF PRESENT ILLNESS:\n${sentence.repeat(100)}She also describes `);
      await until("the warm-up to finish", () => api.engine.requestLog.recent().every((r) => r.finishedAt !== undefined));
      const before = api.engine.requestLog.recent().at(-1)?.id ?? 0;
      await triggerAndWait(editor);
      const answered = api.engine.requestLog.recent().find((r) => r.id > before && r.lane === "completion" && r.stopReason !== "aborted" && r.stopReason !== "error");
      assert.ok(answered?.promptTokens !== undefined, "the worker answered on the completion lane");
      const room = 256 - Math.ceil(256 / 10) - 24;
      console.log(`      the suggestion's prompt: ${answered.promptTokens} tokens (room ${room}), ${answered.promptTokensEvaluated} evaluated`);
      assert.ok(answered.promptTokens > 60, "the prompt holds the note before the cursor");
      assert.ok(answered.promptTokens <= room, `a prompt of ${answered.promptTokens} tokens; the context holds ${room} with the reply`);
    } finally {
      await settings().update("completion.contextTokens", undefined, global);
      await settings().update("engine.contextSize", 512, global);
      await until("the model to reload with a 512-token context", () => api.engine.state.kind === "ready" && api.engine.state.info.contextSize === 512, 120_000);
    }
  });

  it("fills in the middle inside a long line of a written note when bedside.completion.fillInTheMiddle is on", async () => {
    // A paragraph written as one line (as MTSamples notes are), the cursor in its middle: with the setting on
    // the request is a fill-in-the-middle one with the rest of the line as its suffix; off (the default), a
    // plain continuation.
    assert.ok(api.engine.state.kind === "ready" && api.engine.state.info.infillSupported, "the test model has FIM tokens");
    assert.deepEqual(await requestKindsInsideALongLine("The patient"), ["complete"], "off by default");
    await settings().update("completion.fillInTheMiddle", true, global);
    try {
      const kinds = await requestKindsInsideALongLine("Mr. Doe");
      assert.ok(kinds.length > 0);
      assert.deepEqual(
        kinds,
        kinds.map(() => "infill"),
      );
    } finally {
      await settings().update("completion.fillInTheMiddle", undefined, global);
    }
  });

  /** The kinds of the completion-lane requests a suggestion inside a long line of a new note made. */
  async function requestKindsInsideALongLine(patient: string): Promise<string[]> {
    // A new text each time: an untitled note can get the closed one's name, and with it its typed-ahead cache.
    const before = `HISTORY OF PRESENT ILLNESS: ${patient} reports chest pressure on exertion, relieved by rest, and `;
    const after = " which began three weeks ago and has become more frequent. ".repeat(30);
    // Opened with the cursor already there: no suggestion is ever asked for at the note's end. Opening it
    // warms it up (a plain one-token read of the text before the cursor); wait for that first.
    const beforeOpen = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    const document = await vscode.workspace.openTextDocument({ language: "note", content: before + after });
    const cursor = document.positionAt(before.length);
    const editor = await vscode.window.showTextDocument(document, { selection: new vscode.Range(cursor, cursor) });
    await until("the warm-up on open", () => api.engine.requestLog.recent().some((r) => r.id > beforeOpen && r.finishedAt !== undefined));
    await until("the warm-up to finish", () => api.engine.requestLog.recent().every((r) => r.finishedAt !== undefined));
    const last = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    await triggerAndWait(editor);
    const kinds = api.engine.requestLog
      .recent()
      .filter((r) => r.id > last && r.lane === "completion")
      .map((r) => r.kind);
    await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    return kinds;
  }

  it("turns off, snoozes, and comes back", async () => {
    await settings().update("completion.maxTokens", undefined, global);
    const editor = await openNote("HPI:\nShe describes ");
    const provide = (): Promise<vscode.InlineCompletionItem[] | undefined> =>
      Promise.resolve(
        api.completions.provider.provideInlineCompletionItems(
          editor.document,
          editor.selection.active,
          { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
          new vscode.CancellationTokenSource().token,
        ),
      );
    await vscode.commands.executeCommand("bedside.toggleCompletions");
    await until("the setting to turn off", () => settings().get("completion.enabled") === false);
    assert.equal(await provide(), undefined);
    assert.match(api.completions.status.text, /circle-slash/);
    await vscode.commands.executeCommand("bedside.toggleCompletions");
    await until("the setting to turn on", () => settings().get("completion.enabled") === true);
    await vscode.commands.executeCommand("bedside.snoozeCompletions", 5);
    assert.equal(await provide(), undefined);
    assert.match(api.completions.status.text, /5 min/);
    api.completions.completionSwitch.resume();
    const items = await provide();
    assert.ok(items && items.length === 1, "a suggestion again");
    await settings().update("completion.enabled", undefined, global);
  });
});
