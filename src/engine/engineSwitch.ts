/**
 * The engine features hold: the local worker, or the remote server when `bedside.engine.endpoint` is set.
 * Switching is instant and features never notice; warm starts (saved KV states) exist only locally.
 * Pure: no vscode, no node-llama-cpp.
 */
import { Emitter, type Disposable } from "vscode-jsonrpc";
import { EngineError, type ChatRequest, type CompletionRequest, type Engine, type EngineState, type InfillRequest, type JsonRequest, type RequestOptions } from "./engine";
import type { ChatMessage, ChatPromptSize, EmbedResult, GenerationResult, JsonResult, Lane, ModelInfo, RestoreStateResult, SaveStateResult, TokenizeResult } from "./protocol";

export class EngineSwitch implements Engine {
  private readonly emitter = new Emitter<EngineState>();
  readonly onDidChangeState = this.emitter.event;
  private remote: Engine | undefined;
  private remoteSubscription: Disposable | undefined;
  private readonly localSubscription: Disposable;

  constructor(readonly local: Engine) {
    this.localSubscription = local.onDidChangeState((s) => {
      if (!this.remote) this.emitter.fire(s);
    });
  }

  /** The engine requests go to now. */
  get active(): Engine {
    return this.remote ?? this.local;
  }

  get isRemote(): boolean {
    return this.remote !== undefined;
  }

  /** Sends requests to `remote` from now on, or back to the local worker with undefined. */
  async useRemote(remote: Engine | undefined): Promise<void> {
    const previous = this.remote;
    this.remoteSubscription?.dispose();
    this.remote = remote;
    this.remoteSubscription = remote?.onDidChangeState((s) => {
      if (this.remote === remote) this.emitter.fire(s);
    });
    this.emitter.fire(this.active.state);
    if (previous && previous !== remote) await previous.dispose();
    // The local model's memory is not needed while a server does the work.
    if (remote) await this.local.unload();
  }

  get state(): EngineState {
    return this.active.state;
  }
  ensureReady(options?: { signal?: AbortSignal }): Promise<ModelInfo> {
    return this.active.ensureReady(options);
  }
  complete(request: CompletionRequest, options?: RequestOptions): Promise<GenerationResult> {
    return this.active.complete(request, options);
  }
  infill(request: InfillRequest, options?: RequestOptions): Promise<GenerationResult> {
    return this.active.infill(request, options);
  }
  json(request: JsonRequest, options?: RequestOptions): Promise<JsonResult> {
    return this.active.json(request, options);
  }
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<EmbedResult> {
    return this.active.embed(texts, options);
  }
  tokenize(text: string): Promise<TokenizeResult> {
    return this.active.tokenize(text);
  }
  /** Chat in the model's own template, where the active engine can format one ("unsupported" otherwise). */
  chat(request: ChatRequest, options?: RequestOptions): Promise<GenerationResult> {
    const e = this.active;
    return e.chat ? e.chat(request, options) : Promise.reject(new EngineError("unsupported", "This engine cannot format chats; use a plain prompt."));
  }
  chatPromptSize(messages: ChatMessage[]): Promise<ChatPromptSize> {
    const e = this.active;
    return e.chatPromptSize ? e.chatPromptSize(messages) : Promise.reject(new EngineError("unsupported", "This engine cannot format chats; use a plain prompt."));
  }
  async saveState(lane: Lane): Promise<SaveStateResult> {
    const e = this.active;
    return e.saveState ? e.saveState(lane) : { saved: false, tokens: 0, bytes: 0, reason: "the remote engine keeps no local state" };
  }
  async restoreState(lane: Lane, prompt: string, options?: { signal?: AbortSignal }): Promise<RestoreStateResult> {
    const e = this.active;
    return e.restoreState ? e.restoreState(lane, prompt, options) : { restored: false, tokens: 0, reason: "the remote engine keeps no local state" };
  }
  unload(): Promise<void> {
    return this.active.unload();
  }
  async dispose(): Promise<void> {
    this.localSubscription.dispose();
    this.remoteSubscription?.dispose();
    await this.remote?.dispose();
    this.emitter.dispose();
  }
}
