/**
 * The chat view's page (runs in the webview sandbox, bundled to media/webview/chat.js). Everything it
 * shows arrives by postMessage; model output goes through the sanitising markdown renderer, everything
 * else (questions, chip labels, titles) into text nodes. Links never navigate.
 */
import { renderMarkdown } from "../../webview/browser/markdown";
import type { ChatTurn, ChatViewState, ContextChip, HostToView, ViewToHost } from "../chatTypes";

interface VsCodeApi {
  postMessage(message: ViewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const send = (message: ViewToHost): void => vscode.postMessage(message);

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; attrs?: Record<string, string> } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const child of children) node.appendChild(child);
  return node;
}

function button(label: string, onClick: () => void, options: { className?: string; title?: string; ariaLabel?: string } = {}): HTMLButtonElement {
  const b = el("button", {
    text: label,
    ...(options.className ? { className: options.className } : {}),
    attrs: { type: "button", ...(options.title ? { title: options.title } : {}), ...(options.ariaLabel ? { "aria-label": options.ariaLabel } : {}) },
  });
  b.addEventListener("click", onClick);
  return b;
}

// The page's fixed parts.
const app = document.getElementById("app") as HTMLElement;
app.removeAttribute("aria-live");
const conversationSelect = el("select", { attrs: { "aria-label": "Chat", id: "chat-select" } });
conversationSelect.addEventListener("change", () => send({ type: "selectChat", id: conversationSelect.value }));
const header = el(
  "header",
  { className: "chat-bar" },
  conversationSelect,
  button("New", () => send({ type: "newChat" }), { className: "secondary", title: "New chat", ariaLabel: "New chat" }),
  button("Rename", () => send({ type: "renameChat" }), { className: "secondary", title: "Rename this chat", ariaLabel: "Rename chat" }),
  button("Delete", () => send({ type: "deleteChat" }), { className: "secondary", title: "Delete this chat", ariaLabel: "Delete chat" }),
);
const modelLine = el("div", { className: "model-line muted" });
const log = el("section", { className: "log", attrs: { role: "log", "aria-label": "Conversation", "aria-live": "polite", tabindex: "0" } });
const empty = el("p", {
  className: "empty muted",
  text: "Ask about the note, rephrase a paragraph for a patient letter, or draft a plan. Add @library to cite your literature library.",
});
const chips = el("ul", { className: "chips", attrs: { "aria-label": "Context sent with your message" } });
const chipActions = el(
  "div",
  { className: "chip-actions" },
  button("+ Note", () => send({ type: "addNote" }), { className: "link", title: "Send the current note with your messages", ariaLabel: "Add the current note as context" }),
  button("+ Selection", () => send({ type: "addSelection" }), { className: "link", title: "Send the selected text with your messages", ariaLabel: "Add the selection as context" }),
);
const input = el("textarea", { attrs: { rows: "3", "aria-label": "Message", placeholder: "Ask about the note… (Enter to send, Shift+Enter for a new line)" } });
const sendButton = button("Send", () => submit(), { title: "Send (Enter)" });
const stopButton = button("Stop", () => send({ type: "stop" }), { className: "stop", title: "Stop the reply (Escape)" });
stopButton.hidden = true;
const composer = el(
  "footer",
  { className: "composer" },
  el("div", { className: "context-row" }, chips, chipActions),
  input,
  el("div", { className: "send-row" }, sendButton, stopButton),
);
app.append(header, modelLine, log, composer);

let state: ChatViewState | undefined;
let shownChat: string | undefined;
let shownTurns = -1;
/** Streamed text per turn, ahead of the next full state. */
const streamed = new Map<string, string>();
const renderQueued = new Set<string>();

function submit(): void {
  const text = input.value;
  if (!text.trim() || state?.busy) return;
  send({ type: "send", text });
  input.value = "";
}

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  } else if (event.key === "Escape" && state?.busy) {
    event.preventDefault();
    send({ type: "stop" });
  }
});

// Links in replies are shown, never followed inside the webview.
document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target.closest("a") : null;
  if (target) event.preventDefault();
});

function chipItem(chip: ContextChip): HTMLLIElement {
  const label = `${chip.kind === "note" ? "Note" : "Selection"}: ${chip.label}${chip.auto ? " (current note)" : ""}`;
  return el(
    "li",
    { className: `chip ${chip.kind}${chip.auto ? " auto" : ""}`, attrs: { title: chip.kind === "selection" ? (chip.text ?? "").slice(0, 400) : chip.label } },
    el("span", { className: "chip-label", text: label }),
    button("×", () => send({ type: "removeChip", id: chip.id }), { className: "chip-remove", ariaLabel: `Remove ${label}`, title: "Remove" }),
  );
}

function renderReplyBody(body: HTMLElement, text: string, streaming: boolean): void {
  body.innerHTML = renderMarkdown(text);
  if (streaming) body.appendChild(el("span", { className: "cursor", attrs: { "aria-hidden": "true" } }));
}

function turnElement(turn: ChatTurn, outOfContext: boolean): HTMLElement {
  const article = el("article", {
    className: `turn ${turn.role}${outOfContext ? " out-of-context" : ""}${turn.stopped ? " stopped" : ""}`,
    attrs: { "data-turn-id": turn.id, "aria-label": turn.role === "user" ? "You" : "Bedside" },
  });
  article.appendChild(el("div", { className: "who", text: turn.role === "user" ? "You" : "Bedside" }));
  if (outOfContext) article.appendChild(el("div", { className: "tag muted", text: "Left out of the model's context for the last reply" }));
  if (turn.role === "user") {
    article.appendChild(el("div", { className: "body user-text", text: turn.text }));
    if (turn.context?.length) article.appendChild(el("div", { className: "context-used muted", text: `With ${turn.context.join(", ")}` }));
    return article;
  }
  for (const notice of turn.notices ?? []) article.appendChild(el("div", { className: "notice", text: notice }));
  const body = el("div", { className: "body markdown", attrs: { "aria-busy": turn.streaming ? "true" : "false" } });
  renderReplyBody(body, turn.streaming ? (streamed.get(turn.id) ?? turn.text) : turn.text, !!turn.streaming);
  article.appendChild(body);
  if (turn.sources?.length) {
    const list = el("ol", { className: "sources", attrs: { "aria-label": "Sources" } });
    for (const s of turn.sources) list.appendChild(el("li", { text: `[${s.n}] ${s.title}${s.year ? ` (${s.year})` : ""}${/^\d+$/.test(s.id) ? `, PMID ${s.id}` : ""}` }));
    article.appendChild(list);
  }
  if (turn.error) article.appendChild(el("div", { className: "error", attrs: { role: "alert" }, text: turn.error }));
  if (turn.stopped) article.appendChild(el("div", { className: "tag muted stopped-tag", text: "Stopped" }));
  if (!turn.streaming && turn.text) {
    article.appendChild(
      el(
        "div",
        { className: "actions" },
        button("Copy", () => send({ type: "copy", turnId: turn.id }), { className: "secondary", ariaLabel: "Copy this reply" }),
        button("Insert into note", () => send({ type: "insert", turnId: turn.id }), { className: "secondary", ariaLabel: "Insert this reply into the note at the cursor" }),
      ),
    );
  }
  return article;
}

function render(): void {
  if (!state) return;
  const s = state;
  conversationSelect.replaceChildren(
    ...s.conversations.map((c) => {
      const option = el("option", { text: c.title, attrs: { value: c.id } });
      option.selected = c.id === s.current.id;
      return option;
    }),
  );
  if (!s.conversations.some((c) => c.id === s.current.id)) conversationSelect.appendChild(el("option", { text: s.current.title, attrs: { value: s.current.id, selected: "" } }));
  modelLine.textContent = s.modelLine;
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  // A new turn, another chat, or the first state after loading: show the newest turn.
  const newTurns = s.current.id !== shownChat || s.current.turns.length !== shownTurns;
  shownChat = s.current.id;
  shownTurns = s.current.turns.length;
  const outOfContext = new Set(s.outOfContext);
  log.replaceChildren(...(s.current.turns.length === 0 ? [empty] : s.current.turns.map((t) => turnElement(t, outOfContext.has(t.id)))));
  for (const t of s.current.turns) if (!t.streaming) streamed.delete(t.id);
  if (atBottom || newTurns) log.scrollTop = log.scrollHeight;
  chips.replaceChildren(...s.chips.map(chipItem));
  chips.hidden = s.chips.length === 0;
  sendButton.hidden = s.busy;
  stopButton.hidden = !s.busy;
}

function renderStreamed(turnId: string): void {
  renderQueued.delete(turnId);
  // The full state may have arrived since this was queued; a finished turn is already drawn from it.
  if (!state?.current.turns.some((t) => t.id === turnId && t.streaming)) return;
  const body = log.querySelector<HTMLElement>(`article[data-turn-id="${CSS.escape(turnId)}"] .body`);
  if (!body) return;
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  renderReplyBody(body, streamed.get(turnId) ?? "", true);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

window.addEventListener("message", (event: MessageEvent<HostToView>) => {
  const message = event.data;
  if (!message || typeof message !== "object") return;
  switch (message.type) {
    case "state": {
      const wasBusy = state?.busy;
      state = message.state;
      for (const t of state.current.turns) if (t.streaming && !streamed.has(t.id)) streamed.set(t.id, t.text);
      render();
      if (wasBusy && !state.busy && document.activeElement === document.body) input.focus();
      break;
    }
    case "delta": {
      streamed.set(message.turnId, (streamed.get(message.turnId) ?? "") + message.text);
      if (!renderQueued.has(message.turnId)) {
        renderQueued.add(message.turnId);
        requestAnimationFrame(() => renderStreamed(message.turnId));
      }
      break;
    }
    case "focusInput":
      input.focus();
      break;
  }
});

send({ type: "ready" });
