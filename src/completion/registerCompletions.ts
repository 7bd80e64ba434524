/**
 * Wires inline completions, the note language's outline, provenance markers and their commands into VS
 * Code. Called once from the composition root.
 */
import * as vscode from "vscode";
import type { BedsideConfig } from "../config";
import type { Engine } from "../engine/engine";
import type { Log } from "../log/log";
import { NoteOutline } from "../notes/noteOutline";
import { CompletionStatus } from "../status/completionStatus";
import { AiTextMarkers } from "../provenance/aiTextMarkers";
import { CompletionSession } from "./completionSession";
import { CompletionSwitch } from "./completionSwitch";
import { ACCEPTED_COMMAND, NoteCompletionProvider, readAroundCursor } from "./noteCompletionProvider";

export interface CompletionParts {
  session: CompletionSession;
  provider: NoteCompletionProvider;
  markers: AiTextMarkers;
  completionSwitch: CompletionSwitch;
  status: CompletionStatus;
}

export function registerCompletions(context: vscode.ExtensionContext, engine: Engine, config: BedsideConfig, log: Log): CompletionParts {
  const completionSwitch = new CompletionSwitch(() => config.completion.enabled);
  const status = new CompletionStatus(() => ({ active: completionSwitch.active, snoozeMinutesLeft: completionSwitch.snoozeMinutesLeft }));
  const session = new CompletionSession(
    engine,
    () => config.completion,
    (busy) => status.setThinking(busy),
    undefined,
    () => (engine.state.kind === "ready" || engine.state.kind === "busy" ? engine.state.info.contextSize : undefined),
  );
  const provider = new NoteCompletionProvider(session, engine, completionSwitch, () => config.completion.languages, log);
  const markers = new AiTextMarkers(context.workspaceState);
  const selector = ["note", "markdown", "plaintext"].map((language) => ({ language }));
  // Read the note into the completion lane's cache when it is opened (or the model becomes ready), so the
  // first suggestion evaluates only what is typed after that.
  const warmUp = (editor: vscode.TextEditor | undefined): void => {
    if (!editor || !completionSwitch.active || engine.state.kind !== "ready") return;
    const document = editor.document;
    if (!config.completion.languages.includes(document.languageId)) return;
    const { prefix, prefixStart, header } = readAroundCursor(document, editor.selection.active, session.promptBudgetTokens());
    void session.warmUp({ documentKey: document.uri.toString(), prefix, prefixStart, ...(header ? { header } : {}), suffix: "", infillSupported: false }).catch(() => undefined);
  };
  let selectionTimer: NodeJS.Timeout | undefined;
  let engineWas = engine.state.kind;
  const onEngineState = engine.onDidChangeState((state) => {
    if (state.kind === "ready" && engineWas === "loading") warmUp(vscode.window.activeTextEditor);
    engineWas = state.kind;
  });
  // The snooze ends by itself; the item counts down once a minute.
  const tick = setInterval(() => status.render(), 60_000);

  context.subscriptions.push(
    status,
    provider,
    markers,
    { dispose: () => clearInterval(tick) },
    onEngineState,
    vscode.window.onDidChangeActiveTextEditor(warmUp),
    // A click or a command moves the cursor elsewhere: warm up there once the cursor rests (typing does not).
    vscode.window.onDidChangeTextEditorSelection((e) => {
      if (e.kind !== vscode.TextEditorSelectionChangeKind.Mouse && e.kind !== vscode.TextEditorSelectionChangeKind.Command) return;
      clearTimeout(selectionTimer);
      selectionTimer = setTimeout(() => warmUp(e.textEditor), 300);
    }),
    { dispose: () => clearTimeout(selectionTimer) },
    vscode.languages.registerInlineCompletionItemProvider(selector, provider),
    vscode.languages.registerDocumentSymbolProvider({ language: "note" }, new NoteOutline()),
    config.onDidChange(() => status.render()),
    vscode.commands.registerCommand(ACCEPTED_COMMAND, (uri: vscode.Uri, offset: number, text: string) => markers.accepted(uri, offset, text)),
    vscode.commands.registerCommand("bedside.markAiTextReviewed", () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return;
      const count = markers.markReviewed(editor.document.uri);
      void vscode.window.setStatusBarMessage(`Bedside: ${count} passage(s) marked reviewed`, 3000);
    }),
    vscode.commands.registerCommand("bedside.toggleCompletions", async () => {
      const on = !completionSwitch.active;
      completionSwitch.resume();
      if (!on) session.abortInFlight();
      await config.setCompletionsEnabled(on);
      status.render();
    }),
    vscode.commands.registerCommand("bedside.snoozeCompletions", async (minutes?: number) => {
      const chosen =
        minutes ??
        Number(
          await vscode.window.showInputBox({
            title: "Snooze Bedside completions",
            prompt: "Minutes",
            value: "15",
            validateInput: (v) => (Number(v) > 0 ? undefined : "A number of minutes"),
          }),
        );
      if (!(chosen > 0)) return;
      completionSwitch.snooze(chosen);
      session.abortInFlight();
      status.render();
    }),
  );
  return { session, provider, markers, completionSwitch, status };
}
