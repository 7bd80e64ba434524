/**
 * The one typed protocol between the extension host and the engine worker (and, in shape, a remote engine).
 * JSON-RPC over Node IPC via vscode-jsonrpc: the same transport language servers use, with request
 * cancellation ($/cancelRequest) built in. Streaming is a notification keyed by a stream id that the
 * client puts in the request; the worker flushes every chunk before it answers the request.
 *
 * Pure: imports no vscode and no node-llama-cpp.
 */
import { NotificationType, RequestType, RequestType0 } from "vscode-jsonrpc";

export type GpuChoice = "auto" | "cuda" | "metal" | "vulkan" | "cpu";
/** The backend actually in use, as llama.cpp reports it; "remote" for an OpenAI-compatible server. */
export type Backend = "cuda" | "metal" | "vulkan" | "cpu" | "remote";

/** A model slot: the generation model, and optionally a separate embedding model. */
export type ModelSlot = "generation" | "embedding";

/**
 * A lane is one context sequence with its own KV cache. Inline completion owns one so its cache keeps
 * matching the note as it grows; everything else (chat, Q&A, differential) shares the other.
 */
export type Lane = "completion" | "general";
export const LANES: readonly Lane[] = ["completion", "general"];

export interface LoadParams {
  slot: ModelSlot;
  path: string;
  gpu: GpuChoice;
  /** "auto" fits layers to free VRAM; a number forces it; 0 keeps the model on the CPU. */
  gpuLayers: "auto" | number;
  threads: number;
  contextSize: number;
  flashAttention: boolean;
  batchSize?: number;
  /**
   * Input-lookup speculative decoding on the completion lane: drafts the next tokens by finding the
   * current ending earlier in the note (names, drugs, phrases) and verifies them in one batch. The output
   * is identical to plain decoding; only the speed changes. Default on.
   */
  lookupDecoding?: boolean;
  /** A small GGUF model with the same vocabulary that drafts tokens for the completion lane instead. */
  draftModelPath?: string;
  /**
   * Where saved KV states of long notes go (the extension passes its global storage), so the first
   * completion after a model reload or restart does not re-read the note. Absent: no warm starts.
   */
  stateCacheDir?: string;
  /** Upper bound on the bytes kept in stateCacheDir; the least recently used states go first. */
  stateCacheMaxBytes?: number;
  /**
   * Read the weights into memory instead of memory-mapping the file. On a CPU llama.cpp repacks Q4_0
   * weights into a second buffer, so a mapped file stays resident beside its repacked copy (peak RSS about
   * twice the file); read in, the peak is about the file (7B Q4_0: 9.7 -> 6.1 GB, `npm run bench -- memory`).
   */
  lowMemory?: boolean;
}

export interface ModelInfo {
  slot: ModelSlot;
  path: string;
  fileBytes: number;
  architecture: string;
  name?: string;
  trainContextLength: number;
  contextSize: number;
  chatTemplate?: string;
  infillSupported: boolean;
  embeddingLength?: number;
  backend: Backend;
  gpuLayers: number;
  totalLayers: number;
  threads: number;
  flashAttention: boolean;
  loadMs: number;
  /** The local worker's peak resident memory once the model and its contexts are in place (process.resourceUsage().maxRSS). */
  peakRssBytes?: number;
  /** The weights were read into memory instead of memory-mapped (bedside.engine.lowMemory). */
  lowMemory?: boolean;
}

export interface GenerationLimits {
  maxTokens: number;
  /** Generation stops before any of these strings; the stop string itself is not returned. */
  stop?: string[];
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  /** Token texts the model must not produce (e.g. digits in a clinical completion). */
  bannedTexts?: string[];
}

export interface CompleteParams extends GenerationLimits {
  prompt: string;
  lane: Lane;
  streamId?: number;
}

export interface InfillParams extends GenerationLimits {
  prefix: string;
  suffix: string;
  lane: Lane;
  streamId?: number;
}

export interface JsonParams extends GenerationLimits {
  prompt: string;
  /** A JSON schema in the subset llama.cpp grammars support. */
  schema: object;
  /** Bans non-ASCII tokens so a cut-off multi-byte character cannot break the JSON. */
  asciiOnly?: boolean;
  lane: Lane;
  streamId?: number;
}

/** One message of a conversation, in the roles every chat template knows. */
export type ChatRole = "system" | "user" | "assistant";
export interface ChatMessage {
  role: ChatRole;
  text: string;
}

/**
 * A reply to a conversation, formatted with the model's own chat template (node-llama-cpp's chat
 * wrappers, resolved from the GGUF's `tokenizer.chat_template`). For a base model without a template
 * the caller builds a plain prompt and uses `complete` instead.
 */
export interface ChatParams extends GenerationLimits {
  messages: ChatMessage[];
  lane: Lane;
  streamId?: number;
}

export interface ChatPromptSizeParams {
  messages: ChatMessage[];
}
export interface ChatPromptSize {
  /** Tokens of the formatted conversation, ready for the reply (what `chat` would evaluate). */
  tokens: number;
  /** The chat wrapper node-llama-cpp chose for the model's template (e.g. "ChatML", "Llama3"). */
  wrapper: string;
}

export type StopReason = "eos" | "stop" | "maxTokens" | "aborted";

export interface GenerationResult {
  text: string;
  stopReason: StopReason;
  /** Prompt tokens actually evaluated (0 when the KV cache already held them). */
  promptTokensEvaluated: number;
  promptTokens: number;
  generatedTokens: number;
  /** From request arrival in the worker to the first generated text. */
  firstTokenMs: number;
  totalMs: number;
  /** From the start of evaluation (after any state restore) to the first generated token: prompt processing. */
  promptEvalMs?: number;
  /** From the first generated token to the last: generatedTokens - 1 decode steps. */
  decodeMs?: number;
  /** Prompt tokens that came from a saved state on disk for this request (a warm start); 0 when none. */
  restoredTokens?: number;
  /** Speculative decoding: drafted tokens the model confirmed and rejected in this request. */
  draftAccepted?: number;
  draftRejected?: number;
}

export interface JsonResult extends GenerationResult {
  value: unknown;
}

export interface EmbedParams {
  texts: string[];
}
export interface EmbedResult {
  vectors: number[][];
  slot: ModelSlot;
}

export interface TokenizeParams {
  text: string;
  slot?: ModelSlot;
}
export interface TokenizeResult {
  tokens: number[];
  count: number;
  /** The server has no tokenizer to ask (Ollama): `count` is an upper estimate and `tokens` is empty. */
  estimated?: boolean;
}

export interface SaveStateParams {
  lane: Lane;
}
export interface SaveStateResult {
  saved: boolean;
  /** Tokens in the saved state (the lane's KV cache). */
  tokens: number;
  bytes: number;
  /** Why nothing was saved (no cache folder, too short, already saved). */
  reason?: string;
}

export interface RestoreStateParams {
  lane: Lane;
  /** The prompt about to be completed; the saved state sharing the longest prefix with it is restored. */
  prompt: string;
}
export interface RestoreStateResult {
  restored: boolean;
  /** Prompt tokens the lane's KV cache now holds without evaluating them. */
  tokens: number;
  /** Why nothing was restored (none saved, cache already better, state file rejected). */
  reason?: string;
}

export interface UnloadParams {
  slot?: ModelSlot;
}

export interface WorkerHello {
  pid: number;
  nodeVersion: string;
  llamaCppPackageVersion: string;
}

export interface TextChunk {
  streamId: number;
  text: string;
}

export interface WorkerLogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/** Errors the worker reports with a code the client can act on, never a stack trace for the user. */
export const ErrorCodes = {
  ModelNotLoaded: -32001,
  ModelLoadFailed: -32002,
  InvalidModelFile: -32003,
  InfillUnsupported: -32004,
  GenerationFailed: -32005,
  EmbeddingUnsupported: -32006,
} as const;

export const Requests = {
  hello: new RequestType0<WorkerHello, void>("engine/hello"),
  load: new RequestType<LoadParams, ModelInfo, void>("engine/load"),
  unload: new RequestType<UnloadParams, void, void>("engine/unload"),
  modelInfo: new RequestType<{ slot: ModelSlot }, ModelInfo | null, void>("engine/modelInfo"),
  complete: new RequestType<CompleteParams, GenerationResult, void>("engine/complete"),
  infill: new RequestType<InfillParams, GenerationResult, void>("engine/infill"),
  json: new RequestType<JsonParams, JsonResult, void>("engine/json"),
  chat: new RequestType<ChatParams, GenerationResult, void>("engine/chat"),
  chatPromptSize: new RequestType<ChatPromptSizeParams, ChatPromptSize, void>("engine/chatPromptSize"),
  embed: new RequestType<EmbedParams, EmbedResult, void>("engine/embed"),
  tokenize: new RequestType<TokenizeParams, TokenizeResult, void>("engine/tokenize"),
  saveState: new RequestType<SaveStateParams, SaveStateResult, void>("engine/saveState"),
  restoreState: new RequestType<RestoreStateParams, RestoreStateResult, void>("engine/restoreState"),
} as const;

export const Notifications = {
  textChunk: new NotificationType<TextChunk>("engine/textChunk"),
  log: new NotificationType<WorkerLogLine>("engine/log"),
} as const;
