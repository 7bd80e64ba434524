/**
 * Chat history per workspace: the conversations, which one is open, new / rename / delete, kept in a
 * Memento (the extension passes workspaceState, so it survives a reload and stays with the workspace).
 * Pure: the Memento is an interface here.
 */
import type { ChatTurn, ContextChip, Conversation, ConversationSummary } from "./chatTypes";

/** The part of vscode.Memento history needs. */
export interface StateStore {
  get<T>(key: string, defaultValue: T): T;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

interface StoredHistory {
  version: 1;
  currentId?: string;
  conversations: Conversation[];
}

export const HISTORY_KEY = "bedside.chat.history";
export const DEFAULT_TITLE = "New chat";
/** Older conversations beyond this are forgotten, so workspace state stays small. */
export const MAX_CONVERSATIONS = 50;
const TITLE_LENGTH = 48;

export function titleFrom(question: string): string {
  const line = question
    .replace(/@library\b/gi, "")
    .replace(/\s+/g, " ")
    .trim();
  if (line.length === 0) return DEFAULT_TITLE;
  return line.length <= TITLE_LENGTH ? line : `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

export class ChatHistory {
  private conversations: Conversation[];
  private currentId: string | undefined;
  private nextId = 0;

  constructor(
    private readonly store: StateStore,
    private readonly now: () => number = Date.now,
  ) {
    const stored = store.get<StoredHistory | undefined>(HISTORY_KEY, undefined);
    this.conversations = stored?.version === 1 && Array.isArray(stored.conversations) ? stored.conversations : [];
    this.currentId = stored?.currentId;
    // A reply being written when the window closed was cut off there.
    for (const c of this.conversations) {
      for (const t of c.turns) {
        if (t.streaming) {
          delete t.streaming;
          t.stopped = true;
        }
      }
    }
  }

  private id(prefix: string): string {
    return `${prefix}-${this.now().toString(36)}-${(this.nextId++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  }

  newTurnId(): string {
    return this.id("t");
  }

  newChipId(): string {
    return this.id("c");
  }

  list(): ConversationSummary[] {
    return [...this.conversations].sort((a, b) => b.updatedAt - a.updatedAt).map((c) => ({ id: c.id, title: c.title, updatedAt: c.updatedAt }));
  }

  get(id: string): Conversation | undefined {
    return this.conversations.find((c) => c.id === id);
  }

  /** The open conversation; an empty one is made when there is none. */
  current(): Conversation {
    const found = this.currentId ? this.get(this.currentId) : undefined;
    if (found) return found;
    const latest = this.list()[0];
    if (latest) {
      this.currentId = latest.id;
      return this.get(latest.id) as Conversation;
    }
    return this.create();
  }

  /** A new, empty conversation, made current. An empty current one is reused rather than piled up. */
  create(): Conversation {
    const open = this.currentId ? this.get(this.currentId) : undefined;
    if (open && open.turns.length === 0 && !open.named) {
      open.chips = [];
      delete open.autoChipDismissed;
      return open;
    }
    const at = this.now();
    const conversation: Conversation = { id: this.id("chat"), title: DEFAULT_TITLE, createdAt: at, updatedAt: at, turns: [], chips: [] };
    this.conversations.push(conversation);
    this.currentId = conversation.id;
    while (this.conversations.length > MAX_CONVERSATIONS) {
      const oldest = [...this.conversations].sort((a, b) => a.updatedAt - b.updatedAt)[0] as Conversation;
      this.conversations = this.conversations.filter((c) => c !== oldest);
    }
    return conversation;
  }

  select(id: string): Conversation | undefined {
    const found = this.get(id);
    if (found) this.currentId = id;
    return found;
  }

  rename(id: string, title: string): boolean {
    const found = this.get(id);
    const clean = title.replace(/\s+/g, " ").trim();
    if (!found || clean.length === 0) return false;
    found.title = clean.slice(0, 120);
    found.named = true;
    return true;
  }

  /** Deletes a conversation; the most recent other one (or a new one) becomes current. */
  delete(id: string): boolean {
    const before = this.conversations.length;
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.currentId === id) this.currentId = this.list()[0]?.id;
    return this.conversations.length < before;
  }

  addTurn(conversation: Conversation, turn: ChatTurn): void {
    conversation.turns.push(turn);
    conversation.updatedAt = this.now();
    if (turn.role === "user" && !conversation.named && conversation.turns.filter((t) => t.role === "user").length === 1) {
      conversation.title = titleFrom(turn.text);
    }
  }

  setChips(conversation: Conversation, chips: ContextChip[]): void {
    conversation.chips = chips;
  }

  async save(): Promise<void> {
    const stored: StoredHistory = { version: 1, conversations: this.conversations, ...(this.currentId ? { currentId: this.currentId } : {}) };
    await this.store.update(HISTORY_KEY, JSON.parse(JSON.stringify(stored)) as StoredHistory);
  }
}
