/**
 * Provenance in the editor: text accepted from Bedside is remembered per file (workspace state, so it
 * survives a reload), follows edits, and carries a subtle dotted underline until "Bedside: Mark AI Text
 * Reviewed". The decoration never changes the note itself.
 */
import * as vscode from "vscode";
import { relocateSpans, shiftSpans, type AiSpan } from "./aiSpans";

const STATE_KEY = "bedside.aiText";

export class AiTextMarkers implements vscode.Disposable {
  private readonly decoration = vscode.window.createTextEditorDecorationType({
    borderStyle: "none none dotted none",
    borderWidth: "0 0 1px 0",
    borderColor: new vscode.ThemeColor("editorInfo.foreground"),
    overviewRulerColor: new vscode.ThemeColor("editorInfo.foreground"),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly spans: Map<string, AiSpan[]>;
  private readonly subscriptions: vscode.Disposable[] = [];
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly acceptedEmitter = new vscode.EventEmitter<vscode.Uri>();
  /** Bedside text was accepted into this document (a suggestion, or an inserted reply or differential). */
  readonly onDidAccept = this.acceptedEmitter.event;

  constructor(private readonly memento: vscode.Memento) {
    this.spans = new Map(Object.entries(memento.get<Record<string, AiSpan[]>>(STATE_KEY, {})));
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((ed) => this.render(ed))),
    );
    for (const document of vscode.workspace.textDocuments) this.relocate(document);
    vscode.window.visibleTextEditors.forEach((ed) => this.render(ed));
    this.subscriptions.push(vscode.workspace.onDidOpenTextDocument((d) => this.relocate(d)));
  }

  /** Spans of unreviewed Bedside text in a file (tests read it). */
  spansOf(uri: vscode.Uri): readonly AiSpan[] {
    return this.spans.get(uri.toString()) ?? [];
  }

  accepted(uri: vscode.Uri, offset: number, text: string): void {
    const key = uri.toString();
    this.spans.set(key, [...(this.spans.get(key) ?? []), { start: offset, end: offset + text.length, text }]);
    this.changed(uri);
    this.acceptedEmitter.fire(uri);
  }

  markReviewed(uri: vscode.Uri): number {
    const count = this.spansOf(uri).length;
    this.spans.delete(uri.toString());
    this.changed(uri);
    return count;
  }

  private relocate(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const spans = this.spans.get(key);
    if (!spans) return;
    this.spans.set(key, relocateSpans(spans, document.getText()));
    this.changed(document.uri);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const key = e.document.uri.toString();
    let spans = this.spans.get(key);
    if (!spans || spans.length === 0 || e.contentChanges.length === 0) return;
    const text = e.document.getText();
    // Changes arrive in document order from the end; apply each with the final text for span text.
    for (const change of [...e.contentChanges].sort((a, b) => b.rangeOffset - a.rangeOffset)) {
      spans = shiftSpans(spans, { offset: change.rangeOffset, removed: change.rangeLength, inserted: change.text.length }, text);
    }
    this.spans.set(key, spans);
    this.changed(e.document.uri);
  }

  private changed(uri: vscode.Uri): void {
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === uri.toString()) this.render(editor);
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save(), 300);
  }

  private render(editor: vscode.TextEditor): void {
    const document = editor.document;
    const ranges = this.spansOf(document.uri).map((s) => new vscode.Range(document.positionAt(s.start), document.positionAt(s.end)));
    editor.setDecorations(
      this.decoration,
      ranges.map((range) => ({ range, hoverMessage: "Written by Bedside, not yet reviewed" })),
    );
  }

  async save(): Promise<void> {
    const entries = [...this.spans.entries()].filter(([, spans]) => spans.length > 0);
    await this.memento.update(STATE_KEY, Object.fromEntries(entries));
  }

  dispose(): void {
    clearTimeout(this.saveTimer);
    void this.save();
    this.decoration.dispose();
    this.acceptedEmitter.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}

/**
 * Puts Bedside text into a note the one way features may: a single edit (one undo step) at the cursor,
 * or replacing the selection, then remembered as unreviewed AI text. Returns false when the editor
 * refused the edit (the note is then unchanged).
 */
export async function insertAiText(editor: vscode.TextEditor, markers: AiTextMarkers, text: string): Promise<boolean> {
  const document = editor.document;
  const selection = editor.selection;
  const applied = await editor.edit((edit) => edit.replace(selection, text), { undoStopBefore: true, undoStopAfter: true });
  if (applied) markers.accepted(document.uri, document.offsetAt(selection.start), text);
  return applied;
}
