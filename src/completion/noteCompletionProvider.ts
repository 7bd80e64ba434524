/**
 * The VS Code side of inline completions: turns the editor's request into a CompletionSession call and
 * the answer into one InlineCompletionItem. Everything that decides what to suggest lives in the pure
 * modules beside this file.
 */
import * as vscode from "vscode";
import type { Engine } from "../engine/engine";
import type { Log } from "../log/log";
import type { CompletionSession, Suggestion } from "./completionSession";
import type { CompletionSwitch } from "./completionSwitch";
import { textAroundCursor, type LineReader, type TextAroundCursor } from "./textAroundCursor";

export const ACCEPTED_COMMAND = "bedside.completionAccepted";

/** What the provider last answered; tests read it (VS Code gives no API to read the ghost text shown). */
export interface ProvidedSuggestion {
  uri: string;
  offset: number;
  text: string;
  fromCache: boolean;
}

export class NoteCompletionProvider implements vscode.InlineCompletionItemProvider {
  lastProvided: ProvidedSuggestion | undefined;
  private readonly providedEmitter = new vscode.EventEmitter<ProvidedSuggestion>();
  readonly onDidProvide = this.providedEmitter.event;

  constructor(
    private readonly session: CompletionSession,
    private readonly engine: Engine,
    private readonly completionSwitch: CompletionSwitch,
    private readonly languages: () => readonly string[],
    private readonly log: Log,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    if (!this.completionSwitch.active || !this.languages().includes(document.languageId)) return undefined;
    const state = this.engine.state;
    if (state.kind === "noModel" || state.kind === "error") return undefined;
    const infillSupported = state.kind === "ready" || state.kind === "busy" ? state.info.infillSupported : false;

    const controller = new AbortController();
    // VS Code cancels the token the moment the clinician types on; that aborts the engine request.
    const subscription = token.onCancellationRequested(() => controller.abort());
    const around = readAroundCursor(document, position, this.session.promptBudgetTokens());
    const offset = around.prefixStart + around.prefix.length;
    let suggestion: Suggestion | undefined;
    try {
      suggestion = await this.session.suggest({ documentKey: document.uri.toString(), ...around, infillSupported }, controller.signal);
    } catch (error) {
      this.log.warn(`Completion failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    } finally {
      subscription.dispose();
    }
    if (!suggestion || token.isCancellationRequested) return undefined;
    this.log.debug(
      `completion ${suggestion.fromCache ? "from cache" : `${suggestion.context?.mode}, ${suggestion.result?.promptTokensEvaluated} new prompt tokens, ${Math.round(suggestion.result?.totalMs ?? 0)} ms`}: ${this.log.noteText(suggestion.text)}`,
    );
    const provided = { uri: document.uri.toString(), offset, text: suggestion.text, fromCache: suggestion.fromCache };
    this.lastProvided = provided;
    this.providedEmitter.fire(provided);
    const item = new vscode.InlineCompletionItem(suggestion.text, new vscode.Range(position, position));
    item.command = { command: ACCEPTED_COMMAND, title: "Remember Bedside text", arguments: [document.uri, offset, suggestion.text] };
    return [item];
  }

  dispose(): void {
    this.providedEmitter.dispose();
  }
}

/** The note around the cursor, read from the editor's document through the pure reader (textAroundCursor.ts). */
export function readAroundCursor(document: vscode.TextDocument, position: vscode.Position, budgetTokens: number): TextAroundCursor {
  const reader: LineReader = {
    lineCount: document.lineCount,
    positionAt: (offset) => document.positionAt(offset),
    offsetAt: (p) => document.offsetAt(new vscode.Position(p.line, p.character)),
    lineText: (line) => document.lineAt(line).text,
    getText: (start, end) => document.getText(new vscode.Range(document.positionAt(start), document.positionAt(end))),
  };
  return textAroundCursor(reader, document.offsetAt(position), budgetTokens);
}
