/**
 * What model servers stream back, read into one shape: OpenAI `/v1/completions` server-sent events (with
 * vLLM's `stop_reason` and llama-server's `timings`), llama-server's native `/infill` chunks, and Ollama's
 * `/api/generate` NDJSON lines. Pure: no vscode, no network.
 */

/** One piece of a streamed generation, whatever the server's format. */
export interface StreamPiece {
  text: string;
  finish?: "length" | "stop" | "eos";
  /** The server said whether a stop string (true) or the end of text (false) ended it. */
  stoppedWord?: boolean;
  promptTokens?: number;
  promptEvaluated?: number;
  generatedTokens?: number;
  error?: string;
}

/** OpenAI `/v1/completions` stream chunk, with vLLM's `stop_reason` and llama-server's `timings`. */
export interface CompletionChunk {
  choices?: { text?: string; finish_reason?: string | null; stop_reason?: string | number | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  timings?: { prompt_n?: number; predicted_n?: number };
  error?: { message?: string } | string;
}

/** llama-server's native `/infill` stream chunk. */
export interface LlamaNativeChunk {
  content?: string;
  stop?: boolean;
  stopped_word?: boolean;
  stopped_eos?: boolean;
  stop_type?: string;
  timings?: { prompt_n?: number; predicted_n?: number };
  tokens_evaluated?: number;
  error?: { message?: string };
}

/** Ollama's `/api/generate` stream line (docs/api.md, "Generate a completion"). */
export interface OllamaGenerateLine {
  response?: string;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

export function completionPiece(c: CompletionChunk): StreamPiece {
  const choice = c.choices?.[0];
  const f = choice?.finish_reason;
  const piece: StreamPiece = { text: choice?.text ?? "" };
  if (f === "length") piece.finish = "length";
  else if (f) piece.finish = "stop";
  // vLLM: the stop string that matched, or null (end of text) / a token id (a stop token).
  if (f && choice && "stop_reason" in choice) piece.stoppedWord = typeof choice.stop_reason === "string";
  if (c.usage?.prompt_tokens !== undefined) piece.promptTokens = c.usage.prompt_tokens;
  if (c.usage?.completion_tokens !== undefined) piece.generatedTokens = c.usage.completion_tokens;
  if (c.timings?.prompt_n !== undefined) piece.promptEvaluated = c.timings.prompt_n;
  if (c.timings?.predicted_n !== undefined && piece.generatedTokens === undefined) piece.generatedTokens = c.timings.predicted_n;
  if (c.error) piece.error = typeof c.error === "string" ? c.error : (c.error.message ?? "unknown error");
  return piece;
}

export function llamaNativePiece(c: LlamaNativeChunk): StreamPiece {
  const piece: StreamPiece = { text: c.content ?? "" };
  // Older llama-servers say stopped_eos / stopped_word; newer ones stop_type: "eos" | "word" | "limit".
  if (c.stop) piece.finish = c.stopped_eos || c.stop_type === "eos" ? "eos" : c.stop_type === "limit" ? "length" : "stop";
  if (c.stopped_word !== undefined) piece.stoppedWord = c.stopped_word;
  else if (c.stop && c.stop_type) piece.stoppedWord = c.stop_type === "word";
  if (c.timings?.predicted_n !== undefined) piece.generatedTokens = c.timings.predicted_n;
  if (c.timings?.prompt_n !== undefined) piece.promptEvaluated = c.timings.prompt_n;
  if (c.tokens_evaluated !== undefined) piece.promptTokens = c.tokens_evaluated;
  if (c.error) piece.error = c.error.message ?? "unknown error";
  return piece;
}

export function ollamaPiece(c: OllamaGenerateLine): StreamPiece {
  const piece: StreamPiece = { text: c.response ?? "" };
  if (c.done) piece.finish = c.done_reason === "length" ? "length" : "stop";
  if (c.prompt_eval_count !== undefined) piece.promptTokens = c.prompt_eval_count;
  if (c.eval_count !== undefined) piece.generatedTokens = c.eval_count;
  if (c.error) piece.error = c.error;
  return piece;
}

/** The lines of a newline-delimited JSON stream (Ollama's streaming format). */
export async function* jsonLines(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield line;
    }
  }
  if (buffer.trim()) yield buffer.trim();
}

/** The `data:` payloads of a server-sent-event stream (the OpenAI streaming format). */
export async function* serverSentEvents(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let newline;
    while ((newline = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer[newline] === "\r" ? 2 : 1));
      if (line === "") {
        if (data.length) yield data.join("\n");
        data = [];
      } else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      // event:, id:, retry: and comments carry nothing we use.
    }
  }
  if (data.length) yield data.join("\n");
}
