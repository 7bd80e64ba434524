/**
 * "Bedside: Search PubMed Online…": off unless `bedside.literature.onlinePubMed.enabled` is on (a user
 * setting only). The question's identifiers are removed (pubmedOnline.ts), the user sees exactly the text
 * that would be sent and the host in a modal, and nothing goes out unless they choose "Send to PubMed".
 * The records found are added to the local library, where Search and Ask the Literature find them.
 */
import * as vscode from "vscode";
import { onlinePubMedSettings } from "../../config";
import type { LiteratureService } from "../literatureService";
import { describeRemoved, eutilsBase, prepareOnlineQuery, searchPubMed, type OnlineQueryPreview } from "./pubmedOnline";

export interface OnlineConfirmation extends OnlineQueryPreview {
  /** The host the text goes to, e.g. eutils.ncbi.nlm.nih.gov. */
  host: string;
}

export interface OnlinePubMedOutcome {
  status: "disabled" | "noQuestion" | "nothingToSend" | "declined" | "done" | "failed" | "cancelled";
  /** What was (or would have been) sent. */
  sent?: string;
  pmids?: string[];
  added?: number;
  updated?: number;
  message?: string;
}

const SEND = "Send to PubMed";

/** The modal: exactly the text that will be sent, to which host, and what was taken out. */
export async function confirmInModal(preview: OnlineConfirmation): Promise<boolean> {
  const removed = describeRemoved(preview);
  const detail = [
    `Bedside will send exactly this search to ${preview.host}:`,
    "",
    preview.sent,
    "",
    removed ? `Removed from your question first: ${removed}.` : "No identifiers were found in your question.",
    "Nothing else from your notes or library is sent. The articles found are added to your local library.",
  ].join("\n");
  const choice = await vscode.window.showWarningMessage(`Search PubMed online (${preview.host})?`, { modal: true, detail }, SEND);
  return choice === SEND;
}

export class OnlinePubMed {
  /** Asks the user to confirm the text and host; tests put their own answer here. */
  confirm: (preview: OnlineConfirmation) => Promise<boolean> = confirmInModal;

  constructor(private readonly library: LiteratureService) {}

  get enabled(): boolean {
    return onlinePubMedSettings().enabled;
  }

  /** Runs the whole command for `question` (asks for one when absent). Never touches the network unless confirmed. */
  async search(question?: string): Promise<OnlinePubMedOutcome> {
    if (!this.enabled) {
      void vscode.window
        .showInformationMessage(
          "Bedside: online PubMed search is off. Turn on bedside.literature.onlinePubMed.enabled to search PubMed from here; your question is sent only after you confirm it.",
          "Open Setting",
        )
        .then((c) => {
          if (c) void vscode.commands.executeCommand("workbench.action.openSettings", "bedside.literature.onlinePubMed");
        });
      return { status: "disabled" };
    }
    let base: URL;
    try {
      base = eutilsBase(onlinePubMedSettings().baseUrl);
    } catch (error) {
      void vscode.window.showErrorMessage(`Bedside: ${(error as Error).message}`);
      return { status: "failed", message: (error as Error).message };
    }
    const editor = vscode.window.activeTextEditor;
    const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).trim() : "";
    const asked =
      question ??
      (await vscode.window.showInputBox({
        title: "Search PubMed Online",
        prompt: "A clinical question; identifiers are removed and you see what is sent before it is sent",
        value: selected,
      }));
    if (!asked?.trim()) return { status: "noQuestion" };
    const preview = prepareOnlineQuery(asked.trim());
    if (!preview.sent) {
      void vscode.window.showWarningMessage("Bedside: nothing is left of the question to search for once identifiers are removed.");
      return { status: "nothingToSend", sent: "" };
    }
    if (!(await this.confirm({ ...preview, host: base.host }))) return { status: "declined", sent: preview.sent };
    const maxResults = onlinePubMedSettings().maxResults;
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Bedside: searching PubMed (${base.host})`, cancellable: true },
      async (_progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        const timeout = setTimeout(() => abort.abort(), 60_000);
        try {
          const found = await searchPubMed(preview.sent, { base, maxResults, signal: abort.signal });
          const { added, updated } = this.library.addRecords(found.records);
          const text = found.records.length
            ? `Bedside: PubMed found ${found.count} article${found.count === 1 ? "" : "s"} for “${preview.sent}”; ${added} added to your library, ${updated} updated.`
            : `Bedside: PubMed found nothing for “${preview.sent}”.`;
          void vscode.window.showInformationMessage(text, ...(found.records.length ? ["Search Literature"] : [])).then((c) => {
            if (c) void vscode.commands.executeCommand("bedside.searchLiterature");
          });
          return { status: "done", sent: preview.sent, pmids: found.pmids, added, updated, message: text };
        } catch (error) {
          if (token.isCancellationRequested) return { status: "cancelled", sent: preview.sent };
          const cause = (error as { cause?: { message?: string; code?: string } }).cause;
          const message = abort.signal.aborted
            ? `PubMed (${base.host}) did not answer within a minute.`
            : `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message ?? ""})` : ""}`;
          void vscode.window.showErrorMessage(`Bedside: online PubMed search failed: ${message}`);
          return { status: "failed", sent: preview.sent, message };
        } finally {
          clearTimeout(timeout);
          sub.dispose();
        }
      },
    );
  }
}
