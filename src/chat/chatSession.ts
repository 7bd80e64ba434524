/**
 * One chat view's conversation logic, without vscode: sending a question with its context, fitting it
 * into the context window, streaming the reply to the view, stopping it, and keeping the history.
 * The vscode adapter (chatView.ts) supplies the note text, the editor and the webview.
 */
import type { ChatSettings } from "../config/sections";
import type { Engine } from "../engine/engine";
import { EngineError } from "../engine/engine";
import type { ChatMessage, GenerationResult, ModelInfo } from "../engine/protocol";
import { ChatHistory } from "./chatHistory";
import { chatMessages, cleanReply, fewShotPrompt, systemText, type NoteContext } from "./chatPrompt";
import { ContextTooSmallError, fitConversation } from "./chatFit";
import type { ChatTurn, ChatViewState, ContextChip, Conversation, HostToView } from "./chatTypes";
import type { LiteratureSearch } from "../literature/library";
import { EMPTY_LIBRARY_NOTICE, libraryPassages, NO_LIBRARY_NOTICE, parseLibraryMention, type LiteraturePassage } from "./literatureSource";

export type { ChatSettings };

export interface ChatSessionParts {
  engine: Engine;
  history: ChatHistory;
  /** The text behind the chips, read now (a note chip reads the note as it is at send time). */
  readContexts(chips: readonly ContextChip[]): Promise<NoteContext[]>;
  /** The chip the `bedside.chat.context` setting adds for the note in the editor, if any. */
  autoChip(): ContextChip | undefined;
  /** The literature library `@library` searches; undefined: none. */
  library(): LiteratureSearch | undefined;
  settings(): ChatSettings;
  post(message: HostToView): void;
}

/** Tokens kept free besides the reply: the BOS token and rounding in the template. */
const SAFETY_TOKENS = 8;
/** Streamed text is sent to the view at most this often. */
const DELTA_INTERVAL_MS = 40;

export interface ReplyOutcome {
  turn: ChatTurn;
  result?: GenerationResult;
}

export class ChatSession {
  private running: { controller: AbortController; turn: ChatTurn; done: Promise<ReplyOutcome> } | undefined;
  private outOfContext: string[] = [];

  constructor(private readonly parts: ChatSessionParts) {}

  get history(): ChatHistory {
    return this.parts.history;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** The chips the next message goes with: the chat's own, plus the automatic note chip unless dismissed. */
  chips(conversation: Conversation = this.history.current()): ContextChip[] {
    const auto = conversation.autoChipDismissed ? undefined : this.parts.autoChip();
    const own = conversation.chips;
    if (!auto || own.some((c) => c.kind === "note" && c.uri === auto.uri)) return own;
    return [auto, ...own];
  }

  state(): ChatViewState {
    const current = this.history.current();
    return {
      conversations: this.history.list(),
      current,
      chips: this.chips(current),
      busy: this.busy,
      outOfContext: this.outOfContext,
      modelLine: modelLine(this.parts.engine),
    };
  }

  publish(): void {
    this.parts.post({ type: "state", state: this.state() });
  }

  private async changed(): Promise<void> {
    this.publish();
    await this.history.save();
  }

  async newChat(): Promise<void> {
    await this.stop();
    this.history.create();
    this.outOfContext = [];
    await this.changed();
  }

  async select(id: string): Promise<void> {
    if (this.history.current().id === id) return;
    await this.stop();
    this.history.select(id);
    this.outOfContext = [];
    await this.changed();
  }

  async rename(id: string, title: string): Promise<boolean> {
    const ok = this.history.rename(id, title);
    if (ok) await this.changed();
    return ok;
  }

  async delete(id: string): Promise<boolean> {
    if (this.running && this.history.current().id === id) await this.stop();
    const ok = this.history.delete(id);
    if (ok) {
      this.outOfContext = [];
      await this.changed();
    }
    return ok;
  }

  async addChip(chip: Omit<ContextChip, "id">): Promise<ContextChip> {
    const conversation = this.history.current();
    const same = conversation.chips.find((c) => c.kind === chip.kind && c.uri === chip.uri && c.text === chip.text);
    if (same) return same;
    const added: ContextChip = { ...chip, id: this.history.newChipId() };
    this.history.setChips(conversation, [...conversation.chips, added]);
    await this.changed();
    return added;
  }

  async removeChip(id: string): Promise<void> {
    const conversation = this.history.current();
    const auto = this.parts.autoChip();
    if (auto && auto.id === id) conversation.autoChipDismissed = true;
    else
      this.history.setChips(
        conversation,
        conversation.chips.filter((c) => c.id !== id),
      );
    await this.changed();
  }

  /** Called when the editor or the setting changes what the automatic chip shows. */
  contextChanged(): void {
    this.publish();
  }

  turn(id: string): ChatTurn | undefined {
    for (const summary of this.history.list()) {
      const found = this.history.get(summary.id)?.turns.find((t) => t.id === id);
      if (found) return found;
    }
    return undefined;
  }

  /** Stops the reply being written, keeping what it has so far; resolves when it has ended. */
  async stop(): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.controller.abort();
    await running.done.catch(() => undefined);
  }

  /** Asks the question; resolves when the reply has ended (finished, stopped or failed). */
  async send(text: string): Promise<ReplyOutcome | undefined> {
    const question = text.trim();
    if (question.length === 0) return undefined;
    await this.stop();
    const conversation = this.history.current();
    const chips = this.chips(conversation);
    const earlier = conversation.turns.filter((t) => !t.streaming);
    const userTurn: ChatTurn = { id: this.history.newTurnId(), role: "user", text: question, at: Date.now(), ...(chips.length > 0 ? { context: chips.map((c) => c.label) } : {}) };
    this.history.addTurn(conversation, userTurn);
    const reply: ChatTurn = { id: this.history.newTurnId(), role: "assistant", text: "", at: Date.now(), streaming: true };
    this.history.addTurn(conversation, reply);
    const controller = new AbortController();
    const done = this.reply([...earlier, userTurn], chips, reply, controller.signal);
    this.running = { controller, turn: reply, done };
    await this.changed();
    try {
      return await done;
    } finally {
      if (this.running?.turn === reply) this.running = undefined;
      await this.changed();
    }
  }

  private async reply(turns: ChatTurn[], chips: ContextChip[], reply: ChatTurn, signal: AbortSignal): Promise<ReplyOutcome> {
    const { engine } = this.parts;
    const settings = this.parts.settings();
    const notices: string[] = [];
    let pending = "";
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      flushTimer = undefined;
      if (!pending) return;
      this.parts.post({ type: "delta", turnId: reply.id, text: pending });
      pending = "";
    };
    try {
      const info = await engine.ensureReady({ signal });
      const contexts = await this.parts.readContexts(chips);
      const question = turns[turns.length - 1] as ChatTurn;
      const { wantsLibrary, question: libraryQuestion } = parseLibraryMention(question.text);
      let passages: LiteraturePassage[] = [];
      if (wantsLibrary) {
        const library = this.parts.library();
        if (!library) notices.push(NO_LIBRARY_NOTICE);
        else {
          passages = await libraryPassages(library, libraryQuestion, settings.libraryPassages, settings.libraryRelevance);
          if (passages.length === 0) notices.push(EMPTY_LIBRARY_NOTICE);
          else reply.sources = passages.map((p, i) => ({ n: i + 1, id: p.id, title: p.title, ...(p.year ? { year: p.year } : {}) }));
        }
      }
      let templated = Boolean(info.chatTemplate && engine.chat && engine.chatPromptSize);
      // An engine that cannot format chats after all (a remote server without the call) gets the transcript.
      if (templated)
        await engine.chatPromptSize!([{ role: "user", text: "" }]).catch((e: unknown) => {
          if (e instanceof EngineError && e.kind === "unsupported") templated = false;
          else throw e;
        });
      const budget = info.contextSize - settings.maxTokens - SAFETY_TOKENS;
      // Turns as the model sees them: the @library mention is for Bedside, not the model.
      const modelTurns = turns.map((t, i) => (i === turns.length - 1 && wantsLibrary ? { ...t, text: libraryQuestion || t.text } : t));
      const fit = await fitConversation({
        turns: modelTurns,
        contexts,
        budget,
        build: (ctx, ts) => chatMessages(systemText(ctx, passages), ts),
        measure: async (messages: ChatMessage[]) =>
          templated ? (await engine.chatPromptSize!(messages)).tokens : (await engine.tokenize(fewShotPrompt(messages).prompt)).count + 1,
      });
      this.outOfContext = fit.droppedTurnIds;
      if (fit.droppedTurnIds.length > 0) {
        reply.droppedTurnIds = fit.droppedTurnIds;
        notices.push(
          `${fit.droppedTurnIds.length} earlier message${fit.droppedTurnIds.length === 1 ? " was" : "s were"} left out to fit the model's context (${info.contextSize} tokens).`,
        );
      }
      if (fit.trimmedContexts.length > 0) notices.push(`Part of ${fit.trimmedContexts.join(", ")} was left out to fit the model's context.`);
      if (notices.length > 0) reply.notices = notices;
      this.publish();

      const limits = { maxTokens: settings.maxTokens, temperature: settings.temperature, lane: "general" as const };
      const onText = (chunk: string): void => {
        reply.text += chunk;
        pending += chunk;
        flushTimer ??= setTimeout(flush, DELTA_INTERVAL_MS);
      };
      let result: GenerationResult;
      if (templated) {
        result = await engine.chat!({ messages: fit.messages, ...limits }, { signal, onText });
      } else {
        const { prompt, stop } = fewShotPrompt(fit.messages);
        result = await engine.complete({ prompt, stop, ...limits }, { signal, onText });
      }
      clearTimeout(flushTimer);
      flush();
      reply.text = cleanReply(result.text);
      if (result.stopReason === "aborted" || signal.aborted) reply.stopped = true;
      return { turn: reply, result };
    } catch (error) {
      clearTimeout(flushTimer);
      if (signal.aborted || (error instanceof EngineError && error.kind === "cancelled")) {
        reply.stopped = true;
        reply.text = cleanReply(reply.text);
      } else {
        reply.error = error instanceof EngineError || error instanceof ContextTooSmallError ? error.message : `The reply failed: ${(error as Error).message}`;
      }
      return { turn: reply };
    } finally {
      delete reply.streaming;
      if (notices.length > 0) reply.notices = notices;
    }
  }

  dispose(): void {
    this.running?.controller.abort();
  }
}

export function modelLine(engine: Engine): string {
  const state = engine.state;
  const describe = (info: ModelInfo): string => {
    const name = info.name ?? info.path.split(/[\\/]/).pop() ?? "model";
    return `${name} · ${info.chatTemplate ? "its chat template" : "User/Assistant prompt"} · ${info.contextSize} tokens`;
  };
  switch (state.kind) {
    case "ready":
    case "busy":
      return describe(state.info);
    case "noModel":
      return 'No model yet: run "Bedside: Choose Model File…".';
    case "idle":
      return "The model loads with the first question.";
    case "loading":
      return "Loading the model…";
    case "restarting":
      return state.reason;
    case "error":
      return state.message;
  }
}
