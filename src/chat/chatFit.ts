/**
 * Fitting a conversation into the model's context window: the newest question and the note context
 * always go in; the oldest turns are dropped first (a question together with its reply), and only when
 * the question alone does not fit is the shared note text cut, in the middle. Measures with the real
 * tokenizer through a callback. Pure.
 */
import type { ChatMessage } from "../engine/protocol";
import type { ChatTurn } from "./chatTypes";
import { TRIM_MARK, type NoteContext } from "./chatPrompt";

export interface FitRequest {
  /** Earlier turns, oldest first, then the new question last. */
  turns: readonly ChatTurn[];
  contexts: readonly NoteContext[];
  /** Builds the messages for these contexts and turns (system text included). */
  build(contexts: readonly NoteContext[], turns: readonly ChatTurn[]): ChatMessage[];
  /** Tokens the built messages take in the prompt, as the engine counts them. */
  measure(messages: ChatMessage[]): Promise<number>;
  /** Prompt tokens allowed: the context size less the reply's token limit. */
  budget: number;
}

export interface FitResult {
  messages: ChatMessage[];
  promptTokens: number;
  /** Ids of earlier turns left out, oldest first. */
  droppedTurnIds: string[];
  /** Labels of context chips whose text was cut. */
  trimmedContexts: string[];
}

export class ContextTooSmallError extends Error {
  constructor(
    readonly promptTokens: number,
    readonly budget: number,
  ) {
    super(`The question alone needs ${promptTokens} tokens, more than the ${budget} the model's context leaves for it. Shorten it, or raise bedside.engine.contextSize.`);
    this.name = "ContextTooSmallError";
  }
}

/** Indexes where a kept history may start: each user turn (a reply is never kept without its question). */
function startsAt(turns: readonly ChatTurn[]): number[] {
  const starts: number[] = [];
  turns.forEach((t, i) => {
    if (t.role === "user") starts.push(i);
  });
  return starts;
}

/** Cuts text to about `keep` characters, keeping its beginning and end (a note's header and its plan). */
export function trimMiddle(text: string, keep: number): string {
  if (text.length <= keep) return text;
  const room = Math.max(0, keep - TRIM_MARK.length - 2);
  const head = Math.floor(room * 0.4);
  const tail = room - head;
  return `${text.slice(0, head)}\n${TRIM_MARK}\n${tail > 0 ? text.slice(text.length - tail) : ""}`;
}

export async function fitConversation(request: FitRequest): Promise<FitResult> {
  const { turns, build, measure, budget } = request;
  if (turns.length === 0 || turns[turns.length - 1]?.role !== "user") throw new Error("fitConversation needs the new question last");
  const starts = startsAt(turns);
  const last = starts[starts.length - 1] ?? turns.length - 1;
  const sizeFrom = async (start: number, contexts: readonly NoteContext[]): Promise<{ messages: ChatMessage[]; tokens: number }> => {
    const messages = build(contexts, turns.slice(start));
    return { messages, tokens: await measure(messages) };
  };

  // Everything fits: the common case, one measurement.
  const whole = await sizeFrom(0, request.contexts);
  if (whole.tokens <= budget) return { messages: whole.messages, promptTokens: whole.tokens, droppedTurnIds: [], trimmedContexts: [] };

  // Binary search for the earliest start that fits (later starts only shrink the prompt).
  let lo = 1;
  let hi = starts.length - 1;
  let best: { start: number; messages: ChatMessage[]; tokens: number } | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = starts[mid] as number;
    const sized = await sizeFrom(start, request.contexts);
    if (sized.tokens <= budget) {
      best = { start, ...sized };
      hi = mid - 1;
    } else lo = mid + 1;
  }
  if (best) return { messages: best.messages, promptTokens: best.tokens, droppedTurnIds: turns.slice(0, best.start).map((t) => t.id), trimmedContexts: [] };

  // The question alone is too long with the note: cut the longest context texts until it fits.
  const droppedTurnIds = turns.slice(0, last).map((t) => t.id);
  let contexts = request.contexts.map((c) => ({ ...c }));
  const trimmed = new Set<string>();
  let sized = await sizeFrom(last, contexts);
  for (let round = 0; round < 8 && sized.tokens > budget; round++) {
    const total = contexts.reduce((n, c) => n + c.text.length, 0);
    if (total === 0) break;
    const withoutContexts = await sizeFrom(
      last,
      contexts.map((c) => ({ ...c, text: "" })),
    );
    const room = budget - withoutContexts.tokens;
    if (room <= 0) {
      contexts = contexts.map((c) => ({ ...c, text: "" }));
      contexts.forEach((c) => trimmed.add(c.label));
      sized = withoutContexts;
      break;
    }
    const contextTokens = Math.max(1, sized.tokens - withoutContexts.tokens);
    // Characters per token in this text, times the room left, with a margin that grows each round.
    const keepRatio = (room / contextTokens) * (0.95 - round * 0.1);
    contexts = contexts.map((c) => {
      const keep = Math.floor(c.text.length * Math.max(0, keepRatio));
      if (keep >= c.text.length) return c;
      trimmed.add(c.label);
      return { ...c, text: keep > TRIM_MARK.length + 20 ? trimMiddle(c.text, keep) : "" };
    });
    sized = await sizeFrom(last, contexts);
  }
  if (sized.tokens > budget) throw new ContextTooSmallError(sized.tokens, budget);
  return { messages: sized.messages, promptTokens: sized.tokens, droppedTurnIds, trimmedContexts: [...trimmed] };
}
