/**
 * The shapes and defaults of Bedside's settings, one section per feature. Pure: no `vscode`, so pure modules
 * (the completion session, the chat session, Ask the Literature's prompt) can use these types; the reading is
 * in ./index.ts.
 */
import * as os from "node:os";
import * as path from "node:path";

/** A path setting as the user wrote it, with a leading `~` taken as the home folder. */
export function expandHome(configured: string, home: string = os.homedir()): string {
  return configured.startsWith("~") ? path.join(home, configured.slice(1)) : configured;
}

/** `bedside.completion.*` as the completion session uses it. */
export interface CompletionSettings {
  /** Tokens of text before the cursor the model sees. */
  contextTokens: number;
  maxTokens: number;
  /** A request that runs longer is stopped and its partial text used. */
  timeoutMs: number;
  allowNumbers: boolean;
  /**
   * Send the text after the cursor too (fill-in-the-middle) when the model has infill tokens. Off by
   * default: on the trained test model it saved far less than the text before the cursor alone.
   */
  fillInTheMiddle: boolean;
}

/** `bedside.completion.*` in full: the session's settings and whether and where completions run. */
export interface CompletionConfig extends CompletionSettings {
  enabled: boolean;
  /** Language ids that get completions: `note`, and markdown or plaintext when opted in. */
  languages: string[];
}

/** `bedside.literature.relevanceThreshold`'s default (package.json says the same). */
export const RELEVANCE_THRESHOLD_DEFAULT = 0.4;

/** `bedside.literature.*` as Ask the Literature uses it. */
export interface AnswerSettings {
  /** Sources retrieved per question. */
  sources: number;
  /** Least query coverage (0..1) of the best source for an answer to be written. */
  relevanceThreshold: number;
  ranking: "bm25" | "hybrid";
  maxAnswerTokens: number;
}

/** `bedside.chat.*` as the chat session uses it. */
export interface ChatSettings {
  maxTokens: number;
  temperature: number;
  /** Passages `@library` asks the library for. */
  libraryPassages: number;
  /** Relevance (0..1 against the question's best possible match) a source needs to be used. */
  libraryRelevance: number;
}

/** `bedside.chat.context`: whether the open note is attached to a new chat by itself. */
export type AutoContext = "none" | "note";

/** `bedside.engine.endpoint` and its companions: the OpenAI-compatible server, when one is set. */
export interface RemoteEngineSettings {
  /** Empty or undefined: the local engine (empty: set but blank, as the user left it). */
  endpoint: string | undefined;
  model: string | undefined;
  timeoutMs: number;
}
