/**
 * The remote engine: the same `Engine` every feature uses, backed by a server a team already runs:
 * llama.cpp's llama-server, vLLM, Ollama, or another OpenAI-compatible server. What kind it is comes from
 * what it answers (`/props`: llama-server; `/version`: vLLM; `/api/version`: Ollama), and each is spoken
 * to in its own terms (docs/remote-servers.md has the table):
 * - generation: `/v1/completions` (server-sent events) on llama-server, vLLM and others; Ollama's native
 *   `/api/generate` (NDJSON) with `raw: true`, so its chat template is not wrapped around Bedside's prompts,
 *   and `options.num_ctx`, so Ollama does not silently cut a prompt to its 2,048-token default;
 * - token counts: llama-server's `/tokenize {content}`, vLLM's `/tokenize {model, prompt}`; Ollama has
 *   none, so counts are an upper estimate calibrated on the token counts it reports (tokenEstimate.ts);
 * - JSON: `json_schema` (llama-server), `response_format: {type: "json_schema"}` (vLLM and others),
 *   `format: <schema>` (Ollama);
 * - fill-in-the-middle: llama-server's `/infill`; the others have none, so `infillSupported` is false and
 *   completions send the text before the cursor only (said once in the log).
 * Timeouts and cancellation on every request. Plain Node (global fetch): no vscode, no node-llama-cpp, so
 * tests drive it exactly as the extension does.
 */
import { Emitter } from "vscode-jsonrpc";
import type { CompletionRequest, Engine, EngineState, InfillRequest, JsonRequest, RequestOptions } from "../engine";
import { abortedResult, EngineError } from "../engine";
import type { EmbedResult, GenerationLimits, GenerationResult, JsonResult, ModelInfo, StopReason, TokenizeResult } from "../protocol";
import type { Log } from "../../log/log";
import { TokenEstimator } from "./tokenEstimate";

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

/** What kind of server answers, found out when the engine connects. */
export type ServerKind = "llama-server" | "vllm" | "ollama" | "openai";

export const SERVER_KIND_NAMES: Record<ServerKind, string> = { "llama-server": "llama-server", vllm: "vLLM", ollama: "Ollama", openai: "OpenAI-compatible server" };

/**
 * The context Bedside asks Ollama for (`options.num_ctx`) when the model was trained on more: Ollama's own
 * default is 2,048 and it cuts longer prompts without an error, so Bedside always says how much it needs.
 */
export const OLLAMA_CONTEXT_TOKENS = 4096;

/** A clinical text with numbers, abbreviations and punctuation: dense in tokens, so it calibrates on the safe side. */
export const CALIBRATION_TEXT =
  "Pt 67yo M, PMHx HTN/DM2/CKD3b; c/o SOB x3d, orthopnea, PND. Vitals: BP 162/94, HR 112 (irreg), RR 24, SpO2 88% RA, T 37.9°C. " +
  "Labs: Na 131, K 5.4, Cr 2.1 (baseline 1.6), BNP 1,840 pg/mL, hs-TnT 38→41 ng/L, Hb 10.2 g/dL. ECG: AF w/ RVR, no STE. " +
  "CXR: bilat. pleural effusions, Kerley B lines. A/P: ADHF (HFrEF?) — IV furosemide 40 mg BID, rate ctrl (metoprolol 12.5 mg PO q6h), TTE, strict I/O.";

/** One piece of a streamed generation, whatever the server's format. */
interface StreamPiece {
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
interface CompletionChunk {
  choices?: { text?: string; finish_reason?: string | null; stop_reason?: string | number | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  timings?: { prompt_n?: number; predicted_n?: number };
  error?: { message?: string } | string;
}

/** llama-server's native `/infill` stream chunk. */
interface LlamaNativeChunk {
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
interface OllamaGenerateLine {
  response?: string;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

function completionPiece(c: CompletionChunk): StreamPiece {
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

function llamaNativePiece(c: LlamaNativeChunk): StreamPiece {
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

function ollamaPiece(c: OllamaGenerateLine): StreamPiece {
  const piece: StreamPiece = { text: c.response ?? "" };
  if (c.done) piece.finish = c.done_reason === "length" ? "length" : "stop";
  if (c.prompt_eval_count !== undefined) piece.promptTokens = c.prompt_eval_count;
  if (c.eval_count !== undefined) piece.generatedTokens = c.eval_count;
  if (c.error) piece.error = c.error;
  return piece;
}

/** The connection was closed or reset under the request (undici's "other side closed"), not refused. */
function isDroppedConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

interface ModelsEntry {
  id?: string;
  owned_by?: string;
  /** vLLM */
  max_model_len?: number;
  /** llama-server */
  meta?: { n_ctx_train?: number; n_params?: number; size?: number };
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
  private kind: ServerKind = "openai";
  private readonly estimator = new TokenEstimator();
  /** vLLM: token ids of banned texts, for `logit_bias`. */
  private readonly bannedIds = new Map<string, number[]>();
  private saidNoBanning = false;

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

  /** The kind of server, known once `ensureReady` has resolved. */
  get serverKind(): ServerKind {
    return this.kind;
  }

  private setState(state: EngineState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 120_000;
  }

  private get modelName(): string | undefined {
    return this.options.model ?? this.info?.name;
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
    const headers: Record<string, string> = { accept: "application/json, text/event-stream, application/x-ndjson" };
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
      const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
      detail = typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message ?? detail);
    } catch {
      /* not JSON */
    }
    if (status === 401 || status === 403) return new EngineError("failed", `The model server refused the API key (HTTP ${status}). Run "Bedside: Set Server API Key".`);
    if (status === 404 || status === 501) return new EngineError("unsupported", `The model server has no ${path} (HTTP ${status}).`);
    return new EngineError("failed", `The model server answered HTTP ${status} to ${path}: ${detail}`);
  }

  /** GET/POST that answers the JSON body, or undefined when the server has no such endpoint or fails. */
  private async probe<T>(path: string, signal: AbortSignal | undefined, body?: unknown): Promise<T | undefined> {
    try {
      const req = await this.request(path, body, signal, body === undefined ? "GET" : "POST");
      try {
        return (await req.response.json()) as T;
      } finally {
        req.done();
      }
    } catch (error) {
      if (error instanceof EngineError && (error.kind === "cancelled" || error.kind === "disposed")) throw error;
      return undefined;
    }
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
    let models: { data?: ModelsEntry[] };
    try {
      models = (await response.json()) as typeof models;
    } finally {
      done();
    }
    const entry = models.data?.find((m) => !this.options.model || m.id === this.options.model) ?? models.data?.[0];
    if (!entry?.id) throw new EngineError("loadFailed", `The server at ${this.base} lists no model at /v1/models.`);
    const name = this.options.model ?? entry.id;

    // Which server: llama-server has /props, vLLM /version, Ollama /api/version; each answers 404 to the others'.
    let version: string | undefined;
    let contextSize = entry.meta?.n_ctx_train ?? 0;
    let trainContextLength = entry.meta?.n_ctx_train ?? 0;
    let chatTemplate: string | undefined;
    const props = await this.probe<{ default_generation_settings?: { n_ctx?: number }; n_ctx?: number; chat_template?: string; build_info?: string }>("/props", signal);
    if (props && (props.default_generation_settings || props.n_ctx !== undefined)) {
      this.kind = "llama-server";
      contextSize = props.default_generation_settings?.n_ctx ?? props.n_ctx ?? contextSize;
      chatTemplate = props.chat_template || undefined;
      version = props.build_info;
    } else {
      const vllm = await this.probe<{ version?: string }>("/version", signal);
      const ollama = typeof vllm?.version === "string" ? undefined : await this.probe<{ version?: string }>("/api/version", signal);
      if (typeof vllm?.version === "string") {
        this.kind = "vllm";
        version = vllm.version;
        contextSize = entry.max_model_len ?? contextSize;
        trainContextLength = contextSize;
      } else if (typeof ollama?.version === "string") {
        this.kind = "ollama";
        version = ollama.version;
        // /api/show's model_info has "<architecture>.context_length", the trained context.
        const show = await this.probe<{ model_info?: Record<string, unknown> }>("/api/show", signal, { model: name });
        const arch = show?.model_info?.["general.architecture"];
        const trained = typeof arch === "string" ? show?.model_info?.[`${arch}.context_length`] : undefined;
        trainContextLength = typeof trained === "number" ? trained : 0;
        contextSize = Math.min(trainContextLength || OLLAMA_CONTEXT_TOKENS, OLLAMA_CONTEXT_TOKENS);
      } else {
        this.kind = entry.owned_by === "vllm" ? "vllm" : "openai";
        contextSize = entry.max_model_len ?? contextSize;
      }
    }
    const server = `${SERVER_KIND_NAMES[this.kind]}${version ? ` ${version}` : ""}`;
    const log = this.options.log;
    log?.info(`Remote engine: ${name} on ${server} at ${this.base}, context ${contextSize || "unknown"}.`);
    if (this.kind !== "llama-server") {
      log?.info(`Remote engine: ${SERVER_KIND_NAMES[this.kind]} has no fill-in-the-middle endpoint, so completions send the text before the cursor only.`);
    }
    if (this.kind === "ollama" || this.kind === "openai") {
      // No tokenize endpoint: one short generation tells how many tokens a known, dense text takes.
      await this.calibrate({ name, contextSize }, signal).catch((error: unknown) => {
        if (error instanceof EngineError && (error.kind === "cancelled" || error.kind === "disposed")) throw error;
        log?.warn(`Remote engine: could not calibrate token counts (${(error as Error).message}); counting one token per byte until the server reports a prompt's size.`);
      });
      log?.info(`Remote engine: ${SERVER_KIND_NAMES[this.kind]} has no tokenize endpoint; prompts are sized at ${this.estimator.describe()}.`);
    }
    return {
      slot: "generation",
      path: this.base,
      fileBytes: entry.meta?.size ?? 0,
      architecture: `remote (${server})`,
      name,
      trainContextLength: trainContextLength || contextSize,
      contextSize,
      ...(chatTemplate ? { chatTemplate } : {}),
      infillSupported: this.kind === "llama-server",
      backend: "remote",
      gpuLayers: 0,
      totalLayers: 0,
      threads: 0,
      flashAttention: false,
      loadMs: Date.now() - started,
    };
  }

  private async calibrate(model: { name: string; contextSize: number }, signal: AbortSignal | undefined): Promise<void> {
    const limits: GenerationLimits = { maxTokens: 1 };
    const { path, body, ndjson } = this.generationCall(CALIBRATION_TEXT, limits, undefined, model);
    // Not streamed: OpenAI-style servers refuse stream_options without stream.
    const single = Object.fromEntries(Object.entries(body).filter(([k]) => k !== "stream_options"));
    const req = await this.request(path, { ...single, stream: false }, signal);
    try {
      const value = (await req.response.json()) as unknown;
      const piece = ndjson ? ollamaPiece(value as OllamaGenerateLine) : completionPiece(value as CompletionChunk);
      if (piece.promptTokens) this.estimator.observe(CALIBRATION_TEXT, piece.promptTokens);
      else throw new Error("the server reported no prompt size");
    } finally {
      req.done();
    }
  }

  /** The request that generates from `prompt` on this kind of server, and how to read its stream. */
  private generationCall(prompt: string, limits: GenerationLimits, schema: unknown, model: { name: string; contextSize: number } | undefined = this.info ? { name: this.modelName ?? this.info.name ?? "", contextSize: this.info.contextSize } : undefined): {
    path: string;
    body: Record<string, unknown>;
    parse: (data: string) => StreamPiece;
    ndjson: boolean;
  } {
    const modelField = model?.name ? { model: model.name } : {};
    if (this.kind === "ollama") {
      // Ollama's native API (docs/api.md "Generate a completion"): raw = no template, options per request.
      const options: Record<string, unknown> = {
        num_predict: limits.maxTokens,
        temperature: limits.temperature ?? 0,
        ...(model?.contextSize ? { num_ctx: model.contextSize } : {}),
        ...(limits.topK !== undefined ? { top_k: limits.topK } : {}),
        ...(limits.topP !== undefined ? { top_p: limits.topP } : {}),
        ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
        ...(limits.stop?.length ? { stop: limits.stop } : {}),
      };
      return {
        path: "/api/generate",
        body: { ...modelField, prompt, raw: true, stream: true, options, ...(schema !== undefined ? { format: schema } : {}) },
        parse: (data) => ollamaPiece(JSON.parse(data) as OllamaGenerateLine),
        ndjson: true,
      };
    }
    const sampling: Record<string, unknown> = {
      max_tokens: limits.maxTokens,
      temperature: limits.temperature ?? 0,
      ...(limits.topK !== undefined && this.kind !== "openai" ? { top_k: limits.topK } : {}),
      ...(limits.topP !== undefined ? { top_p: limits.topP } : {}),
      ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
      ...(limits.stop?.length ? { stop: limits.stop } : {}),
    };
    let format: Record<string, unknown> = {};
    if (schema !== undefined) {
      // llama-server: `json_schema`; vLLM (and OpenAI-style servers): `response_format` with a JSON schema.
      format = this.kind === "llama-server" ? { json_schema: schema } : { response_format: { type: "json_schema", json_schema: { name: "bedside", schema } } };
    }
    return {
      path: "/v1/completions",
      body: { ...modelField, prompt, ...sampling, ...format, stream: true, stream_options: { include_usage: true } },
      parse: (data) => completionPiece(JSON.parse(data) as CompletionChunk),
      ndjson: false,
    };
  }

  /** Banned texts in each server's terms: llama-server's string form of logit_bias, vLLM's token ids. */
  private async banning(limits: GenerationLimits): Promise<Record<string, unknown>> {
    const texts = limits.bannedTexts ?? [];
    if (!texts.length) return {};
    if (this.kind === "llama-server") return { logit_bias: texts.map((t) => [t, false]) };
    if (this.kind === "vllm") {
      const bias: Record<string, number> = {};
      for (const text of texts) {
        let ids = this.bannedIds.get(text);
        if (!ids) {
          ids = (await this.serverTokenize(text, false)).tokens;
          this.bannedIds.set(text, ids);
        }
        for (const id of ids) bias[String(id)] = -100;
      }
      return { logit_bias: bias };
    }
    if (!this.saidNoBanning) {
      this.saidNoBanning = true;
      this.options.log?.info(`Remote engine: ${SERVER_KIND_NAMES[this.kind]} cannot ban tokens, so suggestions may contain texts Bedside would ban locally (digits when numbers are off).`);
    }
    return {};
  }

  /** Runs one streamed generation; an abort returns what was generated so far, as the local engine does. */
  private async generate(prompt: string, call: { path: string; body: Record<string, unknown>; parse: (data: string) => StreamPiece; ndjson: boolean }, limits: GenerationLimits, options: RequestOptions): Promise<GenerationResult> {
    if (options.signal?.aborted) return abortedResult();
    const started = Date.now();
    this.begin();
    let text = "";
    let finish: StreamPiece["finish"] | "aborted" | undefined;
    let stoppedWord: boolean | undefined;
    let promptTokens: number | undefined;
    let promptEvaluated: number | undefined;
    let generatedTokens: number | undefined;
    let firstTokenMs = 0;
    try {
      let req;
      try {
        req = await this.request(call.path, { ...call.body, ...(await this.banning(limits)) }, options.signal);
      } catch (error) {
        if (error instanceof EngineError && error.kind === "cancelled") return abortedResult();
        throw error;
      }
      try {
        for await (const data of call.ndjson ? jsonLines(req.response) : serverSentEvents(req.response)) {
          if (data === "[DONE]") break;
          const piece = call.parse(data);
          if (piece.error) throw new EngineError("failed", `The model server failed: ${piece.error}`);
          if (piece.text) {
            if (!text) firstTokenMs = Date.now() - started;
            text += piece.text;
            options.onText?.(piece.text);
          }
          if (piece.finish) finish = piece.finish;
          if (piece.stoppedWord !== undefined) stoppedWord = piece.stoppedWord;
          if (piece.promptTokens !== undefined) promptTokens = piece.promptTokens;
          if (piece.promptEvaluated !== undefined) promptEvaluated = piece.promptEvaluated;
          if (piece.generatedTokens !== undefined) generatedTokens = piece.generatedTokens;
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
    if (promptTokens && (this.kind === "ollama" || this.kind === "openai")) this.estimator.observe(prompt, promptTokens);
    const stopReason: StopReason =
      finish === "aborted" ? "aborted" : finish === "length" ? "maxTokens" : finish === "eos" ? "eos" : finish === "stop" && (stoppedWord ?? (limits.stop?.length ?? 0) > 0) ? "stop" : "eos";
    return { text, stopReason, promptTokensEvaluated: promptEvaluated ?? promptTokens ?? 0, promptTokens: promptTokens ?? 0, generatedTokens: generatedTokens ?? 0, firstTokenMs, totalMs: Date.now() - started };
  }

  private begin(): void {
    this.activeRequests++;
    if (this.info) this.setState({ kind: "busy", info: this.info, requests: this.activeRequests });
  }

  private end(): void {
    this.activeRequests--;
    if (this.info && !this.disposed) this.setState(this.activeRequests > 0 ? { kind: "busy", info: this.info, requests: this.activeRequests } : { kind: "ready", info: this.info });
  }

  /**
   * vLLM refuses (HTTP 400) a request whose prompt plus `max_tokens` exceeds `max_model_len`, where llama-server
   * and Ollama just stop at the end of the context; so for vLLM `max_tokens` is cut to what the context has
   * left, counted with its own tokenizer when the prompt could be long enough to matter.
   */
  private async fitMaxTokens<T extends GenerationLimits>(prompt: string, limits: T): Promise<T> {
    const context = this.info?.contextSize ?? 0;
    if (this.kind !== "vllm" || !context || Buffer.byteLength(prompt, "utf8") + 3 + limits.maxTokens <= context) return limits;
    const { count } = await this.serverTokenize(prompt, true);
    return { ...limits, maxTokens: Math.max(1, Math.min(limits.maxTokens, context - count)) };
  }

  async complete(request: CompletionRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    await this.ensureReady(options.signal ? { signal: options.signal } : {});
    const limits = await this.fitMaxTokens(request.prompt, request);
    return this.generate(request.prompt, this.generationCall(request.prompt, limits, undefined), limits, options);
  }

  async infill(request: InfillRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    await this.ensureReady(options.signal ? { signal: options.signal } : {});
    if (this.kind !== "llama-server") {
      throw new EngineError("unsupported", `The model server (${SERVER_KIND_NAMES[this.kind]}) cannot fill in the middle; completions use the text before the cursor.`);
    }
    // llama.cpp's /infill (not part of the OpenAI API).
    const call = {
      path: "/infill",
      body: { input_prefix: request.prefix, input_suffix: request.suffix, n_predict: request.maxTokens, temperature: request.temperature ?? 0, stream: true, ...(request.topK !== undefined ? { top_k: request.topK } : {}), ...(request.topP !== undefined ? { top_p: request.topP } : {}), ...(request.seed !== undefined ? { seed: request.seed } : {}), ...(request.stop?.length ? { stop: request.stop } : {}) },
      parse: (data: string) => llamaNativePiece(JSON.parse(data) as LlamaNativeChunk),
      ndjson: false,
    };
    try {
      return await this.generate(request.prefix + request.suffix, call, request, options);
    } catch (error) {
      if (error instanceof EngineError && (error.kind === "unsupported" || /infill|FIM|fill/i.test(error.message))) {
        throw new EngineError("unsupported", `The model server cannot fill in the middle (fill-in-the-middle needs llama-server with a FIM model): ${error.message}`);
      }
      throw error;
    }
  }

  async json(request: JsonRequest, options: RequestOptions = {}): Promise<JsonResult> {
    await this.ensureReady(options.signal ? { signal: options.signal } : {});
    const limits = await this.fitMaxTokens(request.prompt, request);
    const result = await this.generate(request.prompt, this.generationCall(request.prompt, limits, request.schema), limits, options);
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
      const req = await this.request("/v1/embeddings", { input: texts, ...(this.modelName ? { model: this.modelName } : {}) }, options.signal);
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

  /** The server's own tokenizer: llama-server `/tokenize {content}`, vLLM `/tokenize {model, prompt}`. */
  private async serverTokenize(text: string, withSpecial: boolean): Promise<{ tokens: number[]; count: number }> {
    const body = this.kind === "vllm" ? { ...(this.modelName ? { model: this.modelName } : {}), prompt: text, add_special_tokens: withSpecial } : { content: text, add_special: withSpecial };
    const req = await this.request("/tokenize", body, undefined);
    try {
      const answer = (await req.response.json()) as { tokens?: (number | { id: number })[]; count?: number };
      const tokens = (answer.tokens ?? []).map((t) => (typeof t === "number" ? t : t.id));
      return { tokens, count: answer.count ?? tokens.length };
    } finally {
      req.done();
    }
  }

  async tokenize(text: string): Promise<TokenizeResult> {
    await this.ensureReady();
    if (this.kind === "llama-server" || this.kind === "vllm") {
      const { tokens } = await this.serverTokenize(text, false);
      return { tokens, count: tokens.length };
    }
    return { tokens: [], count: this.estimator.estimate(text), estimated: true };
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
