/**
 * Token counts for a server that has no tokenize endpoint (Ollama): an estimate that errs on the high side,
 * so a prompt fitted with it never overflows the context window.
 *
 * Two bounds, the smaller one wins:
 * - a hard one: every token of a byte-level BPE or a SentencePiece vocabulary with byte fallback covers at
 *   least one UTF-8 byte, so a text never has more tokens than bytes, plus a few for BOS and SentencePiece's
 *   leading space;
 * - a calibrated one: the most tokens per byte the server has ever reported (`prompt_eval_count` /
 *   `usage.prompt_tokens` for a prompt whose size Bedside knows), with a margin.
 * Until the server has reported anything, only the hard bound holds: safe, though it wastes context.
 * Pure: no vscode, no node-llama-cpp.
 */

/** Tokens that are not in the text itself: BOS, SentencePiece's leading space, an EOS some servers add. */
export const SPECIAL_TOKENS_ALLOWANCE = 3;
/** Headroom over the densest text seen, for a text denser than any measured so far. */
export const CALIBRATION_MARGIN = 1.25;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

export class TokenEstimator {
  private tokensPerByte: number | undefined;
  private observations = 0;

  /** Records what the server said a prompt cost; prompts under 16 bytes say too little to learn from. */
  observe(prompt: string, promptTokens: number): void {
    const bytes = utf8Bytes(prompt);
    if (bytes < 16 || !(promptTokens > 0)) return;
    const ratio = Math.max(0, promptTokens - SPECIAL_TOKENS_ALLOWANCE) / bytes;
    this.observations++;
    // Only ever grows: a server that reports fewer tokens for a cached prefix must not make it optimistic.
    if (this.tokensPerByte === undefined || ratio > this.tokensPerByte) this.tokensPerByte = ratio;
  }

  get calibrated(): boolean {
    return this.tokensPerByte !== undefined;
  }

  /** What the estimate is based on, for the log and the engine view. */
  describe(): string {
    return this.tokensPerByte === undefined
      ? "one token per UTF-8 byte (not calibrated yet)"
      : `${(this.tokensPerByte * CALIBRATION_MARGIN).toFixed(3)} tokens per byte (densest of ${this.observations} prompt(s) the server counted, +${Math.round((CALIBRATION_MARGIN - 1) * 100)}%)`;
  }

  /** An upper estimate of the tokens `text` takes, special tokens included. */
  estimate(text: string): number {
    const bytes = utf8Bytes(text);
    const hard = bytes + SPECIAL_TOKENS_ALLOWANCE;
    if (this.tokensPerByte === undefined) return hard;
    return Math.min(hard, Math.ceil(bytes * this.tokensPerByte * CALIBRATION_MARGIN) + SPECIAL_TOKENS_ALLOWANCE);
  }
}
