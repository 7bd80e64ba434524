/**
 * What a chat is made of, shared by the extension side and the webview: conversations, turns, the
 * context chips the clinician can see and remove, and the messages between the view and the host.
 * Pure: no vscode, no DOM, no node-llama-cpp.
 */

/** A piece of context the clinician sees above the message box and can remove. */
export interface ContextChip {
  id: string;
  /** "note": the whole note, read when a message is sent; "selection": text captured when added. */
  kind: "note" | "selection";
  /** What the chip says: the file name, and for a selection its lines. */
  label: string;
  /** The note's URI (vscode.Uri.toString()). */
  uri: string;
  /** The selected text, for a selection chip. */
  text?: string;
  /** Added by the `bedside.chat.context` setting for the note in the editor, not by the clinician. */
  auto?: boolean;
}

/** A source the literature library gave a reply, cited as [n]. */
export interface CitedSource {
  n: number;
  id: string;
  title: string;
  year?: number;
}

export interface ChatTurn {
  id: string;
  role: "user" | "assistant";
  text: string;
  at: number;
  /** The labels of the context chips a question was asked with. */
  context?: string[];
  /** A reply the clinician stopped, or one cut off by a reload. */
  stopped?: boolean;
  /** A reply still being written. */
  streaming?: boolean;
  error?: string;
  /** Notes about how the reply was made: library missing, context trimmed. */
  notices?: string[];
  sources?: CitedSource[];
  /** Earlier turns the model did not see for this reply, because the context window was full. */
  droppedTurnIds?: string[];
}

export interface Conversation {
  id: string;
  title: string;
  /** True once the clinician named it; otherwise the first question names it. */
  named?: boolean;
  createdAt: number;
  updatedAt: number;
  turns: ChatTurn[];
  chips: ContextChip[];
  /** The clinician removed the automatic note chip; do not add it again in this chat. */
  autoChipDismissed?: boolean;
}

export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
}

/** Everything the view shows; sent whole whenever something other than streamed text changes. */
export interface ChatViewState {
  conversations: ConversationSummary[];
  current: Conversation;
  /** Chips shown for the next message (the chat's own, plus the automatic note chip). */
  chips: ContextChip[];
  busy: boolean;
  /** Turns the model did not see in the last reply (shown dimmed). */
  outOfContext: string[];
  /** One line about the model: name and prompt format, or why there is none. */
  modelLine: string;
}

export type HostToView = { type: "state"; state: ChatViewState } | { type: "delta"; turnId: string; text: string } | { type: "focusInput" };

export type ViewToHost =
  | { type: "ready" }
  | { type: "send"; text: string }
  | { type: "stop" }
  | { type: "newChat" }
  | { type: "selectChat"; id: string }
  | { type: "renameChat" }
  | { type: "deleteChat" }
  | { type: "addNote" }
  | { type: "addSelection" }
  | { type: "removeChip"; id: string }
  | { type: "copy"; turnId: string }
  | { type: "insert"; turnId: string };

const VIEW_TO_HOST_TYPES = new Set<ViewToHost["type"]>([
  "ready",
  "send",
  "stop",
  "newChat",
  "selectChat",
  "renameChat",
  "deleteChat",
  "addNote",
  "addSelection",
  "removeChip",
  "copy",
  "insert",
]);

/** Checks a message from the webview before the host acts on it: the page is not trusted. */
export function parseViewMessage(value: unknown): ViewToHost | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const m = value as Record<string, unknown>;
  if (typeof m.type !== "string" || !VIEW_TO_HOST_TYPES.has(m.type as ViewToHost["type"])) return undefined;
  switch (m.type) {
    case "send":
      return typeof m.text === "string" ? { type: "send", text: m.text } : undefined;
    case "selectChat":
      return typeof m.id === "string" ? { type: "selectChat", id: m.id } : undefined;
    case "removeChip":
      return typeof m.id === "string" ? { type: "removeChip", id: m.id } : undefined;
    case "copy":
    case "insert":
      return typeof m.turnId === "string" ? { type: m.type, turnId: m.turnId } : undefined;
    default:
      return { type: m.type as Exclude<ViewToHost["type"], "send" | "selectChat" | "removeChip" | "copy" | "insert"> };
  }
}
