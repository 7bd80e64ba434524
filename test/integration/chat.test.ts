/**
 * The chat in a real VS Code: a base model is prompted with a few-shot User/Assistant transcript and cut
 * at the next speaker, a model with a chat template goes through the engine's chat call, a long
 * conversation is fitted into a small context with the oldest turns dropped and shown, the automatic
 * chip is only ever the note in the editor, @library degrades without a library and cites one when
 * registered, copy, Insert into note (one undo step, marked as AI text), and new / rename / delete.
 * Models: a generated tiny model with a ChatML template (BEDSIDE_TEST_MODEL) and a generated base model
 * whose reply is known (test/e2e/chatScriptedModel.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import { EMPTY_LIBRARY_NOTICE } from "../../src/chat/literatureSource";
import { writeScriptedChatModel } from "../e2e/chatScriptedModel";

const EXTENSION_ID = "bedside.bedside";

describe("Bedside chat in VS Code", () => {
  let api: BedsideApi;
  let templated: string;
  let base: string;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;

  async function useModel(model: string, contextSize = 512): Promise<void> {
    await settings().update("engine.contextSize", contextSize, global);
    await settings().update("model.path", model, global);
    // The engine takes the new settings when VS Code reports the change; wait for that model.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const info = await api.engine.ensureReady();
      if (info.path === model && info.contextSize === contextSize) return;
      if (Date.now() > deadline) throw new Error(`the engine did not switch to ${model}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function openNote(content: string): Promise<vscode.TextEditor> {
    const document = await vscode.workspace.openTextDocument({ language: "note", content });
    const editor = await vscode.window.showTextDocument(document);
    const end = document.positionAt(content.length);
    editor.selection = new vscode.Selection(end, end);
    return editor;
  }

  before(async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    templated = model;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-chat-it-"));
    // A base model (no chat template) whose reply goes on past the answer into a made-up next turn.
    base = await writeScriptedChatModel(path.join(dir, "base.gguf"), {
      // Pieces no prompt ends with, so the reply starts at the first one whatever the prompt.
      script: ["Rest and", " fluids.", "\nUser: thanks"],
      chatTemplate: false,
      width: 64,
      layers: 2,
      contextLength: 1024,
    });
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("completion.enabled", false, global);
    await settings().update("chat.maxTokens", 48, global);
    await settings().update("chat.context", "note", global);
  });

  after(async () => {
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    for (const key of ["model.path", "engine.contextSize", "completion.enabled", "chat.maxTokens", "chat.context"]) await settings().update(key, undefined, global);
  });

  it("prompts a base model with a User/Assistant transcript and stops at the next speaker", async () => {
    await useModel(base, 1024);
    assert.equal(api.engine.state.kind === "ready" && api.engine.state.info.chatTemplate, undefined);
    await openNote("SUBJECTIVE:\nCough for a week.\n\nPLAN:\n");
    await vscode.commands.executeCommand("bedside.chat.new");
    const before = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    const outcome = await api.chat.session.send("What is the plan?");
    assert.ok(outcome);
    assert.equal(outcome.turn.text, "Rest and fluids.", "the reply ends before the model's made-up 'User:' turn");
    assert.equal(outcome.result?.stopReason, "stop");
    const requests = api.engine.requestLog.recent().filter((r) => r.id > before);
    assert.deepEqual(
      requests.map((r) => r.kind),
      ["complete"],
    );
    assert.match(api.chat.session.state().modelLine, /User\/Assistant prompt/);
  });

  it("uses the model's chat template through the engine when the GGUF has one", async () => {
    await useModel(templated);
    const before = api.engine.requestLog.recent().at(-1)?.id ?? 0;
    const outcome = await api.chat.session.send("Summarise the note in one line.");
    assert.ok(outcome && outcome.turn.text.length > 0 && !outcome.turn.error, outcome?.turn.error);
    const requests = api.engine.requestLog.recent().filter((r) => r.id > before);
    assert.deepEqual(
      requests.map((r) => r.kind),
      ["chat"],
    );
    assert.match(api.chat.session.state().modelLine, /chat template/);
  });

  it("drops the oldest turns to fit a small context, and says which", async () => {
    await settings().update("chat.maxTokens", 32, global);
    try {
      await vscode.commands.executeCommand("bedside.chat.new");
      const long = "The patient describes the cough again, in great detail, over many days. ";
      for (let i = 0; i < 5; i++) await api.chat.session.send(`${long} Question ${i}?`);
      const outcome = await api.chat.session.send("And now?");
      assert.ok(outcome && !outcome.turn.error, outcome?.turn.error);
      const dropped = outcome.turn.droppedTurnIds ?? [];
      const turns = api.chat.session.history.current().turns;
      console.log(
        `      ${dropped.length} of ${turns.length - 2} earlier turns left out of a ${api.engine.state.kind === "ready" ? api.engine.state.info.contextSize : "?"}-token context`,
      );
      assert.ok(dropped.length >= 2, `older turns were dropped (${dropped.length})`);
      assert.equal(dropped[0], turns[0]?.id, "the oldest first");
      assert.ok(dropped.length < turns.length - 2, "the newest earlier turns are kept");
      assert.deepEqual(api.chat.session.state().outOfContext, dropped, "the view is told which turns the model did not see");
      assert.ok(outcome.turn.notices?.some((n) => /left out to fit the model's context/.test(n)));
    } finally {
      await settings().update("chat.maxTokens", 48, global);
    }
  });

  it("sends only the note in the editor by itself, as a chip that can be removed, and what the clinician adds", async () => {
    await vscode.commands.executeCommand("bedside.chat.new");
    const first = await openNote("NOTE ONE\nPLAN:\nRest.\n");
    const second = await openNote("NOTE TWO\nPLAN:\nFluids.\n");
    let chips = api.chat.session.chips();
    assert.deepEqual(
      chips.map((c) => [c.kind, c.uri, !!c.auto]),
      [["note", second.document.uri.toString(), true]],
      "only the note in the editor",
    );
    assert.ok(!chips.some((c) => c.uri === first.document.uri.toString()), "never the other open note");
    await api.chat.session.removeChip(chips[0]!.id);
    assert.deepEqual(api.chat.session.chips(), [], "the automatic chip stays removed in this chat");
    second.selection = new vscode.Selection(1, 0, 2, 7);
    await vscode.commands.executeCommand("bedside.chat.addSelection");
    chips = api.chat.session.chips();
    assert.deepEqual(
      chips.map((c) => [c.kind, c.text]),
      [["selection", "PLAN:\nFluids."]],
    );
    await vscode.commands.executeCommand("bedside.chat.addNote");
    assert.deepEqual(
      api.chat.session
        .chips()
        .map((c) => c.kind)
        .sort(),
      ["note", "selection"],
    );
    const outcome = await api.chat.session.send("Rephrase for a patient.");
    const question = api.chat.session.history.current().turns.find((t) => t.role === "user");
    assert.ok(outcome && !outcome.turn.error);
    assert.equal(question?.context?.length, 2, "the question records what it was sent with");
  });

  it("says when @library finds nothing relevant, and cites the library's relevant source once it holds one", async () => {
    // The real library (the one Ask the Literature uses), its search watched, with words no other record holds.
    const library = api.literature.library;
    const search = library.search;
    const asked: string[] = [];
    library.search = (query, k, options) => {
      asked.push(query);
      return search.call(library, query, k, options);
    };
    const key = "pmid:12345678";
    try {
      const without = await api.chat.session.send("@library Is zorbaxin first-line for acute zorbitis?");
      assert.ok(without?.turn.notices?.includes(EMPTY_LIBRARY_NOTICE));
      assert.equal(without?.turn.sources, undefined);
      library.addRecords([
        {
          key,
          pmid: "12345678",
          title: "Zorbaxin for acute zorbitis",
          abstract: "Low-dose zorbaxin is first-line for acute zorbitis.",
          year: 2010,
          authors: [],
          publicationTypes: [],
        },
      ]);
      asked.length = 0;
      const withLibrary = await api.chat.session.send("@library Is zorbaxin first-line for acute zorbitis?");
      assert.deepEqual(asked, ["Is zorbaxin first-line for acute zorbitis?"], "the question goes to the library without the mention");
      assert.deepEqual(withLibrary?.turn.sources, [{ n: 1, id: "12345678", title: "Zorbaxin for acute zorbitis", year: 2010 }]);
    } finally {
      library.search = search;
      library.remove({ keys: [key] });
    }
  });

  it("copies a reply, and inserts it into the note at the cursor as one undo step marked as AI text", async () => {
    const content = "ASSESSMENT:\nViral bronchitis.\n\nPLAN:\n";
    const editor = await openNote(content);
    const outcome = await api.chat.session.send("Draft the plan.");
    assert.ok(outcome && outcome.turn.text.length > 0);
    await api.chat.view.copy(outcome.turn.id);
    assert.equal(await vscode.env.clipboard.readText(), outcome.turn.text);
    assert.ok(await api.chat.view.insert(outcome.turn.id));
    assert.equal(editor.document.getText(), content + outcome.turn.text);
    assert.deepEqual(
      api.completions.markers.spansOf(editor.document.uri).map((s) => s.text),
      [outcome.turn.text],
    );
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand("undo");
    assert.equal(editor.document.getText(), content, "one undo takes the whole reply out");
  });

  it("keeps chats: new, rename, delete", async () => {
    const history = api.chat.session.history;
    await vscode.commands.executeCommand("bedside.chat.new");
    const id = history.current().id;
    await api.chat.session.send("Discharge letter draft?");
    assert.equal(history.current().title, "Discharge letter draft?");
    assert.equal(await vscode.commands.executeCommand("bedside.chat.rename", id, "Letter for Mr B"), true);
    assert.equal(history.get(id)?.title, "Letter for Mr B");
    const count = history.list().length;
    assert.equal(await vscode.commands.executeCommand("bedside.chat.delete", id), true);
    assert.equal(history.list().length, count - 1);
    assert.equal(history.get(id), undefined);
    assert.notEqual(history.current().id, id);
  });
});
