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
 * The requests are built in serverCalls.ts, their streams read in streamFormats.ts, and HTTP (API key,
 * timeouts and cancellation on every request) lives in serverHttp.ts. Plain Node (global fetch): no vscode, no node-llama-cpp, so
 * tests drive it exactly as the extension does.
 */
import { Emitter } from "vscode-jsonrpc";
import type { CompletionRequest, Engine, EngineState, InfillRequest, JsonRequest, RequestOptions } from "../engine";
import { abortedResult, EngineError } from "../engine";
import type { EmbedResult, GenerationLimits, GenerationResult, JsonResult, ModelInfo, StopReason, TokenizeResult } from "../protocol";
import type { Log } from "../../log/log";
import { generationCall, infillCall, SERVER_KIND_NAMES, type GenerationCall, type ServerKind } from "./serverCalls";
import { ServerHttp } from "./serverHttp";
import { completionPiece, jsonLines, ollamaPiece, serverSentEvents, type CompletionChunk, type OllamaGenerateLine, type StreamPiece } from "./streamFormats";
import { TokenEstimator } from "./tokenEstimate";

export type { ServerKind } from "./serverCalls";

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
  private readonly http: ServerHttp;
  private info: ModelInfo | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private activeRequests = 0;
  private disposed = false;
  private kind: ServerKind = "openai";
  private readonly estimator = new TokenEstimator();
  /** vLLM: token ids of banned texts, for `logit_bias`. */
  private readonly bannedIds = new Map<string, number[]>();
  private saidNoBanning = false;

  constructor(private readonly options: RemoteEngineOptions) {
    this.base = options.endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.http = new ServerHttp(this.base, options.timeoutMs ?? 120_000, options.apiKey);
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

  private get modelName(): string | undefined {
    return this.options.model ?? this.info?.name;
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
    const models = await this.http.json<{ data?: ModelsEntry[] }>("/v1/models", undefined, signal, "GET");
    const entry = models.data?.find((m) => !this.options.model || m.id === this.options.model) ?? models.data?.[0];
    if (!entry?.id) throw new EngineError("loadFailed", `The server at ${this.base} lists no model at /v1/models.`);
    const name = this.options.model ?? entry.id;

    // Which server: llama-server has /props, vLLM /version, Ollama /api/version; each answers 404 to the others'.
    let version: string | undefined;
    let contextSize = entry.meta?.n_ctx_train ?? 0;
    let trainContextLength = entry.meta?.n_ctx_train ?? 0;
    let chatTemplate: string | undefined;
    const props = await this.http.probe<{ default_generation_settings?: { n_ctx?: number }; n_ctx?: number; chat_template?: string; build_info?: string }>("/props", signal);
    if (props && (props.default_generation_settings || props.n_ctx !== undefined)) {
      this.kind = "llama-server";
      contextSize = props.default_generation_settings?.n_ctx ?? props.n_ctx ?? contextSize;
      chatTemplate = props.chat_template || undefined;
      version = props.build_info;
    } else {
      const vllm = await this.http.probe<{ version?: string }>("/version", signal);
      const ollama = typeof vllm?.version === "string" ? undefined : await this.http.probe<{ version?: string }>("/api/version", signal);
      if (typeof vllm?.version === "string") {
        this.kind = "vllm";
        version = vllm.version;
        contextSize = entry.max_model_len ?? contextSize;
        trainContextLength = contextSize;
      } else if (typeof ollama?.version === "string") {
        this.kind = "ollama";
        version = ollama.version;
        // /api/show's model_info has "<architecture>.context_length", the trained context.
        const show = await this.http.probe<{ model_info?: Record<string, unknown> }>("/api/show", signal, { model: name });
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
    const { path, body, ndjson } = generationCall(this.kind, CALIBRATION_TEXT, limits, undefined, model);
    // Not streamed: OpenAI-style servers refuse stream_options without stream.
    const single = Object.fromEntries(Object.entries(body).filter(([k]) => k !== "stream_options"));
    const value = await this.http.json<unknown>(path, { ...single, stream: false }, signal);
    const piece = ndjson ? ollamaPiece(value as OllamaGenerateLine) : completionPiece(value as CompletionChunk);
    if (piece.promptTokens) this.estimator.observe(CALIBRATION_TEXT, piece.promptTokens);
    else throw new Error("the server reported no prompt size");
  }

  /** The generation request for the connected model on this kind of server. */
  private generationCall(prompt: string, limits: GenerationLimits, schema: unknown): GenerationCall {
    return generationCall(this.kind, prompt, limits, schema, this.info ? { name: this.modelName ?? this.info.name ?? "", contextSize: this.info.contextSize } : undefined);
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
      this.options.log?.info(
        `Remote engine: ${SERVER_KIND_NAMES[this.kind]} cannot ban tokens, so suggestions may contain texts Bedside would ban locally (digits when numbers are off).`,
      );
    }
    return {};
  }

  /** Runs one streamed generation; an abort returns what was generated so far, as the local engine does. */
  private async generate(prompt: string, call: GenerationCall, limits: GenerationLimits, options: RequestOptions): Promise<GenerationResult> {
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
        req = await this.http.request(call.path, { ...call.body, ...(await this.banning(limits)) }, options.signal);
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
      finish === "aborted"
        ? "aborted"
        : finish === "length"
          ? "maxTokens"
          : finish === "eos"
            ? "eos"
            : finish === "stop" && (stoppedWord ?? (limits.stop?.length ?? 0) > 0)
              ? "stop"
              : "eos";
    return {
      text,
      stopReason,
      promptTokensEvaluated: promptEvaluated ?? promptTokens ?? 0,
      promptTokens: promptTokens ?? 0,
      generatedTokens: generatedTokens ?? 0,
      firstTokenMs,
      totalMs: Date.now() - started,
    };
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
    try {
      return await this.generate(request.prefix + request.suffix, infillCall(request), request, options);
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
      throw new EngineError(
        "failed",
        `The model server returned text that is not valid JSON (${result.stopReason === "maxTokens" ? "it ran out of tokens" : "it may not support JSON-schema output"}).`,
      );
    }
  }

  async embed(texts: string[], options: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
    await this.ensureReady(options);
    this.begin();
    try {
      const body = await this.http.json<{ data?: { index?: number; embedding?: number[] }[] }>(
        "/v1/embeddings",
        { input: texts, ...(this.modelName ? { model: this.modelName } : {}) },
        options.signal,
      );
      const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      if (data.length !== texts.length || data.some((d) => !Array.isArray(d.embedding))) throw new EngineError("failed", "The model server returned no embeddings.");
      return { vectors: data.map((d) => d.embedding!), slot: "embedding" };
    } finally {
      this.end();
    }
  }

  /** The server's own tokenizer: llama-server `/tokenize {content}`, vLLM `/tokenize {model, prompt}`. */
  private async serverTokenize(text: string, withSpecial: boolean): Promise<{ tokens: number[]; count: number }> {
    const body =
      this.kind === "vllm" ? { ...(this.modelName ? { model: this.modelName } : {}), prompt: text, add_special_tokens: withSpecial } : { content: text, add_special: withSpecial };
    const answer = await this.http.json<{ tokens?: (number | { id: number })[]; count?: number }>("/tokenize", body, undefined);
    const tokens = (answer.tokens ?? []).map((t) => (typeof t === "number" ? t : t.id));
    return { tokens, count: answer.count ?? tokens.length };
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
    this.http.close();
    this.stateEmitter.dispose();
  }
}
