/**
 * "Bedside: Ask the Literature": retrieves sources from the local library, says so when none is
 * relevant (never answering from the model's memory), fits the sources into the model's context,
 * streams the answer into a webview panel and checks its citations. The vscode adapter around the
 * pure parts in answerPrompt.ts and citationCheck.ts.
 */
import * as vscode from "vscode";
import { answerSettings as readAnswerSettings, type AnswerSettings } from "../../config";
import type { Engine } from "../../engine/engine";
import type { LiteratureSearch, LiteratureSource } from "../library";
import { pubmedUrl } from "../library";
import { vancouverCitation } from "../vancouver";
import { showWebviewPage, webviewOptions } from "../../webview/webviewPanel";
import { answerSchema, buildAnswerPrompt, estimateTokens, parseAnswer, partialSentences, selectAnswerSources } from "./answerPrompt";
import type { AnswerView, HostMessage, PanelMessage, RenderedReport, SourceCard } from "./answerMessages";
import { checkCitations } from "./citationCheck";
import { checkSupport } from "./citationSupport";

export type { AnswerSettings };

export function sourceCard(source: LiteratureSource, number: number): SourceCard {
  const card: SourceCard = {
    number,
    title: source.title,
    authors: source.authors.length > 3 ? `${source.authors.slice(0, 3).join(", ")}, et al.` : source.authors.join(", "),
    passage: source.passage,
  };
  if (source.journal) card.journal = source.journal;
  if (source.year !== undefined) card.year = source.year;
  if (source.pmid) card.pmid = source.pmid;
  if (source.doi) card.doi = source.doi;
  const url = source.pmid ? pubmedUrl(source.pmid) : source.doi ? `https://doi.org/${source.doi}` : undefined;
  if (url) card.url = url;
  return card;
}

export class AnswerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private view: AnswerView | undefined;
  private sources: LiteratureSource[] = [];
  private running: AbortController | undefined;
  private readonly renderedEmitter = new vscode.EventEmitter<RenderedReport>();
  /** What the webview last drew (tests read it). */
  readonly onDidRender = this.renderedEmitter.event;
  lastRendered: RenderedReport | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private lastPost = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: Engine,
    private readonly library: LiteratureSearch,
    private readonly settings: () => AnswerSettings = readAnswerSettings,
  ) {}

  /** The state of the last question (tests read it). */
  get current(): AnswerView | undefined {
    return this.view;
  }

  /** Answers `question` in the panel; resolves when the answer is complete. */
  async ask(question: string): Promise<AnswerView> {
    this.running?.abort();
    const abort = new AbortController();
    this.running = abort;
    const settings = this.settings();
    this.show();
    this.update({ question, status: "retrieving", sources: [] }, true);
    // Hybrid ranking waits for an embedding model and every record's vector; until then BM25 ranks, and the answer says why.
    let rankingNote: string | undefined;
    try {
      rankingNote = this.library.rankingDecision?.(settings.ranking).note;
      const found = await this.library.search(question, settings.sources, { ranking: settings.ranking, passageChars: 1200 });
      const chosen = selectAnswerSources(found, settings.relevanceThreshold);
      if (chosen.length === 0) {
        this.sources = [];
        const message =
          this.library.count() === 0
            ? "Your literature library is empty. Import PubMed abstracts or guidelines first (Bedside: Import Literature…)."
            : "The library has no relevant source for this question, so Bedside does not answer it from the model's memory. Import more literature, or rephrase the question.";
        return this.update({ question, status: "noSource", sources: found.slice(0, 3).map((s, i) => sourceCard(s, i + 1)), message }, true);
      }
      const info = await this.engine.ensureReady({ signal: abort.signal });
      const answerTokens = Math.min(settings.maxAnswerTokens, Math.floor(info.contextSize / 3));
      // Fit with an estimate, then measure with the model's own tokenizer and refit until it fits.
      let scale = 1;
      let fitted = buildAnswerPrompt(question, chosen, { contextTokens: info.contextSize, answerTokens });
      for (let attempt = 0; attempt < 4 && fitted.sources.length > 0; attempt++) {
        const actual = (await this.engine.tokenize(fitted.prompt)).count;
        if (actual + answerTokens <= info.contextSize) break;
        scale *= (actual / fitted.promptTokens) * 1.05;
        const factor = scale;
        fitted = buildAnswerPrompt(question, chosen, { contextTokens: info.contextSize, answerTokens, countTokens: (t) => Math.ceil(estimateTokens(t) * factor) });
      }
      if (fitted.sources.length === 0) {
        return this.update({ question, status: "error", sources: [], message: "The model's context is too small to hold any source. Raise bedside.engine.contextSize." }, true);
      }
      this.sources = fitted.sources;
      const cards = fitted.sources.map((s, i) => sourceCard(s, i + 1));
      this.update({ question, status: "writing", sources: cards }, true);
      let streamed = "";
      const result = await this.engine.json(
        { prompt: fitted.prompt, schema: answerSchema(fitted.sources.length), asciiOnly: true, lane: "general", maxTokens: answerTokens, temperature: 0 },
        {
          signal: abort.signal,
          onText: (text) => {
            streamed += text;
            const partial = checkCitations(partialSentences(streamed), fitted.sources.length);
            this.update({ question, status: "writing", sources: cards, answer: partial }, false);
          },
        },
      );
      if (abort.signal.aborted)
        return this.update({ question, status: "cancelled", sources: cards, message: "Stopped.", ...(this.view?.answer ? { answer: this.view.answer } : {}) }, true);
      const sentences = parseAnswer(result.value) ?? partialSentences(result.text);
      // Each cited sentence against the passages the model was given (the sources as the prompt held them).
      const checked = checkSupport(
        checkCitations(sentences, fitted.sources.length),
        fitted.sources.map((s) => s.passage),
      );
      return this.update({ question, status: "done", sources: cards, answer: checked, ...(rankingNote ? { message: rankingNote } : {}) }, true);
    } catch (error) {
      if (abort.signal.aborted) return this.update({ question, status: "cancelled", sources: this.view?.sources ?? [], message: "Stopped." }, true);
      // An answer cut at the token limit keeps what was written, checked like a whole one.
      const partial = this.view?.status === "writing" ? this.view.answer : undefined;
      if (partial && partial.sentences.length > 0) {
        const checked = checkSupport(
          checkCitations(
            partial.sentences.map((s) => ({ text: s.text, citations: s.citations })),
            this.view!.sources.length,
          ),
          this.view!.sources.map((s) => s.passage),
        );
        return this.update(
          {
            question,
            status: "done",
            sources: this.view!.sources,
            answer: checked,
            message: [rankingNote, "The answer reached the token limit (bedside.literature.maxAnswerTokens) and was cut."].filter(Boolean).join(" "),
          },
          true,
        );
      }
      return this.update({ question, status: "error", sources: this.view?.sources ?? [], message: (error as Error).message }, true);
    } finally {
      if (this.running === abort) this.running = undefined;
    }
  }

  private update(view: AnswerView, force: boolean): AnswerView {
    this.view = view;
    const now = Date.now();
    if (force || now - this.lastPost > 100) {
      this.lastPost = now;
      void this.post({ type: "view", view });
    }
    return view;
  }

  private show(): void {
    if (this.panel) {
      this.panel.reveal(this.panel.viewColumn ?? vscode.ViewColumn.Beside, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      "bedside.literatureAnswer",
      "Literature Answer",
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      webviewOptions(this.extensionUri),
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "bedside.svg");
    showWebviewPage(panel.webview, this.extensionUri, "literature", "Literature Answer");
    panel.webview.onDidReceiveMessage((m: PanelMessage) => void this.onMessage(m), undefined, this.subscriptions);
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.running?.abort();
    });
    this.panel = panel;
  }

  private async onMessage(message: PanelMessage): Promise<void> {
    switch (message.type) {
      case "ready":
        if (this.view) await this.post({ type: "view", view: this.view });
        return;
      case "openUrl":
        if (/^https:\/\/(pubmed\.ncbi\.nlm\.nih\.gov|doi\.org)\//.test(message.url)) await vscode.env.openExternal(vscode.Uri.parse(message.url));
        return;
      case "copyCitation": {
        const source = this.sources[message.number - 1];
        if (source) {
          await vscode.env.clipboard.writeText(vancouverCitation(source));
          void vscode.window.setStatusBarMessage("Bedside: citation copied", 3000);
        }
        return;
      }
      case "cancel":
        this.running?.abort();
        return;
      case "rendered": {
        const { type: _type, ...report } = message;
        this.lastRendered = report;
        this.renderedEmitter.fire(report);
        return;
      }
    }
  }

  /** Clicks an element of the panel through the webview's own handlers (tests use it). */
  click(selector: string): Thenable<boolean> {
    return this.post({ type: "click", selector });
  }

  private post(message: HostMessage): Thenable<boolean> {
    return this.panel ? this.panel.webview.postMessage(message) : Promise.resolve(false);
  }

  dispose(): void {
    this.running?.abort();
    this.panel?.dispose();
    this.renderedEmitter.dispose();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
