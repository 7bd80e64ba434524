/**
 * Wires the literature library into VS Code: the Literature view (drop files on it to import), import,
 * remove, search and ask commands. Returns the parts other features and tests use.
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import * as vscode from "vscode";
import type { Engine } from "../engine/engine";
import type { EngineClient } from "../engine/client/engineClient";
import type { Log } from "../log/log";
import { answerSettings, embeddingModelSetting, type BedsideConfig } from "../config";
import { LibraryEmbedding, type EmbeddingPrefixes } from "./embedding/libraryEmbedding";
import { AnswerPanel } from "./qa/answerPanel";
import type { LiteratureSource } from "./library";
import { pubmedUrl } from "./library";
import { LiteratureService, type ImportReport } from "./literatureService";
import { OnlinePubMed } from "./online/onlinePubMedCommand";
import { vancouverCitation } from "./vancouver";

export interface LiteratureParts {
  /** The library (LiteratureLibrary) other features search. */
  library: LiteratureService;
  answers: AnswerPanel;
  /** The optional online PubMed search (off by default); tests replace its `confirm`. */
  onlinePubMed: OnlinePubMed;
  /** Imports with the progress notification, as the command does. */
  importPaths(paths: readonly string[]): Promise<ImportReport>;
  /** The embedding model for hybrid ranking (bedside.literature.embeddingModel) and the background embedding. */
  embedding: LibraryEmbedding;
}

/** What hybrid ranking's embedding needs from the composition root: its own worker, the settings, the catalog's prefixes. */
export interface EmbeddingWiring {
  engine: EngineClient;
  config: BedsideConfig;
  prefixes: EmbeddingPrefixes;
  log: Log;
}

class LiteratureView implements vscode.TreeDataProvider<{ origin: string; count: number }>, vscode.TreeDragAndDropController<{ origin: string; count: number }> {
  readonly dropMimeTypes = ["text/uri-list", "files"];
  readonly dragMimeTypes: string[] = [];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(
    private readonly service: LiteratureService,
    private readonly importPaths: (paths: readonly string[]) => Promise<unknown>,
  ) {
    service.onDidChange(() => this.emitter.fire());
  }

  getTreeItem(element: { origin: string; count: number }): vscode.TreeItem {
    const item = new vscode.TreeItem(basename(element.origin));
    item.description = `${element.count} record${element.count === 1 ? "" : "s"}`;
    item.tooltip = element.origin;
    item.contextValue = "bedside.literatureOrigin";
    item.iconPath = new vscode.ThemeIcon("book");
    return item;
  }

  getChildren(): Array<{ origin: string; count: number }> {
    return this.service.count() === 0 ? [] : this.service.origins();
  }

  async handleDrop(_target: unknown, data: vscode.DataTransfer): Promise<void> {
    const list = await data.get("text/uri-list")?.asString();
    const paths = (list ?? "")
      .split(/\r?\n/)
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => vscode.Uri.parse(l.trim()))
      .filter((u) => u.scheme === "file")
      .map((u) => u.fsPath);
    if (paths.length > 0) await this.importPaths(paths);
  }
}

function describeReport(report: ImportReport, library: LiteratureService): string {
  const parts = [`${report.added} added`, `${report.updated} updated`];
  if (report.failed.length) parts.push(`${report.failed.length} file${report.failed.length === 1 ? "" : "s"} not read`);
  return `Bedside: ${report.cancelled ? "import cancelled" : "imported"} ${report.files} file${report.files === 1 ? "" : "s"} (${parts.join(", ")}); the library holds ${library.count()} records.`;
}

function sourceItem(source: LiteratureSource): vscode.QuickPickItem & { source: LiteratureSource } {
  return {
    label: source.title || "(untitled)",
    description: [source.journal, source.year, source.pmid ? `PMID ${source.pmid}` : undefined].filter(Boolean).join(" · "),
    detail: source.passage.slice(0, 200),
    source,
  };
}

export function registerLiterature(context: vscode.ExtensionContext, engine: Engine, wiring: EmbeddingWiring): LiteratureParts {
  const library = new LiteratureService(join(context.globalStorageUri.fsPath, "literature"));
  const answers = new AnswerPanel(context.extensionUri, engine, library);
  const embedding = new LibraryEmbedding(
    library,
    wiring.engine,
    () => ({ path: embeddingModelSetting(), threads: wiring.config.engine.threads, gpu: wiring.config.engine.gpu }),
    wiring.prefixes,
    wiring.log,
  );
  const onlinePubMed = new OnlinePubMed(library);

  const importPaths = (paths: readonly string[]): Promise<ImportReport> =>
    Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "Bedside: importing literature", cancellable: true }, async (progress, token) => {
        let last = 0;
        const report = await library.importPaths(
          paths,
          (p) => {
            progress.report({ message: `${p.file}: ${p.records} records` });
            last = p.records;
          },
          token,
        );
        void last;
        const text = describeReport(report, library);
        if (report.failed.length) void vscode.window.showWarningMessage(`${text} ${report.failed.map((f) => f.message).join(" ")}`);
        else void vscode.window.showInformationMessage(text);
        return report;
      }),
    );

  // A damaged library file was set aside and an empty one started: say so, and offer to rebuild it.
  library.onDamaged = (recovery) => {
    const files = recovery.importedFiles.filter((f) => existsSync(f));
    const action = files.length > 0 ? `Re-import ${files.length} File${files.length === 1 ? "" : "s"}` : "Import Literature…";
    void vscode.window.showWarningMessage(recovery.message, action).then((choice) => {
      if (!choice) return;
      if (files.length > 0) void importPaths(files);
      else void vscode.commands.executeCommand("bedside.importLiterature");
    });
  };

  const view = new LiteratureView(library, importPaths);
  context.subscriptions.push(
    embedding,
    library,
    answers,
    vscode.commands.registerCommand("bedside.embedLiterature", () => embedding.command()),
    vscode.window.createTreeView("bedside.literature", { treeDataProvider: view, dragAndDropController: view, canSelectMany: false }),
    vscode.commands.registerCommand("bedside.importLiterature", async () => {
      const picked = await vscode.window.showOpenDialog({
        title: "Import literature: PubMed XML (.xml, .xml.gz), MEDLINE (.nbib), RIS, BibTeX, CSL-JSON, JSON Lines, PDF, or folders of PDF/markdown/text",
        openLabel: "Import",
        canSelectMany: true,
        canSelectFiles: true,
        canSelectFolders: true,
      });
      if (picked?.length) await importPaths(picked.map((u) => u.fsPath));
    }),
    vscode.commands.registerCommand("bedside.removeLiterature", async (item?: { origin: string }) => {
      const origin =
        item?.origin ??
        (
          await vscode.window.showQuickPick(
            library.origins().map((o) => ({ label: basename(o.origin), description: `${o.count} records`, detail: o.origin, origin: o.origin })),
            { title: "Remove imported literature" },
          )
        )?.origin;
      if (!origin) return;
      const n = library.remove({ origin });
      void vscode.window.showInformationMessage(`Bedside: removed ${n} records from ${basename(origin)}.`);
    }),
    vscode.commands.registerCommand("bedside.searchLiterature", async () => {
      const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { source: LiteratureSource }>();
      const { ranking } = answerSettings();
      // Hybrid until it can run says why it is BM25 (no embedding model, or embedding not finished).
      const note = library.rankingDecision(ranking).note;
      pick.title = `Search Literature (${library.count()} records)${note ? ` · ${note}` : ""}`;
      pick.placeholder = "Words from the question, a drug, a condition…";
      pick.matchOnDescription = false;
      pick.matchOnDetail = false;
      let seq = 0;
      pick.onDidChangeValue(async (value) => {
        const mine = ++seq;
        if (!value.trim()) {
          pick.items = [];
          return;
        }
        pick.busy = true;
        const found = await library.search(value, 20, { ranking, passageChars: 300 });
        if (mine !== seq) return;
        pick.busy = false;
        // The library ranks; VS Code must not filter the list by its own fuzzy match.
        pick.items = found.map((s) => ({ ...sourceItem(s), alwaysShow: true }));
      });
      const chosen = await new Promise<LiteratureSource | undefined>((resolve) => {
        pick.onDidAccept(() => resolve(pick.selectedItems[0]?.source));
        pick.onDidHide(() => resolve(undefined));
        pick.show();
      });
      pick.dispose();
      if (chosen) await sourceActions(chosen, library);
    }),
    vscode.commands.registerCommand("bedside.askLiterature", async (question?: string) => {
      const editor = vscode.window.activeTextEditor;
      const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection).trim() : "";
      const asked =
        question ?? (await vscode.window.showInputBox({ title: "Ask the Literature", prompt: "A question answered from your own library, with citations", value: selected }));
      if (asked?.trim()) await answers.ask(asked.trim());
    }),
    vscode.commands.registerCommand("bedside.searchPubMedOnline", (question?: string) => onlinePubMed.search(typeof question === "string" ? question : undefined)),
  );
  return { library, answers, onlinePubMed, importPaths, embedding };
}

async function sourceActions(source: LiteratureSource, library: LiteratureService): Promise<void> {
  const actions = [
    { label: "$(book) Open Abstract", action: "open" },
    { label: "$(copy) Copy Citation (Vancouver)", action: "copy" },
    ...(source.pmid ? [{ label: "$(link-external) Open in PubMed", action: "pubmed" }] : []),
  ];
  const chosen = await vscode.window.showQuickPick(actions, { title: source.title });
  const record = library.get(source.key);
  if (!chosen || !record) return;
  if (chosen.action === "copy") {
    await vscode.env.clipboard.writeText(vancouverCitation(record));
    void vscode.window.setStatusBarMessage("Bedside: citation copied", 3000);
  } else if (chosen.action === "pubmed" && source.pmid) {
    await vscode.env.openExternal(vscode.Uri.parse(pubmedUrl(source.pmid)));
  } else if (chosen.action === "open") {
    const content = `# ${record.title}\n\n${[record.authors.join(", "), record.journal, record.year, record.pmid ? `PMID ${record.pmid}` : undefined, record.doi ? `doi:${record.doi}` : undefined].filter(Boolean).join(" · ")}\n\n${record.abstract}\n\n---\n${vancouverCitation(record)}\n`;
    const document = await vscode.workspace.openTextDocument({ language: "markdown", content });
    await vscode.window.showTextDocument(document, { preview: true });
  }
}
