/**
 * Owns node-llama-cpp inside the worker process: loading models, one context sequence per lane, and
 * every kind of generation. This file (with the worker entry) is the only code that touches
 * node-llama-cpp; the extension host never loads it.
 */
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaCompletion,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  TokenBias,
} from "node-llama-cpp";
import { findWindowSlide } from "../windowSlide";
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { readGgufHeader, GgufFormatError } from "../ggufHeader";
import { NoteStateCache, commonPrefixLength } from "./noteStateCache";
import {
  ErrorCodes,
  LANES,
  type Backend,
  type ChatMessage,
  type ChatParams,
  type ChatPromptSize,
  type CompleteParams,
  type EmbedResult,
  type GenerationLimits,
  type GenerationResult,
  type GpuChoice,
  type InfillParams,
  type JsonParams,
  type JsonResult,
  type Lane,
  type LoadParams,
  type ModelInfo,
  type ModelSlot,
  type RestoreStateResult,
  type SaveStateResult,
  type StopReason,
  type TokenizeResult,
} from "../protocol";

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

interface LaneState {
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** Requests on one sequence run one after another. */
  tail: Promise<unknown>;
}

interface LoadedModel {
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

/** Below this many shared tokens a saved state is not worth reading from disk. */
const MIN_RESTORE_TOKENS = 128;
/** A completion that had to read this many prompt tokens saves the note's state afterwards by itself. */
const AUTO_SAVE_TOKENS = 256;
/** Lanes whose KV cache follows one long note: warm starts apply to these. */
const NOTE_LANES: readonly Lane[] = ["completion"];
/** Compiled JSON-schema grammars kept per model (least recently used dropped first). */
const MAX_CACHED_GRAMMARS = 16;

export interface StreamSink {
  signal: AbortSignal;
  onText?: (text: string) => void;
}

function sameLoad(a: LoadParams, b: LoadParams): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class LlamaRuntime {
  private readonly llamas = new Map<GpuChoice, Promise<Llama>>();
  private readonly slots = new Map<ModelSlot, LoadedModel>();
  private readonly loading = new Map<ModelSlot, Promise<ModelInfo>>();

  constructor(
    private readonly lib: NodeLlamaCpp,
    private readonly log: WorkerLog,
  ) {}

  private llamaFor(gpu: GpuChoice): Promise<Llama> {
    let llama = this.llamas.get(gpu);
    if (!llama) {
      llama = this.lib.getLlama({
        gpu: gpu === "cpu" ? false : gpu,
        // Never compile or download at run time: the binary ships with the extension.
        build: "never",
        logLevel: this.lib.LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trim();
          if (!text) return;
          this.log(level === "error" || level === "fatal" ? "error" : level === "warn" ? "warn" : "debug", `llama.cpp: ${text}`);
        },
      });
      this.llamas.set(gpu, llama);
      llama.catch(() => this.llamas.delete(gpu));
    }
    return llama;
  }

  async load(params: LoadParams): Promise<ModelInfo> {
    const current = this.slots.get(params.slot);
    if (current && sameLoad(current.params, params)) return current.info;
    const pending = this.loading.get(params.slot);
    if (pending) await pending.catch(() => undefined);
    const promise = this.loadFresh(params);
    this.loading.set(params.slot, promise);
    try {
      return await promise;
    } finally {
      this.loading.delete(params.slot);
    }
  }

  private async loadFresh(params: LoadParams): Promise<ModelInfo> {
    await this.unload(params.slot);
    const started = performance.now();
    let fileBytes: number;
    try {
      fileBytes = (await readGgufHeader(params.path)).fileBytes;
    } catch (error) {
      if (error instanceof GgufFormatError) {
        throw new EngineFault(ErrorCodes.InvalidModelFile, `Cannot use ${params.path}: ${error.message}.`);
      }
      throw error;
    }

    let llama = await this.llamaFor(params.gpu);
    let model: LlamaModel;
    try {
      model = await this.loadModelWith(llama, params);
    } catch (error) {
      if (llama.gpu === false) throw this.loadFault(params, error);
      // A GPU that cannot take the model (out of memory, driver trouble) should not stop the clinician.
      this.log("warn", `Loading on ${llama.gpu} failed (${(error as Error).message}); falling back to the CPU.`);
      llama = await this.llamaFor("cpu");
      try {
        model = await this.loadModelWith(llama, { ...params, gpuLayers: 0 });
      } catch (cpuError) {
        throw this.loadFault(params, cpuError);
      }
    }

    const backend: Backend = llama.gpu === false ? "cpu" : llama.gpu;
    const trainContextLength = model.trainContextSize;
    const contextSize = Math.max(64, Math.min(params.contextSize, trainContextLength));
    const loaded: LoadedModel = {
      params,
      llama,
      model,
      lanes: new Map(),
      biases: new Map(),
      grammars: new Map(),
      modelKey: "",
      info: undefined as unknown as ModelInfo,
    };
    let infillSupported = false;
    try {
      if (params.slot === "generation") {
        const context = await model.createContext({
          contextSize,
          sequences: LANES.length,
          threads: params.threads,
          flashAttention: params.flashAttention,
          ...(params.batchSize ? { batchSize: params.batchSize } : {}),
        });
        loaded.context = context;
        const predictor = await this.completionPredictor(llama, params, contextSize, loaded);
        for (const lane of LANES) {
          const sequence = context.getSequence(lane === "completion" && predictor ? { tokenPredictor: predictor } : {});
          const completion = new this.lib.LlamaCompletion({ contextSequence: sequence });
          loaded.lanes.set(lane, { sequence, completion, tail: Promise.resolve() });
          infillSupported = completion.infillSupported;
        }
      } else {
        loaded.embedding = model.createEmbeddingContext({ contextSize, threads: params.threads });
        await loaded.embedding;
      }
    } catch (error) {
      await loaded.draft?.context.dispose();
      await loaded.draft?.model.dispose();
      await model.dispose();
      throw this.loadFault(params, error);
    }
    if (params.stateCacheDir && loaded.context) {
      const file = await stat(params.path);
      loaded.modelKey = createHash("sha256")
        .update(JSON.stringify([params.path, file.size, file.mtimeMs, loaded.context.flashAttention, "kv-f16"]))
        .digest("hex");
      loaded.stateCache = new NoteStateCache(params.stateCacheDir, params.stateCacheMaxBytes ?? 2 * 1024 ** 3, (m) => this.log("info", m));
    }

    const metadata = model.fileInfo.metadata as { general?: { architecture?: string; name?: string }; tokenizer?: { chat_template?: string } };
    loaded.info = {
      slot: params.slot,
      path: params.path,
      fileBytes,
      architecture: metadata.general?.architecture ?? "unknown",
      ...(metadata.general?.name ? { name: metadata.general.name } : {}),
      trainContextLength,
      contextSize: loaded.context?.contextSize ?? contextSize,
      ...(metadata.tokenizer?.chat_template ? { chatTemplate: metadata.tokenizer.chat_template } : {}),
      infillSupported,
      embeddingLength: model.embeddingVectorSize,
      backend,
      gpuLayers: model.gpuLayers,
      totalLayers: model.fileInsights.totalLayers,
      threads: params.threads,
      flashAttention: loaded.context ? loaded.context.flashAttention === true : params.flashAttention,
      loadMs: Math.round(performance.now() - started),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      ...(params.lowMemory ? { lowMemory: true } : {}),
    };
    this.slots.set(params.slot, loaded);
    this.log("info", `Loaded ${loaded.info.architecture} model (${(fileBytes / 1e6).toFixed(1)} MB) on ${backend} with ${params.threads} threads in ${loaded.info.loadMs} ms.`);
    return loaded.info;
  }

  /**
   * The completion lane's token predictor: a draft model when one is configured, else input lookup
   * (notes copy names, drugs and phrases from earlier in the same note), else none.
   */
  private async completionPredictor(llama: Llama, params: LoadParams, contextSize: number, loaded: LoadedModel) {
    if (params.draftModelPath) {
      const model = await llama.loadModel({ modelPath: params.draftModelPath, gpuLayers: llama.gpu === false ? 0 : params.gpuLayers });
      const context = await model.createContext({ contextSize, sequences: 1, threads: params.threads, flashAttention: params.flashAttention });
      loaded.draft = { model, context };
      // 3 drafts per step for the same reason as lookup below; drafted even when the draft is unsure, since
      // checking 3 costs the CPU no more than checking 1.
      return new this.lib.DraftSequenceTokenPredictor(context.getSequence(), { minTokens: 3, maxTokens: 3 });
    }
    if (params.lookupDecoding === false) return undefined;
    // Exactly 3 drafts: on a CPU with Q4_0 weights a batch of 4 costs about 2 single steps (7B, 1 thread:
    // llama-bench pp1 3.4, pp2 3.5, pp4 7.0, pp7 5.9 tok/s), while 1 draft costs 2 steps for at most 2
    // tokens and 6 drafts 4 steps for at most 7. A 2-token pattern keeps chance matches down.
    return new this.lib.InputLookupTokenPredictor({ patternLength: { min: 2 }, predictionLength: { min: 3, max: 3 } });
  }

  private loadModelWith(llama: Llama, params: LoadParams): Promise<LlamaModel> {
    return llama.loadModel({
      modelPath: params.path,
      ...(params.lowMemory ? { useMmap: false } : {}),
      gpuLayers: llama.gpu === false ? 0 : params.gpuLayers,
      defaultContextFlashAttention: params.flashAttention,
    });
  }

  private loadFault(params: LoadParams, error: unknown): EngineFault {
    if (error instanceof EngineFault) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new EngineFault(ErrorCodes.ModelLoadFailed, `Could not load ${params.path}: ${reason}`);
  }

  async unload(slot?: ModelSlot): Promise<void> {
    const slots = slot ? [slot] : [...this.slots.keys()];
    for (const s of slots) {
      const loaded = this.slots.get(s);
      if (!loaded) continue;
      this.slots.delete(s);
      // Let requests already running on the lanes finish (they were aborted by the client if it wanted).
      await Promise.allSettled([...loaded.lanes.values()].map((lane) => lane.tail));
      // Keep the note's KV state for the next load (idle unload, settings change, editor shutdown).
      for (const lane of NOTE_LANES) await this.saveLaneState(loaded, lane).catch((e: unknown) => this.log("warn", `Saving the note state failed: ${(e as Error).message}`));
      if (loaded.embedding) await (await loaded.embedding.catch(() => undefined))?.dispose();
      await loaded.context?.dispose();
      await loaded.draft?.context.dispose();
      await loaded.draft?.model.dispose();
      await loaded.model.dispose();
      this.log("info", `Unloaded the ${s} model.`);
    }
  }

  modelInfo(slot: ModelSlot): ModelInfo | null {
    return this.slots.get(slot)?.info ?? null;
  }

  private generationModel(): LoadedModel {
    const loaded = this.slots.get("generation");
    if (!loaded) throw new EngineFault(ErrorCodes.ModelNotLoaded, "No model is loaded.");
    return loaded;
  }

  /** Runs `job` after everything already queued on the lane. */
  private onLane<T>(laneName: Lane, job: (lane: LaneState, loaded: LoadedModel) => Promise<T>): Promise<T> {
    const loaded = this.generationModel();
    const lane = loaded.lanes.get(laneName);
    if (!lane) throw new EngineFault(ErrorCodes.GenerationFailed, `Unknown lane ${laneName}.`);
    const run = lane.tail.then(() => job(lane, loaded));
    lane.tail = run.catch(() => undefined);
    return run;
  }

  private tokenBias(loaded: LoadedModel, banned: readonly string[] | undefined, asciiOnly: boolean): TokenBias | undefined {
    if ((!banned || banned.length === 0) && !asciiOnly) return undefined;
    const key = JSON.stringify([banned ?? [], asciiOnly]);
    const cached = loaded.biases.get(key);
    if (cached) return cached;
    const bias = new this.lib.TokenBias(loaded.model.tokenizer);
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

  private async generate(
    laneName: Lane,
    limits: GenerationLimits,
    sink: StreamSink,
    promptTokens: (loaded: LoadedModel) => number,
    run: (lane: LaneState, options: Parameters<LlamaCompletion["generateCompletionWithMeta"]>[1]) => ReturnType<LlamaCompletion["generateCompletionWithMeta"]>,
    extra: { grammar?: LlamaGrammar; asciiOnly?: boolean; warmPrompt?: string; slideWindowFor?: string } = {},
  ): Promise<GenerationResult> {
    const arrived = performance.now();
    return this.onLane(laneName, async (lane, loaded) => {
      if (sink.signal.aborted) {
        return { text: "", stopReason: "aborted", promptTokensEvaluated: 0, promptTokens: 0, generatedTokens: 0, firstTokenMs: 0, totalMs: 0 };
      }
      // A note reopened after a reload or restart: read its saved KV state instead of the note.
      let restoredTokens = 0;
      if (extra.warmPrompt !== undefined && loaded.stateCache && NOTE_LANES.includes(laneName)) {
        const restored = await this.restoreLaneState(loaded, lane, extra.warmPrompt);
        if (restored.restored) restoredTokens = restored.tokens;
      }
      if (extra.slideWindowFor !== undefined && laneName === "completion") await this.slideWindow(loaded, lane, extra.slideWindowFor);
      const before = lane.sequence.tokenMeter.getState();
      const predictionsBefore = lane.sequence.tokenPredictions;
      let firstTokenAt: number | undefined;
      let firstGeneratedAt: number | undefined;
      let lastGeneratedAt: number | undefined;
      let emittedTokens = 0;
      const bias = this.tokenBias(loaded, limits.bannedTexts, extra.asciiOnly ?? false);
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
          return { text: "", stopReason: "aborted" as StopReason, promptTokensEvaluated: 0, promptTokens: 0, generatedTokens: 0, firstTokenMs: 0, totalMs: performance.now() - arrived };
        }
        throw new EngineFault(ErrorCodes.GenerationFailed, `Generation failed: ${(error as Error).message}`);
      }
      const used = lane.sequence.tokenMeter.diff(before);
      const predictions = lane.sequence.tokenPredictions;
      const finished = performance.now();
      const reason = response.metadata.stopReason;
      const stopReason: StopReason =
        reason === "abort" ? "aborted" : reason === "maxTokens" ? "maxTokens" : reason === "eogToken" ? "eos" : "stop";
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

  async complete(params: CompleteParams, sink: StreamSink): Promise<GenerationResult> {
    const result = await this.generate(
      params.lane,
      params,
      sink,
      (loaded) => loaded.model.tokenize(params.prompt).length,
      (lane, options) => lane.completion.generateCompletionWithMeta(params.prompt, options),
      { warmPrompt: params.prompt, slideWindowFor: params.prompt },
    );
    // A note that was expensive to read (just opened, a large paste) is saved after the answer has gone,
    // so the next editor session starts warm even if the worker is killed rather than unloaded.
    if (result.promptTokensEvaluated >= AUTO_SAVE_TOKENS && NOTE_LANES.includes(params.lane) && this.slots.get("generation")?.stateCache) {
      this.saveState(params.lane).catch((e: unknown) => this.log("warn", `Saving the note state failed: ${(e as Error).message}`));
    }
    return result;
  }

  /**
   * The completion window jumped forward: erase the part of the note that fell out of it from the lane's
   * KV cache and shift the rest back, instead of re-reading the window (see windowSlide.ts).
   */
  private async slideWindow(loaded: LoadedModel, lane: LaneState, prompt: string): Promise<void> {
    const cached = lane.sequence.contextTokens;
    if (cached.length === 0) return;
    // The same tokens LlamaCompletion will evaluate: the BOS token it prepends, then the text without a leading space.
    const body = loaded.model.tokenize(prompt, false, "trimLeadingSpace");
    const bos = loaded.model.tokens.bos;
    const tokens = (bos !== null && cached[0] === bos ? [bos, ...body] : body).map(Number);
    const slide = findWindowSlide(cached.map(Number), tokens);
    if (!slide) return;
    try {
      await lane.sequence.eraseContextTokenRanges([slide]);
      this.log("debug", `Completion window moved: dropped ${slide.end - slide.start} cached tokens, kept ${cached.length - (slide.end - slide.start)}.`);
    } catch (error) {
      // The lane re-reads the prompt as usual.
      this.log("warn", `Could not shift the completion cache: ${(error as Error).message}`);
    }
  }

  infill(params: InfillParams, sink: StreamSink): Promise<GenerationResult> {
    const loaded = this.generationModel();
    if (!loaded.info.infillSupported) {
      throw new EngineFault(ErrorCodes.InfillUnsupported, "This model has no fill-in-the-middle tokens; use a plain completion.");
    }
    return this.generate(
      params.lane,
      params,
      sink,
      (m) => m.model.tokenize(params.prefix).length + m.model.tokenize(params.suffix).length,
      (lane, options) => lane.completion.generateInfillCompletionWithMeta(params.prefix, params.suffix, options),
    );
  }

  async json(params: JsonParams, sink: StreamSink): Promise<JsonResult> {
    const loaded = this.generationModel();
    const key = JSON.stringify(params.schema);
    let grammarPromise = loaded.grammars.get(key);
    if (grammarPromise) {
      // Most recently used last, so the oldest is evicted first.
      loaded.grammars.delete(key);
      loaded.grammars.set(key, grammarPromise);
    } else {
      grammarPromise = loaded.llama.createGrammarForJsonSchema(params.schema as never) as Promise<LlamaGrammar>;
      loaded.grammars.set(key, grammarPromise);
      grammarPromise.catch(() => loaded.grammars.delete(key));
      // Schemas that enumerate a note's own phrases differ per note: keep the cache bounded.
      for (const old of loaded.grammars.keys()) {
        if (loaded.grammars.size <= MAX_CACHED_GRAMMARS) break;
        loaded.grammars.delete(old);
      }
    }
    let grammar: LlamaGrammar;
    try {
      grammar = await grammarPromise;
    } catch (error) {
      throw new EngineFault(ErrorCodes.GenerationFailed, `The JSON schema cannot be turned into a grammar: ${(error as Error).message}`);
    }
    const result = await this.generate(
      params.lane,
      params,
      sink,
      (m) => m.model.tokenize(params.prompt).length,
      (lane, options) => lane.completion.generateCompletionWithMeta(params.prompt, options),
      { grammar, asciiOnly: params.asciiOnly ?? false },
    );
    if (result.stopReason === "aborted") return { ...result, value: undefined };
    let value: unknown;
    try {
      value = JSON.parse(result.text);
    } catch {
      throw new EngineFault(
        ErrorCodes.GenerationFailed,
        result.stopReason === "maxTokens"
          ? `The model ran out of tokens (${params.maxTokens}) before finishing the JSON; allow more tokens.`
          : "The model's output was not valid JSON.",
      );
    }
    return { ...result, value };
  }

  private chatWrapperFor(loaded: LoadedModel): ChatWrapper {
    // node-llama-cpp picks a specialised wrapper for templates it recognises (ChatML, Llama 3, Gemma...)
    // and runs the GGUF's Jinja template for the rest.
    loaded.chatWrapper ??= this.lib.resolveChatWrapper(loaded.model, { warningLogs: false });
    return loaded.chatWrapper;
  }

  /** The conversation as the model's template writes it, ending where the assistant's reply begins. */
  private chatPrompt(loaded: LoadedModel, messages: readonly ChatMessage[]) {
    const wrapper = this.chatWrapperFor(loaded);
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

  chatPromptSize(messages: readonly ChatMessage[]): ChatPromptSize {
    const loaded = this.generationModel();
    const { wrapper, tokens } = this.chatPrompt(loaded, messages);
    const bos = loaded.model.tokens.bos !== null && loaded.model.tokens.shouldPrependBosToken ? 1 : 0;
    return { tokens: tokens.length + bos, wrapper: wrapper.wrapperName };
  }

  chat(params: ChatParams, sink: StreamSink): Promise<GenerationResult> {
    const loaded = this.generationModel();
    const { tokens, stopGenerationTriggers } = this.chatPrompt(loaded, params.messages);
    return this.generate(
      params.lane,
      params,
      sink,
      () => tokens.length,
      (lane, options) =>
        lane.completion.generateCompletionWithMeta(tokens, {
          ...options,
          customStopTriggers: [...stopGenerationTriggers, ...(params.stop ?? [])],
        }),
    );
  }

  async embed(texts: string[]): Promise<EmbedResult> {
    const slot: ModelSlot = this.slots.has("embedding") ? "embedding" : "generation";
    const loaded = this.slots.get(slot);
    if (!loaded) throw new EngineFault(ErrorCodes.ModelNotLoaded, "No model is loaded for embeddings.");
    if (!loaded.embedding) {
      loaded.embedding = loaded.model.createEmbeddingContext({
        contextSize: Math.min(loaded.params.contextSize, loaded.model.trainContextSize),
        threads: loaded.params.threads,
      });
      loaded.embedding.catch(() => (loaded.embedding = undefined));
    }
    let context: LlamaEmbeddingContext;
    try {
      context = await loaded.embedding;
    } catch (error) {
      throw new EngineFault(ErrorCodes.EmbeddingUnsupported, `This model cannot make embeddings: ${(error as Error).message}`);
    }
    const vectors: number[][] = [];
    for (const text of texts) {
      const embedding = await context.getEmbeddingFor(text);
      vectors.push([...embedding.vector]);
    }
    return { vectors, slot };
  }

  tokenize(text: string, slot: ModelSlot = "generation"): TokenizeResult {
    const loaded = this.slots.get(slot) ?? this.slots.get("generation");
    if (!loaded) throw new EngineFault(ErrorCodes.ModelNotLoaded, "No model is loaded.");
    const tokens = loaded.model.tokenize(text).map((t) => Number(t));
    return { tokens, count: tokens.length };
  }

  /** Saves the lane's KV state (the note it last completed) to the state cache. */
  saveState(laneName: Lane): Promise<SaveStateResult> {
    return this.onLane(laneName, (_lane, loaded) => this.saveLaneState(loaded, laneName));
  }

  /** Restores the saved state that shares the longest prefix with `prompt` into the lane. */
  restoreState(laneName: Lane, prompt: string): Promise<RestoreStateResult> {
    return this.onLane(laneName, (lane, loaded) => this.restoreLaneState(loaded, lane, prompt));
  }

  private async saveLaneState(loaded: LoadedModel, laneName: Lane): Promise<SaveStateResult> {
    const lane = loaded.lanes.get(laneName);
    const tokens = lane ? lane.sequence.contextTokens.map(Number) : [];
    if (!loaded.stateCache || !lane) return { saved: false, tokens: 0, bytes: 0, reason: "no state cache folder" };
    if (tokens.length < MIN_RESTORE_TOKENS) return { saved: false, tokens: tokens.length, bytes: 0, reason: "too short to be worth saving" };
    const result = await loaded.stateCache.save(loaded.modelKey, tokens, async (path) => {
      await lane.sequence.saveStateToFile(path);
    });
    if (result.saved) this.log("info", `Saved a note state of ${tokens.length} tokens (${(result.bytes / 1e6).toFixed(1)} MB).`);
    return { ...result, tokens: tokens.length };
  }

  private async restoreLaneState(loaded: LoadedModel, lane: LaneState, prompt: string): Promise<RestoreStateResult> {
    const cache = loaded.stateCache;
    if (!cache) return { restored: false, tokens: 0, reason: "no state cache folder" };
    const promptTokens = loaded.model.tokenize(prompt).map(Number);
    const bos = loaded.model.tokens.bos;
    // A completion prompt starts with BOS when the model adds one; saved states do too.
    if (bos !== null && loaded.model.tokens.shouldPrependBosToken && promptTokens[0] !== Number(bos)) promptTokens.unshift(Number(bos));
    const cached = commonPrefixLength(lane.sequence.contextTokens.map(Number), promptTokens);
    const match = await cache.bestMatch(loaded.modelKey, promptTokens, MIN_RESTORE_TOKENS);
    if (!match) return { restored: false, tokens: cached, reason: "no saved state for this note" };
    if (match.common <= cached + MIN_RESTORE_TOKENS / 4) return { restored: false, tokens: cached, reason: "the KV cache already holds this note" };
    if (!(await cache.verify(match))) return { restored: false, tokens: cached, reason: "the saved state was damaged and is deleted" };
    const started = performance.now();
    try {
      await lane.sequence.loadStateFromFile(match.statePath, { acceptRisk: true });
    } catch (error) {
      await lane.sequence.clearHistory().catch(() => undefined);
      await cache.remove(match.id);
      this.log("warn", `A saved note state was rejected (${(error as Error).message}); reading the note instead.`);
      return { restored: false, tokens: 0, reason: "the saved state was rejected" };
    }
    if (commonPrefixLength(lane.sequence.contextTokens.map(Number), match.entry.tokens) !== match.entry.tokens.length) {
      await lane.sequence.clearHistory().catch(() => undefined);
      await cache.remove(match.id);
      return { restored: false, tokens: 0, reason: "the saved state held other tokens" };
    }
    this.log("info", `Restored a note state of ${match.common} tokens in ${Math.round(performance.now() - started)} ms.`);
    return { restored: true, tokens: match.common };
  }

  async dispose(): Promise<void> {
    await this.unload();
    for (const llama of this.llamas.values()) await (await llama.catch(() => undefined))?.dispose();
  }
}
