/**
 * The vscode side of "Draft from Note…": a webview beside the note that shows the draft as its fields are
 * written (cancellable; cancelling keeps what is written), every fact the note does not hold highlighted and
 * listed at the foot (a click goes to it; "Show in note" selects the note's near match), the reading grade of
 * patient documents, and Insert at Cursor / Save as New File: one undo step, marked as Bedside text until
 * reviewed. A draft with unchecked flags asks first. The logic lives in the pure modules next to this one.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { Engine } from "../engine/engine";
import { insertAiText, type AiTextMarkers } from "../provenance/aiTextMarkers";
import { showWebviewPage, webviewOptions } from "../webview/webviewPanel";
import { draftDocument, fieldValues, type DraftResult, type FieldState } from "./draft";
import { draftFlags, draftRuns, flagKey, type DraftHostMessage, type DraftPanelMessage, type DraftView } from "./draftMessages";
import { NoteFacts } from "./newFacts";
import { reviewDraft, type DraftReview } from "./review";
import { slug, type DocumentTemplate } from "./templates";

export interface DraftRendered {
  text: string;
  flags: Array<{ id: string; message: string }>;
  marked: string[];
  running: boolean;
  grade?: string;
}

const RENDER_EVERY_MS = 120;

export class DraftPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.TextDocument | undefined;
  private template: DocumentTemplate | undefined;
  private noteFacts: NoteFacts | undefined;
  private result: DraftResult | undefined;
  private reviewed: DraftReview | undefined;
  private states: Record<string, FieldState> = {};
  private running: AbortController | undefined;
  private error: string | undefined;
  private step: DraftView["step"];
  private readonly checked = new Set<string>();
  /** Field values streamed since the draft was last checked. */
  private pendingValues: Record<string, string | readonly string[] | undefined> | undefined;
  private lastPostAt = 0;
  private postTimer: NodeJS.Timeout | undefined;
  private readonly renderedEmitter = new vscode.EventEmitter<DraftRendered>();
  private readonly finishedEmitter = new vscode.EventEmitter<DraftResult | undefined>();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** What the webview last reported on screen (tests read it). */
  lastRendered: DraftRendered | undefined;
  readonly onDidRender = this.renderedEmitter.event;
  readonly onDidFinish = this.finishedEmitter.event;
  /** Asks before unchecked facts go into the record; true to go on. */
  confirmUnchecked: (message: string) => Thenable<boolean> = async (message) =>
    (await vscode.window.showWarningMessage(message, { modal: true }, "Insert Anyway")) === "Insert Anyway";

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: Engine,
    private readonly markers: AiTextMarkers,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document && this.result && e.contentChanges.length > 0) this.postView(true);
      }),
    );
  }

  get current(): DraftResult | undefined {
    return this.result;
  }

  get review(): DraftReview | undefined {
    return this.reviewed;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Drafts `template` from the document, shown beside it. Resolves when the draft is done or cancelled. */
  async run(document: vscode.TextDocument, template: DocumentTemplate, besideColumn?: vscode.ViewColumn): Promise<DraftResult | undefined> {
    this.cancel();
    const controller = new AbortController();
    this.running = controller;
    this.document = document;
    this.template = template;
    this.result = undefined;
    this.error = undefined;
    this.step = { message: "Starting the model", step: 0, steps: 1 };
    this.checked.clear();
    const noteText = document.getText();
    this.noteFacts = new NoteFacts(noteText);
    this.states = Object.fromEntries(template.fields.map((f) => [f.name, "pending" as FieldState]));
    this.reviewed = reviewDraft(this.noteFacts, template, {});
    this.show(besideColumn, template.title);
    this.postView(true);
    let result: DraftResult | undefined;
    const values: Record<string, string | readonly string[] | undefined> = {};
    try {
      const info = await this.engine.ensureReady({ signal: controller.signal });
      result = await draftDocument(this.engine, noteText, template, {
        contextSize: info.contextSize,
        signal: controller.signal,
        onProgress: (p) => {
          if (this.running !== controller) return;
          if (p.kind === "step") this.step = { message: p.message, step: p.step, steps: p.steps };
          else {
            this.states[p.field.name] = p.field.state;
            values[p.field.name] = p.field.value;
            // Checked when the view is next drawn, not at every streamed token.
            this.pendingValues = values;
          }
          this.postView(p.kind === "step" || p.field.state !== "writing");
        },
      });
    } catch (error) {
      if (!controller.signal.aborted) this.error = (error as Error).message;
    }
    if (this.running === controller) {
      this.running = undefined;
      this.step = undefined;
      this.pendingValues = undefined;
      if (result) {
        this.result = result;
        for (const f of Object.values(result.fields)) this.states[f.name] = f.state;
        this.reviewed = reviewDraft(this.noteFacts, template, fieldValues(result));
      } else {
        for (const [name, state] of Object.entries(this.states))
          if (state === "pending" || state === "writing") this.states[name] = controller.signal.aborted ? "cancelled" : "failed";
        // Fields finished before a cancel are kept; one cut off mid-way is not (its text is unfinished).
        for (const [name, state] of Object.entries(this.states)) if (state !== "done") delete values[name];
        this.reviewed = reviewDraft(this.noteFacts, template, values);
      }
      this.postView(true);
    }
    this.finishedEmitter.fire(result);
    return result;
  }

  cancel(): void {
    this.running?.abort();
  }

  /** Flags not marked as checked. */
  uncheckedFlags(): number {
    return (this.reviewed?.flags ?? []).filter((f) => !this.checked.has(flagKey(f))).length;
  }

  private async confirmed(action: string): Promise<boolean> {
    const unchecked = this.uncheckedFlags();
    if (unchecked === 0) return true;
    const facts = unchecked === 1 ? "1 fact that is not in the note" : `${unchecked} facts that are not in the note`;
    return this.confirmUnchecked(`The draft has ${facts} and not checked yet. ${action} anyway?`);
  }

  private draftText(): string | undefined {
    if (this.running) {
      void vscode.window.showInformationMessage("Bedside: the draft is still being written. Wait for it, or cancel it first.");
      return undefined;
    }
    const text = this.reviewed?.text;
    if (!text || !this.reviewed?.fields.some((f) => f.end > f.start)) {
      void vscode.window.showInformationMessage("Bedside: draft a document from a note first.");
      return undefined;
    }
    return text.endsWith("\n") ? text : `${text}\n`;
  }

  /** Writes the draft into the note at its cursor: one undo step, marked as Bedside text. */
  async insert(): Promise<boolean> {
    const document = this.document;
    const text = this.draftText();
    if (!document || text === undefined) return false;
    if (!(await this.confirmed("Insert it"))) return false;
    const editor = this.noteEditor() ?? (await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false }));
    return insertAiText(editor, this.markers, text);
  }

  /** Saves the draft as a new file (beside the note by default), opened and marked as Bedside text. */
  async saveAsFile(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const document = this.document;
    const text = this.draftText();
    if (!document || !this.template || text === undefined) return undefined;
    if (!(await this.confirmed("Save it"))) return undefined;
    let uri = target;
    if (!uri) {
      const base = document.isUntitled ? "note" : path.basename(document.uri.path).replace(/\.[^.]+$/, "");
      const folder = document.isUntitled ? vscode.workspace.workspaceFolders?.[0]?.uri : vscode.Uri.joinPath(document.uri, "..");
      const name = `${base}-${slug(this.template.title)}.md`;
      uri = await vscode.window.showSaveDialog({
        title: `Save the ${this.template.title} as`,
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
        filters: { Markdown: ["md"], Text: ["txt"] },
      });
      if (!uri) return undefined;
    }
    await vscode.workspace.fs.writeFile(uri, new Uint8Array());
    const created = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(created, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    if (!(await insertAiText(editor, this.markers, text))) return undefined;
    await created.save();
    return uri;
  }

  /** Selects, in the note, what the flag's fact is closest to there (5 mg for 50 mg). */
  async showInNote(index: number): Promise<vscode.Selection | undefined> {
    const flag = this.reviewed?.flags[index];
    const document = this.document;
    if (!flag?.near || !document || !this.noteFacts) return undefined;
    const now = document.getText();
    let start = flag.near.start;
    if (now.slice(start, flag.near.end) !== flag.near.text) {
      start = now.indexOf(flag.near.text);
      if (start < 0) {
        void vscode.window.showWarningMessage("Bedside: that part of the note has changed since the draft.");
        return undefined;
      }
    }
    const selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + flag.near.text.length));
    const editor = await vscode.window.showTextDocument(document, { viewColumn: this.noteEditor()?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false, selection });
    editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return editor.selection;
  }

  private noteEditor(): vscode.TextEditor | undefined {
    const uri = this.document?.uri.toString();
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
  }

  private show(besideColumn: vscode.ViewColumn | undefined, title: string): void {
    if (this.panel) {
      this.panel.title = title;
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      "bedside.draft",
      title,
      { viewColumn: besideColumn ?? vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(this.extensionUri),
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "bedside.svg");
    showWebviewPage(panel.webview, this.extensionUri, "documents", "Draft from Note");
    panel.webview.onDidReceiveMessage((m: DraftPanelMessage) => void this.onMessage(m), undefined, this.subscriptions);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.cancel();
    });
    this.panel = panel;
  }

  private async onMessage(message: DraftPanelMessage): Promise<void> {
    switch (message.type) {
      case "ready":
        this.postView(true);
        return;
      case "cancel":
        this.cancel();
        return;
      case "rerun":
        if (this.document && this.template) await this.run(this.document, this.template, this.panel?.viewColumn);
        return;
      case "insert":
        await this.insert();
        return;
      case "save":
        await this.saveAsFile();
        return;
      case "showInNote":
        await this.showInNote(message.index);
        return;
      case "toggleChecked": {
        const flag = this.reviewed?.flags[message.index];
        if (!flag) return;
        const key = flagKey(flag);
        if (this.checked.has(key)) this.checked.delete(key);
        else this.checked.add(key);
        this.postView(true);
        return;
      }
      case "rendered": {
        const report: DraftRendered = {
          text: message.text,
          flags: message.flags,
          marked: message.marked,
          running: message.running,
          ...(message.grade ? { grade: message.grade } : {}),
        };
        this.lastRendered = report;
        this.renderedEmitter.fire(report);
        return;
      }
    }
  }

  /** Clicks an element of the view (data-id) through the webview's own handlers; tests use it. */
  async clickInPanel(id: string): Promise<boolean> {
    return this.post({ type: "click", id });
  }

  view(): DraftView {
    if (this.pendingValues && this.noteFacts && this.template) {
      this.reviewed = reviewDraft(this.noteFacts, this.template, this.pendingValues);
      this.pendingValues = undefined;
    }
    const review = this.reviewed ?? { text: "", fields: [], flags: [] };
    const stale = this.result !== undefined && this.document !== undefined && this.result.noteText !== this.document.getText();
    const failed = Object.values(this.result?.fields ?? {})
      .filter((f) => f.state === "failed")
      .map((f) => ({ field: f.name, error: f.error ?? "" }));
    return {
      title: this.template?.title ?? "Draft",
      noteName: this.document ? vscode.workspace.asRelativePath(this.document.uri) : "",
      audience: this.template?.audience ?? "clinician",
      running: this.running !== undefined,
      cancelled: this.result?.cancelled ?? (this.running === undefined && Object.values(this.states).includes("cancelled")),
      stale,
      ...(this.error ? { error: this.error } : {}),
      ...(this.step && this.running ? { step: this.step } : {}),
      mode: this.result?.mode ?? "whole",
      runs: draftRuns(review, this.states),
      flags: draftFlags(review.flags, this.checked),
      ...(review.grade !== undefined ? { grade: review.grade } : {}),
      failed,
      hasText: review.fields.some((f) => f.end > f.start),
    };
  }

  private postView(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastPostAt < RENDER_EVERY_MS) {
      // One render at most every RENDER_EVERY_MS while text streams: a pending one is kept, not pushed back.
      this.postTimer ??= setTimeout(() => this.postView(true), RENDER_EVERY_MS - (now - this.lastPostAt));
      return;
    }
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
    this.lastPostAt = now;
    void this.post({ type: "view", view: this.view() });
  }

  private async post(message: DraftHostMessage): Promise<boolean> {
    return this.panel ? this.panel.webview.postMessage(message) : false;
  }

  /** Closes the draft's tab (stopping a run), as the user closing it would; the panel stays usable. */
  close(): void {
    this.panel?.dispose();
  }

  dispose(): void {
    this.cancel();
    clearTimeout(this.postTimer);
    this.panel?.dispose();
    this.renderedEmitter.dispose();
    this.finishedEmitter.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
