/**
 * The extension side of the local engine: spawns the worker when first needed, keeps the configured model
 * loaded, restarts the worker with backoff when it dies, unloads the model after idling, and turns
 * AbortSignals into JSON-RPC cancellation. Plain Node (no vscode), so tests and benchmarks drive it
 * exactly as the extension does.
 */
import { Emitter, ResponseError, CancellationTokenSource, type CancellationToken, type MessageConnection, type RequestType } from "vscode-jsonrpc/node";
import type { Engine, EngineState, ChatRequest, CompletionRequest, InfillRequest, JsonRequest, RequestOptions } from "../engine";
import { abortedResult, EngineError } from "../engine";
import {
  ErrorCodes,
  Requests,
  type ChatMessage,
  type ChatPromptSize,
  type EmbedResult,
  type GenerationResult,
  type JsonResult,
  type Lane,
  type LoadParams,
  type ModelInfo,
  type ModelSlot,
  type RestoreStateResult,
  type SaveStateResult,
  type TokenizeResult,
} from "../protocol";
import type { Log } from "../../log/log";
import { RequestLog, type RequestLogEntry } from "../requestLog";
import { WorkerProcess, type WorkerExit, type WorkerSpawnOptions } from "./workerProcess";

/** What the user chose to run: a model file and how to run it. */
export type ModelChoice = Omit<LoadParams, "slot">;

export interface EngineClientOptions extends WorkerSpawnOptions {
  log: Log;
  /** Unload the model after this long without requests; 0 keeps it loaded. */
  idleUnloadMs: number;
  /** Waits before each restart after consecutive crashes; the last repeats. */
  restartDelaysMs?: readonly number[];
  /** After this many crashes in a row the client stops restarting until `retry()`. */
  maxConsecutiveCrashes?: number;
  /** A worker that has run this long without crashing, or answered a request, resets the crash count. */
  stableAfterMs?: number;
  /** Which slot the model loads into: "generation" (default), or "embedding" for a worker that only embeds. */
  slot?: ModelSlot;
}

interface LoadedModel {
  key: string;
  worker: WorkerProcess;
  info: ModelInfo;
}

const NO_MODEL_MESSAGE = 'No model is configured. Run "Bedside: Choose Model File" to pick a GGUF file (for example meditron-7b.Q4_K_M.gguf).';

export class EngineClient implements Engine {
  private readonly stateEmitter = new Emitter<EngineState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private currentState: EngineState = { kind: "noModel" };

  private choice: ModelChoice | undefined;
  private worker: WorkerProcess | undefined;
  private spawning: Promise<WorkerProcess> | undefined;
  private loaded: LoadedModel | undefined;
  private loading: { key: string; promise: Promise<ModelInfo> } | undefined;
  /** A load that failed for reasons a retry will not fix (bad file); cleared when the choice changes. */
  private loadFailure: { key: string; error: EngineError } | undefined;
  private crashFailure: EngineError | undefined;
  /** Workers that answered at least one request. */
  private readonly answeredBy = new WeakSet<WorkerProcess>();

  private consecutiveCrashes = 0;
  private restartNotBefore = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private activeRequests = 0;
  private nextStreamId = 1;
  private readonly streams = new Map<number, (text: string) => void>();
  private disposed = false;
  /** Recent complete/infill requests and how they ended (no text), for tests and diagnostics. */
  readonly requestLog = new RequestLog(100);

  constructor(private options: EngineClientOptions) {}

  get state(): EngineState {
    return this.currentState;
  }

  /** The worker's process id, for tests and the log; undefined when no worker runs. */
  get workerPid(): number | undefined {
    return this.worker?.pid;
  }

  private setState(state: EngineState): void {
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  private restingState(): EngineState {
    if (this.crashFailure) return { kind: "error", message: this.crashFailure.message };
    if (!this.choice) return { kind: "noModel" };
    if (this.loadFailure && this.loadFailure.key === JSON.stringify(this.choice)) return { kind: "error", message: this.loadFailure.error.message };
    if (this.loaded) return this.activeRequests > 0 ? { kind: "busy", info: this.loaded.info, requests: this.activeRequests } : { kind: "ready", info: this.loaded.info };
    return { kind: "idle", modelPath: this.choice.path };
  }

  /** Sets the model to run (undefined: none). A different choice unloads the old model now; returns whether it changed. */
  configure(choice: ModelChoice | undefined): boolean {
    const changed = JSON.stringify(choice) !== JSON.stringify(this.choice);
    this.choice = choice;
    if (!changed) return false;
    this.loadFailure = undefined;
    if (this.loaded) void this.unload();
    this.setState(this.restingState());
    return true;
  }

  setIdleUnloadMs(ms: number): void {
    this.options.idleUnloadMs = ms;
    this.touchIdleTimer();
  }

  /** Forgets a failed load or a crash loop so the next request tries again. */
  retry(): void {
    this.loadFailure = undefined;
    this.crashFailure = undefined;
    this.consecutiveCrashes = 0;
    this.restartNotBefore = 0;
    this.setState(this.restingState());
  }

  /** Kills the worker and starts afresh (the "Restart Engine" command). */
  async restart(): Promise<void> {
    this.retry();
    const worker = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    await worker?.stop();
    this.setState(this.restingState());
    if (this.choice) await this.ensureReady().catch(() => undefined);
  }

  private async getWorker(): Promise<WorkerProcess> {
    if (this.disposed) throw new EngineError("disposed", "Bedside's engine has shut down.");
    if (this.worker) return this.worker;
    this.spawning ??= this.spawn().finally(() => (this.spawning = undefined));
    return this.spawning;
  }

  private async spawn(): Promise<WorkerProcess> {
    const wait = this.restartNotBefore - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const worker = await WorkerProcess.start(this.options, {
      onLog: (line) => this.options.log[line.level](`engine: ${line.message}`),
      onTextChunk: (chunk) => this.streams.get(chunk.streamId)?.(chunk.text),
    });
    void worker.exited.then((exit) => this.onWorkerExit(worker, exit));
    this.worker = worker;
    this.options.log.info(`Engine worker started (pid ${worker.pid}, ${worker.hello.nodeVersion}, node-llama-cpp ${worker.hello.llamaCppPackageVersion}).`);
    return worker;
  }

  private onWorkerExit(worker: WorkerProcess, exit: WorkerExit): void {
    if (this.worker === worker) this.worker = undefined;
    if (this.loaded?.worker === worker) this.loaded = undefined;
    if (exit.expected || this.disposed) return;

    const ranFor = Date.now() - worker.startedAt;
    // A worker that ran a while, or answered a request, was not crashing in a loop: count from one again.
    const proven = ranFor > (this.options.stableAfterMs ?? 60_000) || this.answeredBy.has(worker);
    this.consecutiveCrashes = proven ? 1 : this.consecutiveCrashes + 1;
    const delays = this.options.restartDelaysMs ?? [250, 1000, 3000, 10_000, 30_000];
    const delay = delays[Math.min(this.consecutiveCrashes - 1, delays.length - 1)] ?? 0;
    this.restartNotBefore = Date.now() + delay;
    const how = exit.signal ? `was killed (${exit.signal})` : `exited with code ${exit.code}`;
    this.options.log.error(`The engine worker ${how} after ${Math.round(ranFor / 1000)} s; crash ${this.consecutiveCrashes} in a row.`);

    const max = this.options.maxConsecutiveCrashes ?? 5;
    if (this.consecutiveCrashes >= max) {
      this.crashFailure = new EngineError(
        "crashed",
        `Bedside's engine crashed ${this.consecutiveCrashes} times in a row, so it stopped restarting. Check the model file, or set bedside.engine.gpu to "cpu", then run "Bedside: Restart Engine".`,
      );
      this.setState(this.restingState());
      return;
    }
    this.setState({ kind: "restarting", reason: `The engine ${how}; restarting.` });
    // Bring the model back before the clinician's next keystroke needs it.
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.choice && !this.disposed) void this.ensureReady().catch(() => undefined);
      else this.setState(this.restingState());
    }, delay);
  }

  async ensureReady(options: { signal?: AbortSignal } = {}): Promise<ModelInfo> {
    if (this.crashFailure) throw this.crashFailure;
    const choice = this.choice;
    if (!choice) throw new EngineError("noModel", NO_MODEL_MESSAGE);
    const key = JSON.stringify(choice);
    if (this.loadFailure?.key === key) throw this.loadFailure.error;
    if (this.loaded?.key === key && this.loaded.worker === this.worker) return this.loaded.info;
    if (this.loading?.key !== key) {
      const promise = this.load(choice, key);
      this.loading = { key, promise };
      void promise
        .catch(() => undefined)
        .finally(() => {
          if (this.loading?.promise === promise) this.loading = undefined;
        });
    }
    const loading = this.loading.promise;
    if (!options.signal) return loading;
    // A cancelled caller stops waiting; the load itself goes on for the next one.
    return new Promise<ModelInfo>((resolve, reject) => {
      const onAbort = (): void => reject(new EngineError("cancelled", "Cancelled while the model was loading."));
      if (options.signal!.aborted) return onAbort();
      options.signal!.addEventListener("abort", onAbort, { once: true });
      loading.then(resolve, reject).finally(() => options.signal!.removeEventListener("abort", onAbort));
    });
  }

  private async load(choice: ModelChoice, key: string): Promise<ModelInfo> {
    this.setState({ kind: "loading", modelPath: choice.path });
    try {
      const worker = await this.getWorker();
      const info = await worker.call((connection) => connection.sendRequest(Requests.load, { slot: this.options.slot ?? "generation", ...choice }));
      if (this.choice && JSON.stringify(this.choice) === key && this.worker === worker) {
        this.loaded = { key, worker, info };
        this.crashFailure = undefined;
      }
      this.options.log.info(
        `Model ready: ${info.architecture}, ${info.backend}${info.gpuLayers ? ` (${info.gpuLayers}/${info.totalLayers} layers on the GPU)` : ""}, context ${info.contextSize}, ${info.threads} threads, flash attention ${info.flashAttention ? "on" : "off"}, infill ${info.infillSupported ? "yes" : "no"}.`,
      );
      this.touchIdleTimer();
      return info;
    } catch (error) {
      const engineError = this.toEngineError(error);
      if (engineError.kind === "invalidModel" || engineError.kind === "loadFailed") this.loadFailure = { key, error: engineError };
      this.options.log.error(engineError.message);
      throw engineError;
    } finally {
      this.setState(this.restingState());
    }
  }

  private toEngineError(error: unknown): EngineError {
    if (error instanceof EngineError) return error;
    if (error instanceof ResponseError) {
      switch (error.code) {
        case ErrorCodes.InvalidModelFile:
          return new EngineError("invalidModel", error.message);
        case ErrorCodes.ModelLoadFailed:
          return new EngineError("loadFailed", error.message);
        case ErrorCodes.InfillUnsupported:
        case ErrorCodes.EmbeddingUnsupported:
          return new EngineError("unsupported", error.message);
        default:
          return new EngineError("failed", error.message);
      }
    }
    return new EngineError("failed", error instanceof Error ? error.message : String(error));
  }

  private touchIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.options.idleUnloadMs > 0 && this.activeRequests === 0 && this.loaded) {
      this.idleTimer = setTimeout(() => {
        this.options.log.info(`Unloading the model after ${Math.round(this.options.idleUnloadMs / 60000)} idle minutes to free memory.`);
        void this.unload();
      }, this.options.idleUnloadMs);
      this.idleTimer.unref?.();
    }
  }

  /** Runs one request on the worker with the model loaded, streaming and cancellation wired in. */
  private async request<R>(options: RequestOptions, send: (connection: MessageConnection, streamId: number | undefined, token: CancellationToken) => Promise<R>): Promise<R> {
    await this.ensureReady(options.signal ? { signal: options.signal } : {});
    const worker = this.worker;
    if (!worker) throw new EngineError("crashed", "Bedside's engine stopped while loading; it is restarting. Try again in a moment.");
    const streamId = options.onText ? this.nextStreamId++ : undefined;
    if (streamId !== undefined && options.onText) this.streams.set(streamId, options.onText);
    const cancellation = new CancellationTokenSource();
    const onAbort = (): void => cancellation.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.activeRequests++;
    clearTimeout(this.idleTimer);
    this.setState(this.restingState());
    try {
      const answer = await worker.call((connection) => send(connection, streamId, cancellation.token));
      this.answeredBy.add(worker);
      return answer;
    } catch (error) {
      throw this.toEngineError(error);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      cancellation.dispose();
      if (streamId !== undefined) this.streams.delete(streamId);
      this.activeRequests--;
      this.touchIdleTimer();
      if (!this.disposed) this.setState(this.restingState());
    }
  }

  /**
   * One streamed generation (complete, infill, chat, json): an already-aborted signal answers at once, the
   * text streams to `options.onText`, and the kinds the request log counts are logged.
   */
  private async generation<P extends { lane: Lane; streamId?: number }, R extends GenerationResult>(
    type: RequestType<P, R, void>,
    request: Omit<P, "streamId">,
    options: RequestOptions,
    aborted: () => R,
    logAs?: RequestLogEntry["kind"],
  ): Promise<R> {
    if (options.signal?.aborted) return aborted();
    const send = (): Promise<R> => this.request(options, (c, streamId, token) => c.sendRequest(type, { ...request, ...(streamId ? { streamId } : {}) } as P, token));
    return logAs ? this.logged(this.requestLog.start(logAs, request.lane), options.signal, send) : send();
  }

  async complete(request: CompletionRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.generation(Requests.complete, request, options, abortedResult, "complete");
  }

  async infill(request: InfillRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.generation(Requests.infill, request, options, abortedResult, "infill");
  }

  async chat(request: ChatRequest, options: RequestOptions = {}): Promise<GenerationResult> {
    return this.generation(Requests.chat, request, options, abortedResult, "chat");
  }

  async chatPromptSize(messages: ChatMessage[]): Promise<ChatPromptSize> {
    return this.request({}, (c) => c.sendRequest(Requests.chatPromptSize, { messages }));
  }

  private async logged<R extends GenerationResult>(entry: RequestLogEntry, signal: AbortSignal | undefined, run: () => Promise<R>): Promise<R> {
    try {
      const result = await run();
      this.requestLog.finish(entry, result.stopReason, result.promptTokensEvaluated, result.promptTokens);
      return result;
    } catch (error) {
      this.requestLog.finish(entry, signal?.aborted || (error instanceof EngineError && error.kind === "cancelled") ? "aborted" : "error");
      throw error;
    }
  }

  async json(request: JsonRequest, options: RequestOptions = {}): Promise<JsonResult> {
    return this.generation(Requests.json, request, options, () => ({ ...abortedResult(), value: undefined }));
  }

  async embed(texts: string[], options: { signal?: AbortSignal } = {}): Promise<EmbedResult> {
    return this.request(options, (c, _streamId, token) => c.sendRequest(Requests.embed, { texts }, token));
  }

  async tokenize(text: string): Promise<TokenizeResult> {
    return this.request({}, (c) => c.sendRequest(Requests.tokenize, { text }));
  }

  /** Saves the lane's KV state (the note it holds) so a later load can restore it instead of re-reading. */
  async saveState(lane: Lane): Promise<SaveStateResult> {
    return this.request({}, (c) => c.sendRequest(Requests.saveState, { lane }));
  }

  /** Restores the saved state sharing the longest prefix with `prompt` (call it when a note is opened). */
  async restoreState(lane: Lane, prompt: string, options: { signal?: AbortSignal } = {}): Promise<RestoreStateResult> {
    return this.request(options, (c, _streamId, token) => c.sendRequest(Requests.restoreState, { lane, prompt }, token));
  }

  async unload(): Promise<void> {
    clearTimeout(this.idleTimer);
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded && this.worker === loaded.worker) {
      await loaded.worker
        .call((c) => c.sendRequest(Requests.unload, {}))
        .catch((error: unknown) => {
          this.options.log.warn(`Unloading failed: ${(error as Error).message}`);
        });
    }
    if (!this.disposed) this.setState(this.restingState());
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    await worker?.stop();
    this.stateEmitter.dispose();
  }
}
