/**
 * The chat view in Bedside's activity-bar container: a webview (strict CSP, media/ only) that shows the
 * conversation, and the vscode side of what it asks for: note and selection chips, copy, and "Insert
 * into note" at the cursor as one undo step marked as AI text.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { insertAiText, type AiTextMarkers } from "../provenance/aiTextMarkers";
import { showWebviewPage, webviewOptions } from "../webview/webviewPanel";
import type { NoteContext } from "./chatPrompt";
import type { ChatSession } from "./chatSession";
import { parseViewMessage, type ContextChip, type HostToView, type ViewToHost } from "./chatTypes";

export const CHAT_VIEW_ID = "bedside.chat";

/** Editors that hold a note: files and untitled documents, not output panes or diff sides. */
export function isNoteEditor(editor: vscode.TextEditor | undefined): editor is vscode.TextEditor {
  return !!editor && (editor.document.uri.scheme === "file" || editor.document.uri.scheme === "untitled");
}

export function noteLabel(document: vscode.TextDocument): string {
  return document.isUntitled ? document.uri.path : path.basename(document.uri.fsPath);
}

/** The note the clinician last worked in; the chat view taking focus must not lose it. */
export class NoteTracker implements vscode.Disposable {
  private last: vscode.TextEditor | undefined;
  private readonly subscriptions: vscode.Disposable[];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  constructor() {
    this.last = isNoteEditor(vscode.window.activeTextEditor) ? vscode.window.activeTextEditor : undefined;
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (isNoteEditor(editor) && editor !== this.last) {
          this.last = editor;
          this.emitter.fire();
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (this.last?.document === document) {
          this.last = undefined;
          this.emitter.fire();
        }
      }),
    ];
  }

  /** The note's editor, if it is still open; else a visible editor showing that note. */
  editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (isNoteEditor(active)) this.last = active;
    if (!this.last) return undefined;
    const uri = this.last.document.uri.toString();
    return vscode.window.visibleTextEditors.find((e) => e === this.last) ?? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri) ?? this.last;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.emitter.dispose();
  }
}

export function noteChip(editor: vscode.TextEditor, auto = false): Omit<ContextChip, "id"> {
  return { kind: "note", label: noteLabel(editor.document), uri: editor.document.uri.toString(), ...(auto ? { auto } : {}) };
}

export function selectionChip(editor: vscode.TextEditor): Omit<ContextChip, "id"> | undefined {
  const selection = editor.selection;
  if (selection.isEmpty) return undefined;
  const from = selection.start.line + 1;
  const to = selection.end.line + (selection.end.character === 0 && selection.end.line > selection.start.line ? 0 : 1);
  return {
    kind: "selection",
    label: `${noteLabel(editor.document)}, ${from === to ? `line ${from}` : `lines ${from}–${to}`}`,
    uri: editor.document.uri.toString(),
    text: editor.document.getText(selection),
  };
}

/** The text behind chips: a note as it is now (open or on disk), a selection as it was captured. */
export async function readChipContexts(chips: readonly ContextChip[]): Promise<NoteContext[]> {
  const contexts: NoteContext[] = [];
  for (const chip of chips) {
    if (chip.kind === "selection") {
      contexts.push({ label: `selection from ${chip.label}`, text: chip.text ?? "" });
      continue;
    }
    const uri = vscode.Uri.parse(chip.uri);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === chip.uri);
    try {
      const document = open ?? (await vscode.workspace.openTextDocument(uri));
      contexts.push({ label: `note ${chip.label}`, text: document.getText() });
    } catch {
      contexts.push({ label: `note ${chip.label}`, text: "(this note could not be read)" });
    }
  }
  return contexts;
}

export interface ChatViewHooks {
  session: ChatSession;
  notes: NoteTracker;
  markers: AiTextMarkers;
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly insertedEmitter = new vscode.EventEmitter<{ turnId: string; uri: string; ok: boolean }>();
  /** Fires after "Insert into note" (tests wait on it). */
  readonly onDidInsert = this.insertedEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly hooks: ChatViewHooks,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    showWebviewPage(view.webview, this.extensionUri, "chat", "Bedside Chat");
    const subscription = view.webview.onDidReceiveMessage((raw: unknown) => {
      const message = parseViewMessage(raw);
      if (message) void this.handle(message);
    });
    this.subscriptions.push(subscription);
    view.onDidDispose(() => {
      subscription.dispose();
      if (this.view === view) this.view = undefined;
    });
  }

  get visible(): boolean {
    return this.view?.visible ?? false;
  }

  post(message: HostToView): void {
    void this.view?.webview.postMessage(message);
  }

  /** Reveals the view and puts the cursor in its message box. */
  async focus(): Promise<void> {
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    this.post({ type: "focusInput" });
  }

  private async handle(message: ViewToHost): Promise<void> {
    const { session } = this.hooks;
    switch (message.type) {
      case "ready":
        return session.publish();
      case "send":
        await session.send(message.text);
        return;
      case "stop":
        return session.stop();
      case "newChat":
        return session.newChat();
      case "selectChat":
        return session.select(message.id);
      case "renameChat":
        return void (await vscode.commands.executeCommand("bedside.chat.rename"));
      case "deleteChat":
        return void (await vscode.commands.executeCommand("bedside.chat.delete"));
      case "addNote":
        return void (await vscode.commands.executeCommand("bedside.chat.addNote"));
      case "addSelection":
        return void (await vscode.commands.executeCommand("bedside.chat.addSelection"));
      case "removeChip":
        return session.removeChip(message.id);
      case "copy":
        return this.copy(message.turnId);
      case "insert":
        return void (await this.insert(message.turnId));
    }
  }

  async copy(turnId: string): Promise<void> {
    const turn = this.hooks.session.turn(turnId);
    if (!turn) return;
    await vscode.env.clipboard.writeText(turn.text);
    void vscode.window.setStatusBarMessage("Bedside: reply copied", 2000);
  }

  /** Puts a reply into the note at its cursor (replacing a selection): one edit, one undo step, marked as AI text. */
  async insert(turnId: string): Promise<boolean> {
    const turn = this.hooks.session.turn(turnId);
    const editor = this.hooks.notes.editor();
    if (!turn || turn.role !== "assistant" || turn.text.length === 0) return false;
    if (!editor) {
      void vscode.window.showWarningMessage("Bedside: open the note to insert the reply into, and put the cursor where it goes.");
      return false;
    }
    const ok = await insertAiText(editor, this.hooks.markers, turn.text);
    this.insertedEmitter.fire({ turnId, uri: editor.document.uri.toString(), ok });
    if (ok) await vscode.window.showTextDocument(editor.document, { ...(editor.viewColumn ? { viewColumn: editor.viewColumn } : {}), preserveFocus: false });
    return ok;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.insertedEmitter.dispose();
  }
}
