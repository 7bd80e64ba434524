/**
 * Owns node-llama-cpp inside the worker process: which model each slot holds, and the requests the worker
 * entry serves. Loading lives in modelLoader.ts, generation in generation.ts, a lane's KV state (queue,
 * window slide, warm starts) in laneState.ts. These files (with the worker entry) are the only code that
 * touches node-llama-cpp; the extension host never loads them.
 */
import type { LlamaEmbeddingContext } from "node-llama-cpp";
import {
  ErrorCodes,
  type ChatMessage,
  type ChatParams,
  type ChatPromptSize,
  type CompleteParams,
  type EmbedResult,
  type GenerationLimits,
  type GenerationResult,
  type InfillParams,
  type JsonParams,
  type JsonResult,
  type Lane,
  type LoadParams,
  type ModelInfo,
  type ModelSlot,
  type RestoreStateResult,
  type SaveStateResult,
  type TokenizeResult,
} from "../protocol";
import { chatPrompt, generate, grammarFor, parseJsonAnswer, type GenerationExtras } from "./generation";
import { onLane, restoreLaneState, saveLaneState } from "./laneState";
import { disposeLoaded, ModelLoader } from "./modelLoader";
import { AUTO_SAVE_TOKENS, EngineFault, NOTE_LANES, type LaneState, type LoadedModel, type NodeLlamaCpp, type RuntimeDeps, type StreamSink, type WorkerLog } from "./runtimeTypes";

export { EngineFault, type NodeLlamaCpp, type StreamSink, type WorkerLog } from "./runtimeTypes";

function sameLoad(a: LoadParams, b: LoadParams): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class LlamaRuntime {
  private readonly deps: RuntimeDeps;
  private readonly loader: ModelLoader;
  private readonly slots = new Map<ModelSlot, LoadedModel>();
  private readonly loading = new Map<ModelSlot, Promise<ModelInfo>>();

  constructor(lib: NodeLlamaCpp, log: WorkerLog) {
    this.deps = { lib, log };
    this.loader = new ModelLoader(this.deps);
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
    const loaded = await this.loader.load(params);
    this.slots.set(params.slot, loaded);
    const { info } = loaded;
    this.deps.log("info", `Loaded ${info.architecture} model (${(info.fileBytes / 1e6).toFixed(1)} MB) on ${info.backend} with ${params.threads} threads in ${info.loadMs} ms.`);
    return info;
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
      for (const lane of NOTE_LANES)
        await saveLaneState(loaded, lane, this.deps.log).catch((e: unknown) => this.deps.log("warn", `Saving the note state failed: ${(e as Error).message}`));
      await disposeLoaded(loaded);
      this.deps.log("info", `Unloaded the ${s} model.`);
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

  private async generate(
    laneName: Lane,
    limits: GenerationLimits,
    sink: StreamSink,
    promptTokens: (loaded: LoadedModel) => number,
    run: Parameters<typeof generate>[6],
    extra: GenerationExtras = {},
  ): Promise<GenerationResult> {
    return generate(this.deps, this.generationModel(), laneName, limits, sink, promptTokens, run, extra);
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
      this.saveState(params.lane).catch((e: unknown) => this.deps.log("warn", `Saving the note state failed: ${(e as Error).message}`));
    }
    return result;
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
    const grammar = await grammarFor(this.generationModel(), params.schema);
    const result = await this.generate(
      params.lane,
      params,
      sink,
      (m) => m.model.tokenize(params.prompt).length,
      (lane, options) => lane.completion.generateCompletionWithMeta(params.prompt, options),
      { grammar, asciiOnly: params.asciiOnly ?? false },
    );
    if (result.stopReason === "aborted") return { ...result, value: undefined };
    return { ...result, value: parseJsonAnswer(result, params.maxTokens) };
  }

  chatPromptSize(messages: readonly ChatMessage[]): ChatPromptSize {
    const loaded = this.generationModel();
    const { wrapper, tokens } = chatPrompt(this.deps.lib, loaded, messages);
    const bos = loaded.model.tokens.bos !== null && loaded.model.tokens.shouldPrependBosToken ? 1 : 0;
    return { tokens: tokens.length + bos, wrapper: wrapper.wrapperName };
  }

  chat(params: ChatParams, sink: StreamSink): Promise<GenerationResult> {
    const loaded = this.generationModel();
    const { tokens, stopGenerationTriggers } = chatPrompt(this.deps.lib, loaded, params.messages);
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
    // A text longer than the embedding context is cut to fit (a record's abstract past 512 tokens), rather
    // than failing: the start of a title and abstract carries most of what it is about.
    const limit = Math.min(loaded.params.contextSize, loaded.model.trainContextSize) - 4;
    const vectors: number[][] = [];
    for (const text of texts) {
      const embedding = await context.getEmbeddingFor(fitTokens(text, limit, (t) => loaded.model.tokenize(t).length));
      vectors.push([...embedding.vector]);
    }
    return { vectors, slot };
  }

  tokenize(text: string, slot: ModelSlot = "generation"): TokenizeResult {
    // A worker that holds only an embedding model (EngineHost.embedding) tokenizes with it.
    const loaded = this.slots.get(slot) ?? this.slots.get("generation") ?? this.slots.get("embedding");
    if (!loaded) throw new EngineFault(ErrorCodes.ModelNotLoaded, "No model is loaded.");
    const tokens = loaded.model.tokenize(text).map((t) => Number(t));
    return { tokens, count: tokens.length };
  }

  /** Saves the lane's KV state (the note it last completed) to the state cache. */
  saveState(laneName: Lane): Promise<SaveStateResult> {
    return onLane(this.generationModel(), laneName, (_lane, loaded) => saveLaneState(loaded, laneName, this.deps.log));
  }

  /** Restores the saved state that shares the longest prefix with `prompt` into the lane. */
  restoreState(laneName: Lane, prompt: string): Promise<RestoreStateResult> {
    return onLane(this.generationModel(), laneName, (lane: LaneState, loaded) => restoreLaneState(loaded, lane, prompt, this.deps.log));
  }

  async dispose(): Promise<void> {
    await this.unload();
    await this.loader.dispose();
  }
}

/** `text`, shortened at the end until it is at most `limit` tokens (`count` counts them). */
export function fitTokens(text: string, limit: number, count: (text: string) => number): string {
  let fitted = text;
  for (let attempt = 0; attempt < 8; attempt++) {
    const n = count(fitted);
    if (n <= limit || fitted.length === 0) return fitted;
    fitted = fitted.slice(0, Math.floor(fitted.length * (limit / n) * 0.95));
  }
  return fitted.slice(0, limit);
}
