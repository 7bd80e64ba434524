/**
 * Coalesces streamed text into few IPC messages. A tiny model makes thousands of tokens a second; one
 * message per token would cost more than generating it. The first chunk after a quiet spell goes out at
 * once (time to first token is what a clinician feels); later ones are gathered for a short window.
 * Everything is flushed before the request's reply, so the client sees every character, in order, first.
 */
import type { TextChunk } from "../protocol";

export class TextChunkBatcher {
  private readonly pending = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly send: (chunk: TextChunk) => void,
    private readonly intervalMs = 8,
  ) {}

  push(streamId: number, text: string): void {
    if (!text) return;
    if (!this.timer) {
      this.send({ streamId, text });
      this.timer = setTimeout(() => this.flushAll(), this.intervalMs);
      return;
    }
    this.pending.set(streamId, (this.pending.get(streamId) ?? "") + text);
  }

  flushAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [streamId, text] of this.pending) this.send({ streamId, text });
    this.pending.clear();
  }
}
