/**
 * A bounded record of recent engine requests (started, finished, how they stopped), so tests and the log can
 * see that a keystroke aborted the request in flight. Holds no prompt text. Pure.
 */
import type { Lane, StopReason } from "./protocol";

export interface RequestLogEntry {
  id: number;
  kind: "complete" | "infill" | "chat";
  lane: Lane;
  startedAt: number;
  finishedAt?: number;
  /** How it ended; "error" when it threw. */
  stopReason?: StopReason | "error";
  promptTokensEvaluated?: number;
  /** Tokens of the whole prompt as sent (before the engine fits it into the context). */
  promptTokens?: number;
}

export class RequestLog {
  private readonly entries: RequestLogEntry[] = [];
  private nextId = 1;

  constructor(private readonly capacity = 100) {}

  start(kind: RequestLogEntry["kind"], lane: Lane): RequestLogEntry {
    const entry: RequestLogEntry = { id: this.nextId++, kind, lane, startedAt: Date.now() };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    return entry;
  }

  finish(entry: RequestLogEntry, stopReason: RequestLogEntry["stopReason"], promptTokensEvaluated?: number, promptTokens?: number): void {
    entry.finishedAt = Date.now();
    entry.stopReason = stopReason;
    if (promptTokensEvaluated !== undefined) entry.promptTokensEvaluated = promptTokensEvaluated;
    if (promptTokens !== undefined) entry.promptTokens = promptTokens;
  }

  /** Oldest first; copies. */
  recent(): RequestLogEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
