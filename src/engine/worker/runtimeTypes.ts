/**
 * What the worker's runtime pieces share: a loaded model with its lanes, the fault type, the log, and the
 * constants of warm starts. Types only come from node-llama-cpp here; the library itself is passed in.
 */
import type { ChatWrapper, Llama, LlamaCompletion, LlamaContext, LlamaContextSequence, LlamaEmbeddingContext, LlamaGrammar, LlamaModel, TokenBias } from "node-llama-cpp";
import type { Lane, LoadParams, ModelInfo } from "../protocol";
import type { NoteStateCache } from "./noteStateCache";

export type NodeLlamaCpp = typeof import("node-llama-cpp");
export type WorkerLog = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** An error with a protocol code; the worker entry turns it into a JSON-RPC error. */
export class EngineFault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface LaneState {
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** Requests on one sequence run one after another. */
  tail: Promise<unknown>;
}

export interface LoadedModel {
  params: LoadParams;
  info: ModelInfo;
  llama: Llama;
  model: LlamaModel;
  context?: LlamaContext;
  lanes: Map<Lane, LaneState>;
  embedding?: Promise<LlamaEmbeddingContext>;
  biases: Map<string, TokenBias>;
  grammars: Map<string, Promise<LlamaGrammar>>;
  /** The draft model and its context, when draft-model speculation is configured. */
  draft?: { model: LlamaModel; context: LlamaContext };
  /** The chat wrapper for the model's template, resolved on first use. */
  chatWrapper?: ChatWrapper;
  /** Saved note states on disk, when the client passed a folder. */
  stateCache?: NoteStateCache;
  /** Which model, file and KV layout a saved state belongs to. */
  modelKey: string;
}

export interface StreamSink {
  signal: AbortSignal;
  onText?: (text: string) => void;
}

/** The library and the log, which every runtime piece needs. */
export interface RuntimeDeps {
  lib: NodeLlamaCpp;
  log: WorkerLog;
}

/** Below this many shared tokens a saved state is not worth reading from disk. */
export const MIN_RESTORE_TOKENS = 128;
/** A completion that had to read this many prompt tokens saves the note's state afterwards by itself. */
export const AUTO_SAVE_TOKENS = 256;
/** Lanes whose KV cache follows one long note: warm starts apply to these. */
export const NOTE_LANES: readonly Lane[] = ["completion"];
