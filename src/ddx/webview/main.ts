/**
 * The differential panel in the webview. Everything it shows (diagnosis names the model wrote, the
 * note's own words) goes into the page as text nodes, never as HTML, so a note holding markup or script
 * renders inert. Clicks go back to the host, which selects the finding in the editor.
 */
import type { HostMessage, PanelDiagnosis, PanelFinding, PanelMessage, PanelProgress, PanelView } from "../panelMessages";

interface VsCodeApi {
  postMessage(message: PanelMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById("app")!;
let view: PanelView | undefined;
let progress: PanelProgress | undefined;

const LIKELIHOOD_TEXT = { high: "High likelihood", moderate: "Moderate likelihood", low: "Low likelihood" } as const;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, className: string, id: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = el("button", className, label);
  b.type = "button";
  b.dataset.id = id;
  if (title) b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

function findingList(title: string, findings: readonly PanelFinding[], className: string): HTMLElement | undefined {
  if (findings.length === 0) return undefined;
  const section = el("section", `findings ${className}`);
  section.append(el("h3", undefined, title));
  const list = el("ul");
  for (const finding of findings) {
    const item = el("li");
    item.append(button(finding.text, "finding", finding.id, () => vscode.postMessage({ type: "reveal", id: finding.id }), "Show these words in the note"));
    list.append(item);
  }
  section.append(list);
  return section;
}

function diagnosisItem(d: PanelDiagnosis, index: number): HTMLElement {
  const item = el("li", "diagnosis");
  item.dataset.index = String(index);
  const head = el("div", "diagnosis-head");
  head.append(el("h2", "diagnosis-name", d.name), el("span", `likelihood ${d.likelihood}`, LIKELIHOOD_TEXT[d.likelihood]));
  if (d.cantMiss) head.append(el("span", "cant-miss", "Can't miss"));
  item.append(head);
  const forList = findingList("For", d.findingsFor, "for");
  const againstList = findingList("Against", d.findingsAgainst, "against");
  if (forList) item.append(forList);
  if (againstList) item.append(againstList);
  if (d.nextSteps.length > 0) {
    const section = el("section", "next-steps");
    section.append(el("h3", undefined, "Next steps"));
    const list = el("ul");
    for (const step of d.nextSteps) list.append(el("li", undefined, step));
    section.append(list);
    item.append(section);
  }
  if (d.citations.length > 0) {
    const section = el("section", "citations");
    section.append(el("h3", undefined, "Sources"));
    const list = el("ul");
    for (const c of d.citations) {
      const li = el("li");
      const id = el("span", "citation-id", c.id);
      li.append(id, document.createTextNode(" "), el("span", "citation-title", c.title));
      const url = c.url;
      if (url)
        li.append(
          document.createTextNode(" "),
          button("Open", "secondary link", `cite-${c.id}`, () => vscode.postMessage({ type: "openCitation", url })),
        );
      list.append(li);
    }
    section.append(list);
    item.append(section);
  }
  if (d.evidenceMissing) {
    const text =
      d.evidenceMissing === "pending" ? "Finding the evidence…" : d.evidenceMissing === "cancelled" ? "Cancelled before its evidence." : `No evidence: ${d.evidenceMissing}`;
    item.append(el("p", "muted evidence-missing", text));
  }
  return item;
}

function render(): void {
  app.replaceChildren();
  if (!view) {
    app.append(el("p", "muted", "Starting…"));
    return;
  }
  const header = el("header", "ddx-header");
  const title = el("div", "title");
  title.append(el("h1", undefined, "Differential diagnosis"), el("p", "muted note-name", view.noteName));
  const actions = el("div", "actions");
  if (view.running) actions.append(button("Cancel", "secondary", "cancel", () => vscode.postMessage({ type: "cancel" })));
  else actions.append(button("Run again", "secondary", "rerun", () => vscode.postMessage({ type: "rerun" })));
  const insert = button("Insert as Assessment", "primary", "insert", () => vscode.postMessage({ type: "insert" }), "Write this differential into the note at the cursor");
  insert.disabled = view.running || view.diagnoses.length === 0;
  actions.append(insert);
  header.append(title, actions);
  app.append(header);

  if (view.running) {
    const box = el("section", "progress");
    box.setAttribute("role", "status");
    const p = progress ?? { message: "Starting the model", step: 0, steps: 1, tail: "" };
    box.append(el("p", undefined, `${p.message}…`));
    const bar = el("progress");
    bar.max = Math.max(1, p.steps);
    bar.value = Math.min(p.step, p.steps);
    box.append(bar);
    if (p.tail) box.append(el("pre", "stream", p.tail));
    app.append(box);
  }
  if (view.stale) app.append(el("p", "notice stale", "The note has changed since this differential was made. Run it again to bring it up to date."));
  if (view.cancelled) app.append(el("p", "notice", "Cancelled. What was finished is shown."));
  if (view.error) app.append(el("p", "notice error", view.error));

  if (view.diagnoses.length > 0) {
    const list = el("ol", "diagnoses");
    view.diagnoses.forEach((d, i) => list.append(diagnosisItem(d, i)));
    app.append(list);
  }
  if (view.mode === "keyFindings" && view.keyFindings.length > 0) {
    const details = el("details", "key-findings");
    details.append(el("summary", undefined, `Key findings read from the note (${view.keyFindings.length})`));
    const kf = findingList("", view.keyFindings, "key");
    if (kf) details.append(kf);
    app.append(details);
  }
  const footer = el("footer", "muted");
  if (view.quoted > 0) {
    footer.append(
      el(
        "p",
        undefined,
        view.dropped > 0
          ? `${view.dropped} of ${view.quoted} findings the model quoted are not in the note and were left out.`
          : `All ${view.quoted} findings the model quoted are in the note; click one to see it.`,
      ),
    );
  }
  if (!view.literature) footer.append(el("p", undefined, "No literature in the library yet (Bedside: Import Literature): no citations."));
  footer.append(el("p", undefined, "Written by a language model on this machine. Check every item against the patient before using it."));
  app.append(footer);

  const findings = [...app.querySelectorAll<HTMLButtonElement>("button.finding")].map((b) => ({ id: b.dataset.id ?? "", text: b.textContent ?? "" }));
  const diagnoses = [...app.querySelectorAll(".diagnosis-name")].map((h) => h.textContent ?? "");
  const citations = [...app.querySelectorAll(".citation-id")].map((c) => c.textContent ?? "");
  vscode.postMessage({ type: "rendered", diagnoses, findings, citations, stale: view.stale, running: view.running });
}

function renderProgress(): void {
  const box = app.querySelector(".progress");
  if (!box || !progress) return render();
  const [message] = box.getElementsByTagName("p");
  if (message) message.textContent = `${progress.message}…`;
  const bar = box.querySelector("progress");
  if (bar) {
    bar.max = Math.max(1, progress.steps);
    bar.value = Math.min(progress.step, progress.steps);
  }
  let stream = box.querySelector("pre.stream");
  if (!stream && progress.tail) {
    stream = el("pre", "stream");
    box.append(stream);
  }
  if (stream) stream.textContent = progress.tail;
}

window.addEventListener("message", (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message.type === "view") {
    view = message.view;
    render();
  } else if (message.type === "progress") {
    progress = message.progress;
    if (view?.running) renderProgress();
  } else if (message.type === "click") {
    const target = [...app.querySelectorAll<HTMLElement>("[data-id]")].find((e) => e.dataset.id === message.id);
    target?.click();
  }
});

render();
vscode.postMessage({ type: "ready" });
