/**
 * "Bedside: Draft from Note…" in a real VS Code. With the generated model (random weights: the words are
 * nonsense, the machinery is real) an after-visit summary of a sample note opens beside it with every field
 * filled under its JSON-schema grammar. With a scripted model whose every answer invents a dose (50 mg where
 * the note says 5 mg) the dose is flagged in the view, with the note's 5 mg as its near match. Insert at
 * Cursor asks first while the flag is unchecked, then writes one undo step marked as Bedside text; Save as
 * New File writes a marked file. A user template in .bedside/templates is offered; cancelling keeps what
 * was written.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { BedsideApi } from "../../src/extension";
import type { DraftRendered } from "../../src/documents/draftPanel";
import type { DraftResult } from "../../src/documents/draft";
import { schemaErrors } from "../../src/ddx/schema";
import { writeScriptedChatModel } from "../e2e/chatScriptedModel";
import { DRAFT_SAMPLE_NOTE, writeInventedDoseModel } from "../support/draftSample";
import { until, when as whenEvent } from "./until";

const EXTENSION_ID = "bedside.bedside";
const AVS = "builtin:after-visit-summary";

/** The draft runs longer than the differential: 90 s to wait for an event. */
const when = <T>(what: string, subscribe: (listener: (value: T) => void) => vscode.Disposable, accept: (value: T) => boolean, timeoutMs = 90_000): Promise<T> =>
  whenEvent(what, subscribe, accept, timeoutMs);

describe("Bedside Draft from Note in VS Code", () => {
  let api: BedsideApi;
  let editor: vscode.TextEditor;
  let dir: string;
  const settings = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration("bedside");
  const global = vscode.ConfigurationTarget.Global;
  const finished = (): Promise<DraftResult | undefined> =>
    when(
      "the draft to finish",
      (l) => api.documents.panel.onDidFinish(l),
      () => true,
    );
  const renderedDone = (accept: (r: DraftRendered) => boolean = () => true): Promise<DraftRendered> =>
    when(
      "the draft view to render",
      (l) => api.documents.panel.onDidRender(l),
      (r) => !r.running && accept(r),
    );

  before(async () => {
    const model = process.env.BEDSIDE_TEST_MODEL;
    assert.ok(model, "the runner passes BEDSIDE_TEST_MODEL (a generated GGUF)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "bedside-documents-"));
    api = await vscode.extensions.getExtension<BedsideApi>(EXTENSION_ID)!.activate();
    await settings().update("engine.gpu", "cpu", global);
    await settings().update("engine.threads", 1, global);
    await settings().update("engine.contextSize", 512, global);
    await settings().update("model.path", model, global);
    await api.engine.ensureReady();
    const document = await vscode.workspace.openTextDocument({ language: "note", content: DRAFT_SAMPLE_NOTE });
    editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  });

  after(async () => {
    // Close the tab, not the panel object: its events must still fire for the team-server suite after this one.
    api?.documents.panel.close();
    for (let i = 0; i < 20 && vscode.window.activeTextEditor; i++) await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
    await settings().update("model.path", undefined, global);
    await settings().update("engine.contextSize", undefined, global);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("drafts an after-visit summary beside the note, every field filled under its grammar", async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes("bedside.draftFromNote"));
    const done = finished();
    const shown = renderedDone((r) => r.text.includes("After-Visit Summary"));
    await vscode.commands.executeCommand("bedside.draftFromNote", undefined, AVS);
    const result = await done;
    const view = await shown;
    assert.ok(result && !result.cancelled, "the draft finished");
    assert.deepEqual(
      Object.values(result.fields).map((f) => [f.name, f.state]),
      result.template.fields.map((f) => [f.name, "done"]),
    );
    const fieldAnswers = result.answers.filter((a) => !a.field.startsWith("keyFacts:"));
    assert.deepEqual(
      fieldAnswers.map((a) => a.field),
      result.template.fields.map((f) => f.name),
      "one answer per field, in order",
    );
    for (const answer of result.answers) assert.deepEqual(schemaErrors(answer.schema, answer.value), [], answer.field);
    // The view shows the template's headings and every field's text as the model wrote it.
    for (const heading of ["## Why you came in", "## What we found", "## Your medicines", "## What to do next", "## When to get help"])
      assert.ok(view.text.includes(heading), heading);
    for (const field of Object.values(result.fields)) {
      const values = Array.isArray(field.value) ? field.value : [field.value as string];
      for (const v of values) assert.ok(view.text.includes(v), `the view shows ${field.name}: ${v}`);
    }
    assert.equal(view.text, api.documents.panel.review?.text, "the view shows the draft's text exactly");
    assert.match(view.grade ?? "", /^Reading grade/, "a patient document shows its reading grade");
    console.log(`      ${result.mode}: ${result.answers.length} answers, ${api.documents.panel.review?.flags.length ?? 0} flags, ${view.grade}`);
  });

  it("flags a dose a scripted model invents, with the note's dose as its near match, and inserts only after asking", async () => {
    const scripted = await writeInventedDoseModel(path.join(dir, "invents-a-dose.gguf"));
    await settings().update("engine.contextSize", 2048, global);
    await settings().update("model.path", scripted, global);
    await until("the scripted model to load", async () => (await api.engine.ensureReady()).path === scripted);
    await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
    const done = finished();
    const shown = renderedDone((r) => r.marked.length > 0);
    await vscode.commands.executeCommand("bedside.draftFromNote", editor.document.uri, AVS);
    const result = await done;
    assert.ok(result && !result.cancelled);
    assert.equal(result.mode, "whole", "the note fits a 2,048-token context whole");
    assert.deepEqual(result.fields.reason?.value, "Keep taking lisinopril 50 mg daily.", "the scripted answer, under the grammar");
    const view = await shown;
    const review = api.documents.panel.review!;
    const dose = review.flags.find((f) => f.kind === "dose" && f.text === "50 mg");
    assert.ok(dose, `50 mg is flagged (${review.flags.map((f) => f.message).join("; ")})`);
    assert.ok(
      view.flags.some((f) => f.message === "50 mg is not in the note"),
      "listed at the foot of the view",
    );
    assert.ok(view.marked.includes("50 mg"), "highlighted in the draft");
    // "Show in note" selects the note's 5 mg.
    const index = review.flags.indexOf(dose);
    assert.ok(await api.documents.panel.clickInPanel(`near-${index}`));
    const selected = await until("the near match to be selected", () => {
      const active = vscode.window.activeTextEditor;
      return active && active.document === editor.document && !active.selection.isEmpty && active.selection;
    });
    assert.equal(editor.document.getText(selected), "5 mg");

    // Insert asks first while flags are unchecked; declining leaves the note as it was.
    const asked: string[] = [];
    const before = editor.document.getText();
    api.documents.panel.confirmUnchecked = async (message) => {
      asked.push(message);
      return false;
    };
    assert.equal(await api.documents.panel.insert(), false);
    assert.equal(asked.length, 1);
    assert.match(asked[0]!, /facts? that (is|are) not in the note/);
    assert.equal(editor.document.getText(), before, "declined: the note is unchanged");

    // Accepted: one edit at the cursor, marked, and one undo takes it all back.
    api.documents.panel.confirmUnchecked = async (message) => {
      asked.push(message);
      return true;
    };
    await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
    const end = editor.document.positionAt(before.length);
    editor.selection = new vscode.Selection(end, end);
    assert.ok(await api.documents.panel.clickInPanel("insert"));
    await until("the draft to be inserted", () => editor.document.getText() !== before);
    const inserted = editor.document.getText().slice(before.length);
    assert.ok(editor.document.getText().startsWith(before));
    assert.equal(inserted, review.text.endsWith("\n") ? review.text : `${review.text}\n`);
    assert.equal(asked.length, 2, "asked again before inserting");
    const spans = await until("the inserted text to be marked", () => {
      const s = api.completions.markers.spansOf(editor.document.uri);
      return s.length > 0 && s;
    });
    assert.deepEqual(
      spans.map((s) => s.text),
      [inserted],
    );
    await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
    await vscode.commands.executeCommand("undo");
    assert.equal(editor.document.getText(), before, "one undo restores the note exactly");
  });

  it("does not ask once every flag is marked checked, and saves the draft as a new file marked as Bedside text", async () => {
    const review = api.documents.panel.review!;
    const asked: string[] = [];
    api.documents.panel.confirmUnchecked = async (message) => {
      asked.push(message);
      return false;
    };
    for (let i = 0; i < review.flags.length; i++) {
      const toggled = when(
        "the view to show the flag checked",
        (l) => api.documents.panel.onDidRender(l),
        () => api.documents.panel.uncheckedFlags() === review.flags.length - i - 1,
      );
      assert.ok(await api.documents.panel.clickInPanel(`check-${i}`));
      await toggled;
    }
    const target = vscode.Uri.file(path.join(dir, "cough-after-visit-summary.md"));
    const saved = await api.documents.panel.saveAsFile(target);
    assert.equal(saved?.toString(), target.toString());
    assert.deepEqual(asked, [], "nothing unchecked: no question");
    const text = fs.readFileSync(target.fsPath, "utf8");
    assert.ok(text.startsWith("# After-Visit Summary"));
    assert.ok(text.includes("lisinopril 50 mg"));
    assert.deepEqual(
      api.completions.markers.spansOf(target).map((s) => s.text),
      [text],
      "the new file is marked as Bedside text",
    );
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("offers the workspace's own templates, and drafts from one", async function () {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!folder) return this.skip(); // the runners open a workspace folder; without one there is nothing to check
    const templates = vscode.Uri.joinPath(folder, ".bedside", "templates");
    await vscode.workspace.fs.createDirectory(templates);
    const file = vscode.Uri.joinPath(templates, "medicine-card.md");
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode("---\ntitle: Medicine Card\n---\n# Medicine card\n{{dose: The medicine and its dose.}}\n"));
    try {
      const choice = await api.documents.templates();
      const card = choice.templates.find((t) => t.title === "Medicine Card");
      assert.ok(card, "the workspace template is offered");
      assert.equal(card.source, "workspace");
      const done = finished();
      await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
      await vscode.commands.executeCommand("bedside.draftFromNote", undefined, card.id);
      const result = await done;
      assert.equal(result?.fields.dose?.state, "done");
      assert.ok(api.documents.panel.review?.text.startsWith("# Medicine card\nKeep taking lisinopril 50 mg daily."));
    } finally {
      await vscode.workspace.fs.delete(vscode.Uri.joinPath(folder, ".bedside"), { recursive: true });
    }
  });

  it("word-wraps .note files by default (a language default from the package)", () => {
    assert.equal(vscode.workspace.getConfiguration("editor", { languageId: "note" }).get("wordWrap"), "on");
    assert.equal(vscode.workspace.getConfiguration("editor").get("wordWrap"), "off", "only notes: the editor's own default stays");
  });

  it("cancels a draft and keeps the fields already written", async function () {
    this.timeout(240_000);
    // The scripted model writes "More words again " over and over inside the string (its loop goes back to
    // "More ", not to the opening brace), so each field runs to its schema's maxLength: about 70 tokens of a
    // 12-layer model, a second or more a field. (Looping back to '{"' closed every string after 18
    // characters, and a 40-field run could finish before the first render reached the test.)
    const looping = await writeScriptedChatModel(path.join(dir, "loops.gguf"), {
      script: ['{"', "text", '":"', "More ", "words ", "again "],
      loop: true,
      loopTo: 3,
      width: 256,
      layers: 12,
      ffn: 1024,
      contextLength: 2048,
      chatTemplate: false,
      name: "bedside-scripted-loop",
    });
    await settings().update("engine.contextSize", 2048, global);
    await settings().update("model.path", looping, global);
    await until("the looping model to load", async () => (await api.engine.ensureReady()).path === looping);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    assert.ok(folder, "the runners open a workspace folder");
    const templates = vscode.Uri.joinPath(folder, ".bedside", "templates");
    await vscode.workspace.fs.createDirectory(templates);
    const fieldLines = Array.from({ length: 12 }, (_, i) => `{{part${i + 1}: Part ${i + 1} of the letter, from the note.}}`).join("\n");
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(templates, "long-letter.md"), new TextEncoder().encode(`---\ntitle: Long Letter\n---\n# Long letter\n${fieldLines}\n`));
    let result: Awaited<ReturnType<typeof finished>>;
    try {
      const long = (await api.documents.templates()).templates.find((t) => t.title === "Long Letter");
      assert.ok(long, "the 12-field template is offered");
      await vscode.window.showTextDocument(editor.document, vscode.ViewColumn.One);
      const done = finished();
      // The view has drawn (so it can take the click) and the run is at its second field or later, with
      // fields still to write: read the panel's own state, not only the (throttled) renders.
      const firstRender = when(
        "the draft view to render",
        (l) => api.documents.panel.onDidRender(l),
        () => true,
      );
      void vscode.commands.executeCommand("bedside.draftFromNote", editor.document.uri, long.id);
      await firstRender;
      const states = await until(
        "the first field written and later ones still to come",
        () => {
          const runs = api.documents.panel.view().runs.filter((r) => r.field);
          const byField = new Map(runs.map((r) => [r.field, r.state] as const));
          return byField.get("part1") === "done" && byField.get("part12") === "pending" && [...byField.values()].join(",");
        },
        120_000,
        10,
      );
      console.log(`      cancelled at: ${states}`);
      assert.ok(await api.documents.panel.clickInPanel("cancel"));
      result = await done;
    } finally {
      await vscode.workspace.fs.delete(vscode.Uri.joinPath(folder, ".bedside"), { recursive: true });
    }
    assert.ok(result, "the run ended with what it had");
    assert.equal(result.cancelled, true);
    const states = result.template.fields.map((f) => result.fields[f.name]!.state);
    assert.equal(states[0], "done", "the first field is kept");
    const firstCancelled = states.indexOf("cancelled");
    assert.ok(firstCancelled > 0, `a later field was cancelled (${states.join(", ")})`);
    assert.ok(
      states.slice(firstCancelled).every((s) => s === "cancelled"),
      "every field after it too",
    );
    for (const f of Object.values(result.fields)) {
      if (f.state === "done") assert.ok(typeof f.value === "string" ? f.value.length > 0 : Array.isArray(f.value), `${f.name} keeps its text`);
      else assert.equal(f.value, undefined, `${f.name}, cut off, is not kept`);
    }
    // What was written stays in the view (a render of this run, once it stopped).
    await until("the view to show the kept field after the cancel", () => {
      const r = api.documents.panel.lastRendered;
      return r && !r.running && r.text.includes("More words again") && r;
    });
  });
});
