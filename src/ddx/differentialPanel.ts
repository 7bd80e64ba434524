/**
 * The vscode side of the differential: a webview panel beside the note, a run per request (cancellable,
 * with streamed progress), stale detection as the note changes, click-to-reveal of findings, and "Insert
 * as Assessment" through the provenance markers. The logic lives in the pure modules next to this one.
 */
import * as vscode from "vscode";
import type { Engine } from "../engine/engine";
import { insertAiText, type AiTextMarkers } from "../provenance/aiTextMarkers";
import { showWebviewPage, webviewOptions } from "../webview/webviewPanel";
import { formatAssessment } from "./assessment";
import type { CitationSource } from "./citations";
import { buildDifferential, type DifferentialResult } from "./differential";
import { findingById, panelView, readableProgress, type HostMessage, type PanelMessage, type PanelView } from "./panelMessages";
import { isStale, relocateFinding } from "./stale";

export interface RenderedReport {
  diagnoses: string[];
  findings: Array<{ id: string; text: string }>;
  /** Ids of the citations shown ("PMID 123"). */
  citations: string[];
  stale: boolean;
  running: boolean;
}

const TAIL_CHARS = 240;
/** The streamed answer kept per step, to parse (answers are bounded by their grammar well below this). */
const RAW_CHARS = 16_000;
const PROGRESS_EVERY_MS = 100;

export class DifferentialPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private document: vscode.TextDocument | undefined;
  private result: DifferentialResult | undefined;
  private running: AbortController | undefined;
  private error: string | undefined;
  private streamTail = "";
  private streamRaw = "";
  private lastProgressAt = 0;
  private lastStep = { message: "Starting the model", step: 0, steps: 1 };
  private readonly renderedEmitter = new vscode.EventEmitter<RenderedReport>();
  private readonly finishedEmitter = new vscode.EventEmitter<DifferentialResult | undefined>();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** What the webview last reported on screen (tests read it). */
  lastRendered: RenderedReport | undefined;
  /** Fires after each render of the webview with what it shows. */
  readonly onDidRender = this.renderedEmitter.event;
  /** Fires when a run ends (with its result, or undefined after an error). */
  readonly onDidFinish = this.finishedEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: Engine,
    private readonly markers: AiTextMarkers,
    /** Where citations come from (the literature library); undefined: none. */
    private readonly citationSource?: CitationSource,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.document && this.result && e.contentChanges.length > 0) this.postView();
      }),
    );
  }

  get current(): DifferentialResult | undefined {
    return this.result;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Builds a differential of the document and shows it in the panel beside it. */
  async run(document: vscode.TextDocument, besideColumn?: vscode.ViewColumn): Promise<DifferentialResult | undefined> {
    this.cancel();
    const controller = new AbortController();
    this.running = controller;
    this.document = document;
    this.result = undefined;
    this.error = undefined;
    this.streamTail = "";
    this.streamRaw = "";
    this.lastStep = { message: "Starting the model", step: 0, steps: 1 };
    this.show(besideColumn);
    this.postView();
    this.postProgress(true);
    const noteText = document.getText();
    let result: DifferentialResult | undefined;
    try {
      const info = await this.engine.ensureReady({ signal: controller.signal });
      result = await buildDifferential(this.engine, noteText, {
        contextSize: info.contextSize,
        signal: controller.signal,
        ...(this.citationSource ? { citations: this.citationSource } : {}),
        onProgress: (p) => {
          if (this.running !== controller) return;
          if (p.kind === "step") {
            this.lastStep = { message: p.message, step: p.step, steps: p.steps };
            this.streamTail = "";
            this.streamRaw = "";
            this.postProgress(true);
          } else if (p.kind === "text") {
            this.streamRaw = (this.streamRaw + p.text).slice(-RAW_CHARS);
            this.streamTail = readableProgress(this.streamRaw).slice(-TAIL_CHARS);
            this.postProgress(false);
          } else {
            this.result = p.result;
            this.postView();
          }
        },
      });
    } catch (error) {
      if (!controller.signal.aborted) this.error = (error as Error).message;
    }
    if (this.running === controller) {
      this.running = undefined;
      // The partial result arrives through onProgress, which the compiler cannot see assign it.
      const partial = this.result as DifferentialResult | undefined;
      if (result) this.result = result;
      else if (controller.signal.aborted && partial) this.result = { ...partial, cancelled: true };
      this.postView();
    }
    this.finishedEmitter.fire(result);
    return result;
  }

  cancel(): void {
    this.running?.abort();
  }

  /** Selects a finding's words in the note's editor (looked up again if the note changed since). */
  async reveal(id: string): Promise<vscode.Selection | undefined> {
    const result = this.result;
    const document = this.document;
    if (!result || !document) return undefined;
    const finding = findingById(result, id);
    if (!finding?.range) return undefined;
    const range = relocateFinding(result.noteText, document.getText(), finding.quote, finding.range);
    if (!range) {
      void vscode.window.showWarningMessage("Bedside: that finding is no longer in the note.");
      return undefined;
    }
    const selection = new vscode.Selection(document.positionAt(range.start), document.positionAt(range.end));
    const column = this.noteEditor()?.viewColumn ?? vscode.ViewColumn.One;
    const editor = await vscode.window.showTextDocument(document, { viewColumn: column, preserveFocus: false, selection });
    editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return editor.selection;
  }

  /** Writes the differential into the note at its cursor as an ASSESSMENT section: one undo step, marked as AI text. */
  async insertAssessment(): Promise<boolean> {
    const result = this.result;
    const document = this.document;
    if (!result || !document || result.diagnoses.length === 0) {
      void vscode.window.showInformationMessage("Bedside: run a differential diagnosis first.");
      return false;
    }
    const editor = this.noteEditor() ?? (await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false }));
    const position = editor.selection.active;
    const line = document.lineAt(position.line).text;
    const text = formatAssessment(result, {
      linePrefix: line.slice(0, position.character),
      textAfter: document.offsetAt(position) < document.getText().length,
    });
    return insertAiText(editor, this.markers, text);
  }

  private noteEditor(): vscode.TextEditor | undefined {
    const uri = this.document?.uri.toString();
    return vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
  }

  private show(besideColumn?: vscode.ViewColumn): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      "bedside.differential",
      "Differential Diagnosis",
      { viewColumn: besideColumn ?? vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(this.extensionUri),
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "bedside.svg");
    showWebviewPage(panel.webview, this.extensionUri, "ddx", "Differential Diagnosis");
    panel.webview.onDidReceiveMessage((m: PanelMessage) => void this.onMessage(m), undefined, this.subscriptions);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.cancel();
    });
    this.panel = panel;
  }

  private async onMessage(message: PanelMessage): Promise<void> {
    switch (message.type) {
      case "ready":
        this.postView();
        if (this.running) this.postProgress(true);
        return;
      case "reveal":
        await this.reveal(message.id);
        return;
      case "insert":
        await this.insertAssessment();
        return;
      case "cancel":
        this.cancel();
        return;
      case "rerun":
        if (this.document) await this.run(this.document, this.panel?.viewColumn);
        return;
      case "openCitation":
        if (/^https:\/\//.test(message.url)) await vscode.env.openExternal(vscode.Uri.parse(message.url));
        return;
      case "rendered": {
        const report: RenderedReport = { diagnoses: message.diagnoses, findings: message.findings, citations: message.citations, stale: message.stale, running: message.running };
        this.lastRendered = report;
        this.renderedEmitter.fire(report);
        return;
      }
    }
  }

  /** Clicks an element of the panel (data-id) through the webview's own handlers; tests use it. */
  async clickInPanel(id: string): Promise<boolean> {
    return this.post({ type: "click", id });
  }

  view(): PanelView {
    const stale = this.result !== undefined && this.document !== undefined && isStale(this.result.noteText, this.document.getText());
    return panelView(this.result, {
      noteName: this.document ? vscode.workspace.asRelativePath(this.document.uri) : "",
      running: this.running !== undefined,
      stale,
      literature: this.citationSource !== undefined && (this.citationSource.available?.() ?? true),
      ...(this.error ? { error: this.error } : {}),
    });
  }

  private postView(): void {
    void this.post({ type: "view", view: this.view() });
  }

  private postProgress(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastProgressAt < PROGRESS_EVERY_MS) return;
    this.lastProgressAt = now;
    void this.post({ type: "progress", progress: { ...this.lastStep, tail: this.streamTail } });
  }

  private async post(message: HostMessage): Promise<boolean> {
    return this.panel ? this.panel.webview.postMessage(message) : false;
  }

  /** Closes the panel's tab (stopping a run), as the user closing it would; the panel stays usable. */
  close(): void {
    this.panel?.dispose();
  }

  dispose(): void {
    this.cancel();
    this.panel?.dispose();
    this.renderedEmitter.dispose();
    this.finishedEmitter.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
