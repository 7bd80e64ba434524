/**
 * The one interface every feature talks to. Whether a local worker or a remote server is behind it,
 * completion, Q&A, the differential and chat never know. Pure: no vscode, no node-llama-cpp.
 */
import type { Event } from "vscode-jsonrpc";
import type {
  ChatMessage,
  ChatParams,
  ChatPromptSize,
  CompleteParams,
  EmbedResult,
  GenerationResult,
  InfillParams,
  JsonParams,
  JsonResult,
  Lane,
  ModelInfo,
  RestoreStateResult,
  SaveStateResult,
  TokenizeResult,
} from "./protocol";

export type EngineState =
  | { kind: "noModel" }
  /** A model is configured but not loaded (not yet needed, or unloaded after idling). */
  | { kind: "idle"; modelPath: string }
  | { kind: "loading"; modelPath: string }
  | { kind: "ready"; info: ModelInfo }
  | { kind: "busy"; info: ModelInfo; requests: number }
  | { kind: "restarting"; reason: string }
  | { kind: "error"; message: string };

export interface RequestOptions {
  signal?: AbortSignal;
  /** Streamed text as it is generated; everything passed here is also in the result's text. */
  onText?: (text: string) => void;
}

export type CompletionRequest = Omit<CompleteParams, "streamId">;
export type InfillRequest = Omit<InfillParams, "streamId">;
export type JsonRequest = Omit<JsonParams, "streamId">;
export type ChatRequest = Omit<ChatParams, "streamId">;

export interface Engine {
  readonly state: EngineState;
  readonly onDidChangeState: Event<EngineState>;
  /** Loads the configured model if it is not loaded yet; resolves with its facts. */
  ensureReady(options?: { signal?: AbortSignal }): Promise<ModelInfo>;
  complete(request: CompletionRequest, options?: RequestOptions): Promise<GenerationResult>;
  infill(request: InfillRequest, options?: RequestOptions): Promise<GenerationResult>;
  json(request: JsonRequest, options?: RequestOptions): Promise<JsonResult>;
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<EmbedResult>;
  /**
   * A reply to a conversation in the model's own chat template (when `ModelInfo.chatTemplate` is set),
   * and the size of such a conversation in tokens, for fitting it into the context window. Absent on an
   * engine that cannot format chats; callers then build a plain prompt for `complete`.
   */
  chat?(request: ChatRequest, options?: RequestOptions): Promise<GenerationResult>;
  chatPromptSize?(messages: ChatMessage[]): Promise<ChatPromptSize>;
  tokenize(text: string): Promise<TokenizeResult>;
  /**
   * Warm starts: save the KV state of the note a lane holds, and restore it when the note is opened
   * again after a reload or restart. Absent on engines without a local KV cache (a remote server).
   */
  saveState?(lane: Lane): Promise<SaveStateResult>;
  restoreState?(lane: Lane, prompt: string, options?: { signal?: AbortSignal }): Promise<RestoreStateResult>;
  /** Frees the model's memory; the next request loads it again. */
  unload(): Promise<void>;
  dispose(): Promise<void>;
}

export type EngineErrorKind = "noModel" | "invalidModel" | "loadFailed" | "crashed" | "cancelled" | "unsupported" | "failed" | "disposed";

/** An error whose message is written for the clinician: what happened and what to do. */
export class EngineError extends Error {
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "EngineError";
  }
}

/** What a request cancelled before it produced anything returns, whichever engine served it. */
export function abortedResult(): GenerationResult {
  return { text: "", stopReason: "aborted", promptTokensEvaluated: 0, promptTokens: 0, generatedTokens: 0, firstTokenMs: 0, totalMs: 0 };
}
