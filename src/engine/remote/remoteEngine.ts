/**
 * The remote engine: the same `Engine` every feature uses, backed by an OpenAI-compatible server a team
 * already runs (llama.cpp's llama-server, vLLM, Ollama). `/v1/completions` for completion and JSON,
 * `/v1/embeddings`, streamed as server-sent events; llama.cpp's `/infill` and `/tokenize` where the server
 * has them. Timeouts and cancellation on every request. Plain Node (global fetch): no vscode, no
 * node-llama-cpp, so tests drive it exactly as the extension does.
 */
import { Emitter } from "vscode-jsonrpc";
import type { CompletionRequest, Engine, EngineState, InfillRequest, JsonRequest, RequestOptions } from "../engine";
import { abortedResult, EngineError } from "../engine";
import type { EmbedResult, GenerationLimits, GenerationResult, JsonResult, ModelInfo, StopReason, TokenizeResult } from "../protocol";
import type { Log } from "../../log/log";

export interface RemoteEngineOptions {
  /** The server's base URL, e.g. `http://gpu-server:8080` (a trailing `/v1` is fine). */
  endpoint: string;
  /** Read at every request, so a key changed in SecretStorage applies at once. */
  apiKey?: () => Promise<string | undefined>;
  /** The model name sent to servers that host several; default: the first one /v1/models lists. */
  model?: string;
  /** A request that has not finished after this long is cancelled with a clear error. */
  timeoutMs?: number;
  log?: Log;
}

interface CompletionChunk {
  choices?: { text?: string; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  timings?: { prompt_n?: number; predicted_n?: number };
  error?: { message?: string };
}

/** The connection was closed or reset under the request (undici's "other side closed"), not refused. */
function isDroppedConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

export class RemoteEngine implements Engine {
  private readonly stateEmitter = new Emitter<EngineState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private currentState: EngineState = { kind: "noModel" };
  private readonly base: string;
  private info: ModelInfo | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private activeRequests = 0;
  private readonly inFlight = new Set<AbortController>();
  private disposed = false;

  constructor(private readonly options: RemoteEngineOptions) {
    this.base = options.endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.setState({ kind: "idle", modelPath: this.base });
  }

  get state(): EngineState {
    return this.currentState;
  }

  get endpoint(): string {
    return this.base;
  }

  private setState(state: EngineState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 120_000;
  }

  /** fetch with the API key, a timeout and the caller's signal; errors become EngineErrors that say what to do. */
  private async request(path: string, body: unknown, signal: AbortSignal | undefined, method = "POST"): Promise<{ response: Response; controller: AbortController; done: () => void }> {
    if (this.disposed) throw new EngineError("disposed", "Bedside's engine was shut down.");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new EngineError("failed", `The model server at ${this.base} did not finish within ${Math.round(this.timeoutMs / 1000)} s. Check that it is running and not overloaded, or raise "bedside.engine.timeoutSeconds".`)), this.timeoutMs);
    const onAbort = (): void => controller.abort(new EngineError("cancelled", "The request was cancelled."));
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.inFlight.add(controller);
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.inFlight.delete(controller);
    };
    const headers: Record<string, string> = { accept: "application/json, text/event-stream" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const key = await this.options.apiKey?.();
    if (key) headers.authorization = `Bearer ${key}`;
    try {
      const send = (): Promise<Response> => fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: controller.signal });
      // A server may close an idle kept-alive connection just as a request goes out on it: that request never
      // reached it, so it is sent once more on a fresh connection (a refused connection is not retried).
      const response = await send().catch((error: unknown) => {
        if (controller.signal.aborted || !isDroppedConnection(error)) throw error;
        return send();
      });
      if (!response.ok) {
        const text = await response.text().catch(() => "");
        done();
        throw this.httpError(path, response.status, text);
      }
      return { response, controller, done };
    } catch (error) {
      done();
      if (error instanceof EngineError) throw error;
      if (controller.signal.aborted && controller.signal.reason instanceof EngineError) throw controller.signal.reason;
      throw new EngineError("failed", `Cannot reach the model server at ${this.base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}. Check "bedside.engine.endpoint" and that the server is running.`);
    }
  }

  private httpError(path: string, status: number, body: string): EngineError {
    let detail = body.slice(0, 300);
    try {
      const parsed = JSON.parse(body) as { error?: { message?: string } | string };
      detail = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? detail);
    } catch {
      /* not JSON */
    }
    if (status === 401 || status === 403) return new EngineError("failed", `The model server refused the API key (HTTP ${status}). Run "Bedside: Set Server API Key".`);
    if (status === 404 || status === 501) return new EngineError("unsupported", `The model server has no ${path} (HTTP ${status}).`);
    return new EngineError("failed", `The model server answered HTTP ${status} to ${path}: ${detail}`);
  }

  ensureReady(options: { signal?: AbortSignal } = {}): Promise<ModelInfo> {
    if (this.info) return Promise.resolve(this.info);
    this.ready ??= this.connect(options.signal).then(
      (info) => {
        this.info = info;
        this.setState({ kind: "ready", info });
        return info;
      },
      (error: unknown) => {
        this.ready = undefined;
        this.setState({ kind: "error", message: (error as Error).message });
        throw error;
      },
    );
    return this.ready;
  }

  private async connect(signal: AbortSignal | undefined): Promise<ModelInfo> {
    this.setState({ kind: "loading", modelPath: this.base });
    const started = Date.now();
    const { response, done } = await this.request("/v1/models", undefined, signal, "GET");
    let models: { data?: { id?: string; meta?: { n_ctx_train?: number; n_params?: number; size?: number } }[] };
    try {
      models = (await response.json()) as typeof models;
    } finally {
      done();
    }
    const entry = models.data?.find((m) => !this.options.model || m.id === this.options.model) ?? models.data?.[0];
    if (!entry?.id) throw new EngineError("loadFailed", `The server at ${this.base} lists no model at /v1/models.`);
    // llama-server tells its context size in /props; other servers do not, so fall back to the trained one.
    let contextSize = entry.meta?.n_ctx_train ?? 0;
    let chatTemplate: string | undefined;
    try {
      const props = await this.request("/props", undefined, signal, "GET");
      const p = (await props.response.json()) as { default_generation_settings?: { n_ctx?: number }; n_ctx?: number; chat_template?: string };
      props.done();
      contextSize = p.default_generation_settings?.n_ctx ?? p.n_ctx ?? contextSize;
      chatTemplate = p.chat_template || undefined;
    } catch {
      /* not llama-server */
    }
    this.options.log?.info(`Remote engine: ${entry.id} at ${this.base}, context ${contextSize || "unknown"}.`);
    return {
      slot: "generation",
      path: this.base,
      fileBytes: entry.meta?.size ?? 0,
      architecture: "remote",
      name: entry.id,
      trainContextLength: entry.meta?.n_ctx_train ?? contextSize,
      contextSize,
      ...(chatTemplate ? { chatTemplate } : {}),
      infillSupported: true,
      backend: "remote",
      gpuLayers: 0,
      totalLayers: 0,
      threads: 0,
      flashAttention: false,
      loadMs: Date.now() - started,
    };
  }

  private samplingBody(limits: GenerationLimits): Record<string, unknown> {
    return {
      max_tokens: limits.maxTokens,
      temperature: limits.temperature ?? 0,
      ...(limits.topK !== undefined ? { top_k: limits.topK } : {}),
      ...(limits.topP !== undefined ? { top_p: limits.topP } : {}),
      ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
      ...(limits.stop?.length ? { stop: limits.stop } : {}),
      // llama.cpp's string form of logit_bias bans the texts' tokens; other servers ignore it.
      ...(limits.bannedTexts?.length ? { logit_bias: limits.bannedTexts.map((t) => [t, false]) } : {}),
    };
  }

  /** Runs one streamed generation; an abort returns what was generated so far, as the local engine does. */
  private async generate(path: string, body: Record<string, unknown>, limits: GenerationLimits, options: RequestOptions, textOf: (chunk: CompletionChunk & { content?: string; stop?: boolean; stopped_word?: boolean; stopped_eos?: boolean }) => string): Promise<GenerationResult> {
    await this.ensureReady(options.signal ? { signal: options.signal } : {});
    if (options.signal?.aborted) return abortedResult();
    const started = Date.now();
    this.begin();
    let text = "";
    let finish: string | null | undefined;
    let stoppedWord: boolean | undefined;
    let usage: CompletionChunk["usage"];
    let timings: CompletionChunk["timings"];
    let firstTokenMs = 0;
    try {
      let req;
      try {
        req = await this.request(path, { ...body, ...this.samplingBody(limits), stream: true, stream_options: { include_usage: true }, ...(this.info?.name ? { model: this.options.model ?? this.info.name } : {}) }, options.signal);
      } catch (error) {
        if (error instanceof EngineError && error.kind === "cancelled") return abortedResult();
        throw error;
      }
      try {
        for await (const data of serverSentEvents(req.response)) {
          if (data === "[DONE]") break;
          const chunk = JSON.parse(data) as CompletionChunk & { content?: string; stop?: boolean; stopped_word?: boolean; stopped_eos?: boolean; stop_type?: string };
          if (chunk.error) throw new EngineError("failed", `The model server failed: ${chunk.error.message ?? "unknown error"}`);
          const piece = textOf(chunk);
          if (piece) {
            if (!text) firstTokenMs = Date.now() - started;
            text += piece;
            options.onText?.(piece);
          }
          const f = chunk.choices?.[0]?.finish_reason;
          if (f) finish = f;
          if (chunk.stop) finish = chunk.stopped_eos ? "eos" : chunk.stop_type === "limit" ? "length" : "stop";
          if (chunk.stopped_word !== undefined) stoppedWord = chunk.stopped_word;
          if (chunk.usage) usage = chunk.usage;
          if (chunk.timings) timings = chunk.timings;
        }
      } catch (error) {
        const reason = req.controller.signal.reason as unknown;
        if (req.controller.signal.aborted && reason instanceof EngineError && reason.kind === "cancelled") finish = "aborted";
        else if (req.controller.signal.aborted && reason instanceof EngineError) throw reason;
        else if (error instanceof EngineError) throw error;
        else throw new EngineError("failed", `The connection to the model server broke: ${(error as Error).message}`);
      } finally {
        req.done();
      }
    } finally {
      this.end();
    }
    const stopReason: StopReason =
      finish === "aborted" ? "aborted" : finish === "length" ? "maxTokens" : finish === "eos" ? "eos" : finish === "stop" && (stoppedWord ?? (limits.stop?.length ?? 0) > 0) ? "stop" : "eos";
    const generatedTokens = usage?.completion_tokens ?? timings?.predicted_n ?? 0;
    const promptTokens = usage?.prompt_tokens ?? 0;
    return { text, stopReason, promptTokensEvaluated: timings?.prompt_n ?? promptTokens, promptTokens, generatedTokens, firstTokenMs, totalMs: Date.now() - started };
  }

  private begin(): void {
    this.activeRequests++;
    if (this.info) this.setState({ kind: "busy", info: this.info, requests: this.activeRequests });
  }

  private end(): void {
    this.activeRequests--;
    if (this.info && !this.disposed) this.setState(this.activeRequests > 0 ? { kind: "busy", info: this.info, requests: this.activeRequests } : { kind: "ready", info: this.info });
  }

  complete(request: CompletionRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.generate("/v1/completions", { prompt: request.prompt }, request, options, (c) => c.choices?.[0]?.text ?? "");
  }

  async infill(request: InfillRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    // llama.cpp's /infill (not part of the OpenAI API): other servers answer 404, which says "unsupported".
    try {
      return await this.generate("/infill", { input_prefix: request.prefix, input_suffix: request.suffix, n_predict: request.maxTokens }, request, options, (c) => c.content ?? "");
    } catch (error) {
      if (error instanceof EngineError && (error.kind === "unsupported" || /infill|FIM|fill/i.test(error.message))) {
        throw new EngineError("unsupported", `The model server cannot fill in the middle (fill-in-the-middle needs llama-server with a FIM model): ${error.message}`);
      }
      throw error;
    }
  }

  async json(request: JsonRequest, options: RequestOptions = {}): Promise<JsonResult> {
    // llama-server takes `json_schema`; vLLM takes `guided_json`; both turn it into a grammar.
    const result = await this.generate("/v1/completions", { prompt: request.prompt, json_schema: request.schema, guided_json: request.schema }, request, options, (c) => c.choices?.[0]?.text ?? "");
    if (result.stopReason === "aborted") return { ...result, value: undefined };
    try {
      return { ...result, value: JSON.parse(result.text) as unknown };
    } catch {
      throw new EngineError("failed", `The model server returned text that is not valid JSON (${result.stopReason === "maxTokens" ? "it ran out of tokens" : "it may not support JSON-schema output"}).`);
    }
  }

  async embed(texts: string[], options: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
    await this.ensureReady(options);
    this.begin();
    try {
      const req = await this.request("/v1/embeddings", { input: texts, ...(this.info?.name ? { model: this.options.model ?? this.info.name } : {}) }, options.signal);
      try {
        const body = (await req.response.json()) as { data?: { index?: number; embedding?: number[] }[] };
        const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
        if (data.length !== texts.length || data.some((d) => !Array.isArray(d.embedding))) throw new EngineError("failed", "The model server returned no embeddings.");
        return { vectors: data.map((d) => d.embedding!), slot: "embedding" };
      } finally {
        req.done();
      }
    } finally {
      this.end();
    }
  }

  async tokenize(text: string): Promise<TokenizeResult> {
    await this.ensureReady();
    const req = await this.request("/tokenize", { content: text }, undefined);
    try {
      const body = (await req.response.json()) as { tokens?: (number | { id: number })[] };
      const tokens = (body.tokens ?? []).map((t) => (typeof t === "number" ? t : t.id));
      return { tokens, count: tokens.length };
    } finally {
      req.done();
    }
  }

  async unload(): Promise<void> {
    // The server owns its memory; nothing to free here.
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const c of this.inFlight) c.abort(new EngineError("disposed", "Bedside's engine was shut down."));
    this.stateEmitter.dispose();
  }
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
