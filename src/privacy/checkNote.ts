/**
 * "Bedside: Check Note for Identifiers": runs the PHI detector on the active note and shows each finding
 * as a warning in the editor and the Problems panel. The findings follow the note as it is edited, and go
 * when it is closed. Thin adapter: the detection is src/privacy/phiDetector.ts.
 */
import * as vscode from "vscode";
import { countByCategory, detectPhi, detectPhiInSlices, PHI_LABELS, type PhiCategory, type PhiSpan } from "./phiDetector";

export const CHECK_NOTE_COMMAND = "bedside.checkNoteForIdentifiers";
export const DIAGNOSTIC_SOURCE = "Bedside identifiers";

/** Above this a note is re-checked only on request, not on every edit (the check reads the whole note). */
const LIVE_RECHECK_MAX_CHARS = 500_000;
/** Above this the check runs in slices behind a cancellable progress notification, keeping the editor responsive. */
const SLICED_CHECK_MIN_CHARS = 200_000;

export function identifierDiagnostics(document: vscode.TextDocument, spans: readonly PhiSpan[]): vscode.Diagnostic[] {
  return spans.map((span) => {
    const range = new vscode.Range(document.positionAt(span.start), document.positionAt(span.end));
    const diagnostic = new vscode.Diagnostic(
      range,
      `Possible identifier (${PHI_LABELS[span.category]}). Remove or replace it before this text leaves the machine.`,
      vscode.DiagnosticSeverity.Warning,
    );
    diagnostic.source = DIAGNOSTIC_SOURCE;
    diagnostic.code = span.category;
    return diagnostic;
  });
}

function summary(spans: readonly PhiSpan[]): string {
  if (spans.length === 0) return "Bedside found no identifiers in this note (names with titles, dates, ages over 89, record numbers, phone, email, SSN, addresses, web addresses).";
  const counts = countByCategory(spans);
  const parts = (Object.entries(counts) as [PhiCategory, number][]).map(([c, n]) => `${n} ${PHI_LABELS[c]}${n === 1 ? "" : "s"}`);
  return `Bedside found ${spans.length} possible identifier${spans.length === 1 ? "" : "s"}: ${parts.join(", ")}. They are marked in the note and listed in Problems.`;
}

export function registerIdentifierCheck(context: vscode.ExtensionContext): vscode.DiagnosticCollection {
  const diagnostics = vscode.languages.createDiagnosticCollection("bedside-identifiers");
  const checked = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();

  const publish = (document: vscode.TextDocument, spans: PhiSpan[]): PhiSpan[] => {
    diagnostics.set(document.uri, identifierDiagnostics(document, spans));
    checked.add(document.uri.toString());
    return spans;
  };
  const check = (document: vscode.TextDocument): PhiSpan[] => publish(document, detectPhi(document.getText()));
  /** A huge note: in slices, with progress and Cancel; undefined when cancelled. */
  const checkLarge = (document: vscode.TextDocument): Thenable<PhiSpan[] | undefined> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Checking the note for identifiers", cancellable: true }, async (progress, token) => {
      const version = document.version;
      let reported = 0;
      const spans = await detectPhiInSlices(document.getText(), {
        isCancelled: () => token.isCancellationRequested,
        onProgress: (fraction) => {
          progress.report({ increment: (fraction - reported) * 100 });
          reported = fraction;
        },
      });
      // Edited meanwhile: the ranges would be off; check again on the current text.
      if (spans && document.version !== version) return check(document);
      return spans && publish(document, spans);
    });

  context.subscriptions.push(
    diagnostics,
    vscode.commands.registerCommand(CHECK_NOTE_COMMAND, async (uri?: vscode.Uri): Promise<PhiSpan[] | undefined> => {
      const document = uri ? await vscode.workspace.openTextDocument(uri) : vscode.window.activeTextEditor?.document;
      if (!document) {
        void vscode.window.showInformationMessage("Open a note first: Bedside checks the note in the active editor for identifiers.");
        return undefined;
      }
      const spans = document.getText().length >= SLICED_CHECK_MIN_CHARS ? await checkLarge(document) : check(document);
      if (spans) void vscode.window.showInformationMessage(summary(spans));
      return spans;
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      const key = e.document.uri.toString();
      if (!checked.has(key) || e.contentChanges.length === 0) return;
      clearTimeout(timers.get(key));
      if (e.document.getText().length > LIVE_RECHECK_MAX_CHARS) {
        // Ranges would drift; clear rather than mislead until the next explicit check.
        diagnostics.delete(e.document.uri);
        checked.delete(key);
        return;
      }
      timers.set(
        key,
        setTimeout(() => check(e.document), 300),
      );
    }),
    vscode.workspace.onDidCloseTextDocument((document) => {
      const key = document.uri.toString();
      clearTimeout(timers.get(key));
      checked.delete(key);
      diagnostics.delete(document.uri);
    }),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
  return diagnostics;
}
