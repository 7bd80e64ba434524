/**
 * Generation on a lane: one run with its limits, banned texts, grammar, warm start and window slide, timed
 * and counted the same way for completions, infill, JSON and chat; and what each kind needs first (a
 * compiled JSON grammar, the chat prompt in the model's own template).
 */
import type { ChatHistoryItem, ChatWrapper, LlamaCompletion, LlamaGrammar, Token, TokenBias } from "node-llama-cpp";
import { ErrorCodes, type ChatMessage, type GenerationLimits, type GenerationResult, type Lane, type StopReason } from "../protocol";
import { onLane, restoreLaneState, slideWindow } from "./laneState";
import { EngineFault, NOTE_LANES, type LaneState, type LoadedModel, type NodeLlamaCpp, type RuntimeDeps, type StreamSink } from "./runtimeTypes";

/** Compiled JSON-schema grammars kept per model (least recently used dropped first). */
const MAX_CACHED_GRAMMARS = 16;

type GenerateOptions = Parameters<LlamaCompletion["generateCompletionWithMeta"]>[1];
type GenerateResponse = ReturnType<LlamaCompletion["generateCompletionWithMeta"]>;

export interface GenerationExtras {
  grammar?: LlamaGrammar;
  asciiOnly?: boolean;
  /** Restore the note's saved KV state for this prompt first (note lanes only). */
  warmPrompt?: string;
  /** Slide the completion lane's cache to this prompt first. */
  slideWindowFor?: string;
}

function tokenBias(lib: NodeLlamaCpp, loaded: LoadedModel, banned: readonly string[] | undefined, asciiOnly: boolean): TokenBias | undefined {
  if ((!banned || banned.length === 0) && !asciiOnly) return undefined;
  const key = JSON.stringify([banned ?? [], asciiOnly]);
  const cached = loaded.biases.get(key);
  if (cached) return cached;
  const bias = new lib.TokenBias(loaded.model.tokenizer);
  const metadata = loaded.model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: readonly string[] } } };
  const vocabularySize = metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  // Ban every token whose text contains a banned string: a digit hides inside "12", "0.5", "x3".
  // asciiOnly also bans byte tokens that could stop in the middle of a character and break JSON.
  for (let token = 0; token < vocabularySize; token++) {
    const text = loaded.model.detokenize([token as never]);
    if (banned?.some((b) => text.includes(b)) || (asciiOnly && /[^\x00-\x7f]/.test(text))) bias.set(token as never, "never");
  }
  loaded.biases.set(key, bias);
  return bias;
}

/** Runs one generation on the lane after what is queued there, and measures it. */
export async function generate(
  deps: RuntimeDeps,
  loaded: LoadedModel,
  laneName: Lane,
  limits: GenerationLimits,
  sink: StreamSink,
  promptTokens: (loaded: LoadedModel) => number,
  run: (lane: LaneState, options: GenerateOptions) => GenerateResponse,
  extra: GenerationExtras = {},
): Promise<GenerationResult> {
  const arrived = performance.now();
  return onLane(loaded, laneName, async (lane, loaded) => {
    if (sink.signal.aborted) {
      return { text: "", stopReason: "aborted", promptTokensEvaluated: 0, promptTokens: 0, generatedTokens: 0, firstTokenMs: 0, totalMs: 0 };
    }
    // A note reopened after a reload or restart: read its saved KV state instead of the note.
    let restoredTokens = 0;
    if (extra.warmPrompt !== undefined && loaded.stateCache && NOTE_LANES.includes(laneName)) {
      const restored = await restoreLaneState(loaded, lane, extra.warmPrompt, deps.log);
      if (restored.restored) restoredTokens = restored.tokens;
    }
    if (extra.slideWindowFor !== undefined && laneName === "completion") await slideWindow(loaded, lane, extra.slideWindowFor, deps.log);
    const before = lane.sequence.tokenMeter.getState();
    const predictionsBefore = lane.sequence.tokenPredictions;
    let firstTokenAt: number | undefined;
    let firstGeneratedAt: number | undefined;
    let lastGeneratedAt: number | undefined;
    let emittedTokens = 0;
    const bias = tokenBias(deps.lib, loaded, limits.bannedTexts, extra.asciiOnly ?? false);
    let response;
    const evalStarted = performance.now();
    try {
      response = await run(lane, {
        maxTokens: limits.maxTokens,
        temperature: limits.temperature ?? 0,
        ...(limits.topK !== undefined ? { topK: limits.topK } : {}),
        ...(limits.topP !== undefined ? { topP: limits.topP } : {}),
        ...(limits.seed !== undefined ? { seed: limits.seed } : {}),
        ...(limits.stop && limits.stop.length > 0 ? { customStopTriggers: limits.stop } : {}),
        ...(bias ? { tokenBias: bias } : {}),
        ...(extra.grammar ? { grammar: extra.grammar } : {}),
        signal: sink.signal,
        stopOnAbortSignal: true,
        onToken: (tokens) => {
          emittedTokens += tokens.length;
          lastGeneratedAt = performance.now();
          firstGeneratedAt ??= lastGeneratedAt;
        },
        onTextChunk: (text) => {
          firstTokenAt ??= performance.now();
          sink.onText?.(text);
        },
      });
    } catch (error) {
      if (sink.signal.aborted) {
        return {
          text: "",
          stopReason: "aborted" as StopReason,
          promptTokensEvaluated: 0,
          promptTokens: 0,
          generatedTokens: 0,
          firstTokenMs: 0,
          totalMs: performance.now() - arrived,
        };
      }
      throw new EngineFault(ErrorCodes.GenerationFailed, `Generation failed: ${(error as Error).message}`);
    }
    const used = lane.sequence.tokenMeter.diff(before);
    const predictions = lane.sequence.tokenPredictions;
    const finished = performance.now();
    const reason = response.metadata.stopReason;
    const stopReason: StopReason = reason === "abort" ? "aborted" : reason === "maxTokens" ? "maxTokens" : reason === "eogToken" ? "eos" : "stop";
    return {
      text: response.response,
      stopReason,
      promptTokensEvaluated: used.usedInputTokens,
      promptTokens: promptTokens(loaded),
      // With a token predictor the meter also counts drafted tokens that were checked; count what was emitted.
      generatedTokens: lane.sequence.tokenPredictor ? emittedTokens : used.usedOutputTokens,
      firstTokenMs: (firstTokenAt ?? finished) - arrived,
      totalMs: finished - arrived,
      promptEvalMs: (firstGeneratedAt ?? finished) - evalStarted,
      decodeMs: firstGeneratedAt !== undefined && lastGeneratedAt !== undefined ? lastGeneratedAt - firstGeneratedAt : 0,
      restoredTokens,
      ...(lane.sequence.tokenPredictor
        ? { draftAccepted: predictions.validated - predictionsBefore.validated, draftRejected: predictions.refuted - predictionsBefore.refuted }
        : {}),
    };
  });
}

/** The compiled grammar for a JSON schema, from the model's bounded cache. */
export async function grammarFor(loaded: LoadedModel, schema: unknown): Promise<LlamaGrammar> {
  const key = JSON.stringify(schema);
  let grammarPromise = loaded.grammars.get(key);
  if (grammarPromise) {
    // Most recently used last, so the oldest is evicted first.
    loaded.grammars.delete(key);
    loaded.grammars.set(key, grammarPromise);
  } else {
    grammarPromise = loaded.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
    loaded.grammars.set(key, grammarPromise);
    grammarPromise.catch(() => loaded.grammars.delete(key));
    // Schemas that enumerate a note's own phrases differ per note: keep the cache bounded.
    for (const old of loaded.grammars.keys()) {
      if (loaded.grammars.size <= MAX_CACHED_GRAMMARS) break;
      loaded.grammars.delete(old);
    }
  }
  try {
    return await grammarPromise;
  } catch (error) {
    throw new EngineFault(ErrorCodes.GenerationFailed, `The JSON schema cannot be turned into a grammar: ${(error as Error).message}`);
  }
}

/** The JSON value of a grammar-constrained answer (a fault when the model did not finish it). */
export function parseJsonAnswer(result: GenerationResult, maxTokens: number): unknown {
  try {
    return JSON.parse(result.text);
  } catch {
    throw new EngineFault(
      ErrorCodes.GenerationFailed,
      result.stopReason === "maxTokens" ? `The model ran out of tokens (${maxTokens}) before finishing the JSON; allow more tokens.` : "The model's output was not valid JSON.",
    );
  }
}

function chatWrapperFor(lib: NodeLlamaCpp, loaded: LoadedModel): ChatWrapper {
  // node-llama-cpp picks a specialised wrapper for templates it recognises (ChatML, Llama 3, Gemma...)
  // and runs the GGUF's Jinja template for the rest.
  loaded.chatWrapper ??= lib.resolveChatWrapper(loaded.model, { warningLogs: false });
  return loaded.chatWrapper;
}

/** The conversation as the model's template writes it, ending where the assistant's reply begins. */
export function chatPrompt(
  lib: NodeLlamaCpp,
  loaded: LoadedModel,
  messages: readonly ChatMessage[],
): { wrapper: ChatWrapper; tokens: Token[]; stopGenerationTriggers: ReturnType<ChatWrapper["generateContextState"]>["stopGenerationTriggers"] } {
  const wrapper = chatWrapperFor(lib, loaded);
  const chatHistory: ChatHistoryItem[] = messages.map((m): ChatHistoryItem =>
    m.role === "system" ? { type: "system", text: m.text } : m.role === "user" ? { type: "user", text: m.text } : { type: "model", response: [m.text] },
  );
  chatHistory.push({ type: "model", response: [] });
  const { contextText, stopGenerationTriggers } = wrapper.generateContextState({ chatHistory });
  const tokens = contextText.tokenize(loaded.model.tokenizer);
  // LlamaCompletion puts the BOS token in front itself; a template that writes one would double it.
  const bos = loaded.model.tokens.bos;
  if (bos !== null && tokens[0] === bos) tokens.shift();
  return { wrapper, tokens, stopGenerationTriggers };
}
