/**
 * The draft view in the webview. The draft (the model's words, the template's, the note's) goes into the
 * page as text nodes only, never as HTML, so a note or a model holding markup or script renders inert.
 * Flagged facts are <mark> elements over their words; the list at the foot goes to each one, and asks the
 * host to show the note's near match. Clicks go back to the host.
 */
import { flagId, type DraftFlag, type DraftHostMessage, type DraftPanelMessage, type DraftView } from "../draftMessages";

interface VsCodeApi {
  postMessage(message: DraftPanelMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById("app")!;
let view: DraftView | undefined;

const KIND_TEXT = { number: "Number", dose: "Dose", date: "Date", word: "Word", negation: "Negation" } as const;

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

function goToFlag(index: number): void {
  const mark = [...app.querySelectorAll<HTMLElement>("mark.flag")].find((m) => m.dataset.flag === String(index));
  if (!mark) return;
  mark.scrollIntoView({ block: "center" });
  app.querySelectorAll("mark.flag.current").forEach((m) => m.classList.remove("current"));
  mark.classList.add("current");
  mark.focus();
}

function flagItem(flag: DraftFlag, index: number): HTMLElement {
  const item = el("li", `flag-item ${flag.kind}${flag.checked ? " checked" : ""}`);
  item.append(el("span", `kind ${flag.kind}`, KIND_TEXT[flag.kind]));
  item.append(button(flag.message, "link goto", `goto-${index}`, () => goToFlag(index), "Go to it in the draft"));
  const actions = el("span", "flag-actions");
  if (flag.near)
    actions.append(button("Show in note", "secondary", `near-${index}`, () => vscode.postMessage({ type: "showInNote", index }), "Select what the note says nearest to this"));
  actions.append(
    button(
      flag.checked ? "Checked ✓" : "Mark checked",
      "secondary",
      `check-${index}`,
      () => vscode.postMessage({ type: "toggleChecked", index }),
      "I have checked this against the patient's record",
    ),
  );
  item.append(actions);
  return item;
}

function render(): void {
  app.replaceChildren();
  if (!view) {
    app.append(el("p", "muted", "Starting…"));
    return;
  }
  const header = el("header", "draft-header");
  const title = el("div", "title");
  title.append(el("h1", undefined, view.title), el("p", "muted note-name", `From ${view.noteName}`));
  const actions = el("div", "actions");
  if (view.running) actions.append(button("Cancel", "secondary", "cancel", () => vscode.postMessage({ type: "cancel" })));
  else actions.append(button("Draft again", "secondary", "rerun", () => vscode.postMessage({ type: "rerun" })));
  const insert = button("Insert at Cursor", "primary", "insert", () => vscode.postMessage({ type: "insert" }), "Write this draft into the note at the cursor");
  const save = button("Save as New File", "secondary", "save", () => vscode.postMessage({ type: "save" }), "Save this draft as a new file beside the note");
  insert.disabled = save.disabled = view.running || !view.hasText;
  actions.append(insert, save);
  header.append(title, actions);
  app.append(header);

  if (view.running) {
    const box = el("section", "progress");
    box.setAttribute("role", "status");
    const step = view.step ?? { message: "Starting the model", step: 0, steps: 1 };
    box.append(el("p", undefined, `${step.message}…`));
    const bar = el("progress");
    bar.max = Math.max(1, step.steps);
    bar.value = Math.min(step.step, step.steps);
    box.append(bar);
    app.append(box);
  }
  if (view.stale) app.append(el("p", "notice stale", "The note has changed since this draft was written. Draft again to bring it up to date."));
  if (view.cancelled) app.append(el("p", "notice", "Cancelled. The fields already written are kept."));
  if (view.error) app.append(el("p", "notice error", view.error));
  for (const f of view.failed) app.append(el("p", "notice error", `${f.field}: ${f.error}`));

  const meta = el("p", "muted meta");
  if (view.audience === "patient")
    meta.append(el("span", "grade", view.grade !== undefined ? `Reading grade ${view.grade.toFixed(1)} (Flesch-Kincaid; aim for 6 to 8)` : "Reading grade: not enough text yet"));
  if (view.mode === "keyFacts")
    meta.append(el("span", undefined, `${meta.childNodes.length > 0 ? " · " : ""}The note was long: it was read section by section for its key facts first.`));
  if (meta.childNodes.length > 0) app.append(meta);

  const draft = el("article", "draft");
  draft.setAttribute("aria-label", "Draft");
  for (const run of view.runs) {
    if (run.placeholder) {
      draft.append(el("span", `placeholder ${run.state ?? ""}`, run.text));
      continue;
    }
    if (run.flag !== undefined) {
      const mark = el("mark", `flag ${view.flags[run.flag]?.kind ?? ""}${view.flags[run.flag]?.checked ? " checked" : ""}`, run.text);
      mark.dataset.flag = String(run.flag);
      mark.dataset.id = flagId(run.flag);
      mark.tabIndex = -1;
      mark.title = view.flags[run.flag]?.message ?? "";
      draft.append(mark);
      continue;
    }
    draft.append(run.field ? el("span", `field ${run.state ?? ""}`, run.text) : document.createTextNode(run.text));
  }
  app.append(draft);

  const footer = el("footer", "flags");
  if (view.flags.length > 0) {
    footer.append(el("h2", undefined, `Not in the note (${view.flags.length})`));
    const list = el("ol", "flag-list");
    view.flags.forEach((f, i) => list.append(flagItem(f, i)));
    footer.append(list);
  } else if (!view.running && view.hasText) footer.append(el("p", "all-found", "Every number, dose, date, name and allergy in this draft is in the note."));
  footer.append(el("p", "muted", "Written by a language model on this machine. Read it all against the note before it goes into the record."));
  app.append(footer);

  const marked = [...app.querySelectorAll("mark.flag")].map((m) => m.textContent ?? "");
  const text = [...draft.childNodes]
    .filter((n) => !(n instanceof HTMLElement && n.classList.contains("placeholder")))
    .map((n) => n.textContent ?? "")
    .join("");
  const grade = app.querySelector(".grade")?.textContent ?? undefined;
  vscode.postMessage({ type: "rendered", text, flags: view.flags.map((f) => ({ id: f.id, message: f.message })), marked, running: view.running, ...(grade ? { grade } : {}) });
}

window.addEventListener("message", (event: MessageEvent<DraftHostMessage>) => {
  const message = event.data;
  if (message.type === "view") {
    view = message.view;
    render();
  } else if (message.type === "click") {
    const target = [...app.querySelectorAll<HTMLElement>("[data-id]")].find((e) => e.dataset.id === message.id);
    target?.click();
  }
});

render();
vscode.postMessage({ type: "ready" });
