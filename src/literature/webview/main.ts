/**
 * The literature answer panel in the webview: the answer, sentence by sentence, with numbered
 * citations linking to source cards (title, journal, year, PMID link, the passage used). Model text
 * goes through the sanitising markdown renderer; titles and passages go in as text nodes.
 */
import { renderMarkdown } from "../../webview/browser/markdown";
import type { AnswerView, HostMessage, PanelMessage, SourceCard } from "../qa/answerMessages";

interface VsCodeApi {
  postMessage(message: PanelMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById("app")!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One sentence as inline HTML: sanitised markdown without its paragraph wrapper. */
function inlineMarkdown(text: string): string {
  const html = renderMarkdown(text).trim();
  return html.replace(/^<p>/, "").replace(/<\/p>$/, "");
}

function card(source: SourceCard): HTMLElement {
  const item = el("li", "source-card");
  item.id = `source-${source.number}`;
  const head = el("div", "source-head");
  head.append(el("span", "source-number", `[${source.number}]`), el("span", "source-title", source.title || "(untitled)"));
  const facts = el("div", "source-facts muted");
  facts.textContent = [source.authors, source.journal, source.year].filter(Boolean).join(" · ");
  if (source.pmid || source.url) {
    const link = el("a", "source-link", source.pmid ? `PMID ${source.pmid}` : "DOI");
    link.href = "#";
    link.dataset.url = source.url ?? "";
    link.title = "Open in the browser";
    link.addEventListener("click", (event) => {
      event.preventDefault();
      if (source.url) vscode.postMessage({ type: "openUrl", url: source.url });
    });
    facts.append(" · ", link);
  }
  const copy = el("button", "secondary copy", "Copy citation");
  copy.type = "button";
  copy.addEventListener("click", () => vscode.postMessage({ type: "copyCitation", number: source.number }));
  const passage = el("blockquote", "source-passage", source.passage);
  item.append(head, facts, passage, copy);
  return item;
}

function render(view: AnswerView): void {
  app.replaceChildren();
  app.append(el("h2", "question", view.question));
  const status = el("p", `status muted status-${view.status}`);
  status.textContent =
    view.status === "retrieving"
      ? "Searching your library…"
      : view.status === "writing"
        ? "Writing from the sources below…"
        : view.status === "done"
          ? `Answer from ${view.sources.length} source${view.sources.length === 1 ? "" : "s"} in your library.${view.message ? ` ${view.message}` : ""}`
          : (view.message ?? "");
  if (view.status === "noSource" || view.status === "error") status.className = `status ${view.status === "error" ? "error" : "warning"}`;
  app.append(status);
  if (view.status === "writing") {
    const cancel = el("button", "secondary", "Stop");
    cancel.type = "button";
    cancel.addEventListener("click", () => vscode.postMessage({ type: "cancel" }));
    app.append(cancel);
  }

  const cited = new Set<number>();
  let uncited = 0;
  let unsupported = 0;
  if (view.answer) {
    const answer = el("div", "answer");
    const paragraph = el("p");
    for (const sentence of view.answer.sentences) {
      const doubtful = view.status === "done" && !sentence.uncited && sentence.unsupported !== undefined;
      const span = el("span", sentence.uncited || doubtful ? "sentence uncited" : "sentence");
      span.innerHTML = inlineMarkdown(sentence.text);
      if (sentence.uncited && view.status === "done") {
        uncited++;
        span.title = "No source cited for this sentence: check it yourself.";
        span.append(el("sup", "no-citation", "no source"));
      } else if (doubtful) {
        unsupported++;
        span.title =
          sentence.unsupported === "numbers"
            ? "A number in this sentence is not in the source it cites: check it yourself."
            : sentence.unsupported === "otherSource"
              ? "Another retrieved source matches this sentence better than the one cited: check it yourself."
              : "The cited source may not support this sentence: check it yourself.";
        span.append(el("sup", "no-citation", "source may not support this"));
      }
      for (const n of sentence.citations) {
        cited.add(n);
        const link = el("a", "citation", `[${n}]`);
        link.href = `#source-${n}`;
        link.dataset.citation = String(n);
        link.addEventListener("click", (event) => {
          event.preventDefault();
          const target = document.getElementById(`source-${n}`);
          target?.scrollIntoView({ block: "nearest" });
          target?.classList.add("highlight");
          setTimeout(() => target?.classList.remove("highlight"), 1500);
        });
        span.append(" ", link);
      }
      paragraph.append(span, " ");
    }
    answer.append(paragraph);
    if (view.status === "done" && view.answer.dropped.length > 0) {
      answer.append(
        el(
          "p",
          "muted",
          `Removed citation${view.answer.dropped.length === 1 ? "" : "s"} to source${view.answer.dropped.length === 1 ? "" : "s"} not retrieved: ${view.answer.dropped.map((n) => `[${n}]`).join(", ")}.`,
        ),
      );
    }
    app.append(answer);
  }
  if (view.sources.length > 0) {
    app.append(el("h3", "sources-title", "Sources"));
    const list = el("ol", "sources");
    for (const source of view.sources) list.append(card(source));
    app.append(list);
  }
  vscode.postMessage({
    type: "rendered",
    status: view.status,
    citedNumbers: [...cited].sort((a, b) => a - b),
    cardPmids: view.sources.map((s) => s.pmid ?? ""),
    uncitedSentences: uncited,
    unsupportedSentences: unsupported,
    sentences: view.answer?.sentences.length ?? 0,
  });
}

window.addEventListener("message", (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message.type === "view") render(message.view);
  else if (message.type === "click") (document.querySelector(message.selector) as HTMLElement | null)?.click();
});
vscode.postMessage({ type: "ready" });
