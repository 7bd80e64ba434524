/**
 * Loading a model into the worker: the llama.cpp backend for a GPU choice, the GGUF header check before
 * llama.cpp reads the file, the CPU fallback when a GPU cannot take the model, the lanes' context
 * sequences with their token predictor, and the facts (ModelInfo) the client shows.
 */
import type { Llama, LlamaModel } from "node-llama-cpp";
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { readGgufHeader, GgufFormatError } from "../ggufHeader";
import { ErrorCodes, LANES, type Backend, type GpuChoice, type LoadParams, type ModelInfo } from "../protocol";
import { NoteStateCache } from "./noteStateCache";
import { EngineFault, type LoadedModel, type RuntimeDeps } from "./runtimeTypes";

export class ModelLoader {
  private readonly llamas = new Map<GpuChoice, Promise<Llama>>();

  constructor(private readonly deps: RuntimeDeps) {}

  private llamaFor(gpu: GpuChoice): Promise<Llama> {
    const { lib, log } = this.deps;
    let llama = this.llamas.get(gpu);
    if (!llama) {
      llama = lib.getLlama({
        gpu: gpu === "cpu" ? false : gpu,
        // Never compile or download at run time: the binary ships with the extension.
        build: "never",
        logLevel: lib.LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trim();
          if (!text) return;
          log(level === "error" || level === "fatal" ? "error" : level === "warn" ? "warn" : "debug", `llama.cpp: ${text}`);
        },
      });
      this.llamas.set(gpu, llama);
      llama.catch(() => this.llamas.delete(gpu));
    }
    return llama;
  }

  /** Loads `params` afresh (the caller unloaded whatever held the slot). */
  async load(params: LoadParams): Promise<LoadedModel> {
    const { lib, log } = this.deps;
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
      if (llama.gpu === false) throw loadFault(params, error);
      // A GPU that cannot take the model (out of memory, driver trouble) should not stop the clinician.
      log("warn", `Loading on ${llama.gpu} failed (${(error as Error).message}); falling back to the CPU.`);
      llama = await this.llamaFor("cpu");
      try {
        model = await this.loadModelWith(llama, { ...params, gpuLayers: 0 });
      } catch (cpuError) {
        throw loadFault(params, cpuError);
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
          const completion = new lib.LlamaCompletion({ contextSequence: sequence });
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
      throw loadFault(params, error);
    }
    if (params.stateCacheDir && loaded.context) {
      const file = await stat(params.path);
      loaded.modelKey = createHash("sha256")
        .update(JSON.stringify([params.path, file.size, file.mtimeMs, loaded.context.flashAttention, "kv-f16"]))
        .digest("hex");
      loaded.stateCache = new NoteStateCache(params.stateCacheDir, params.stateCacheMaxBytes ?? 2 * 1024 ** 3, (m) => log("info", m));
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
    return loaded;
  }

  /**
   * The completion lane's token predictor: a draft model when one is configured, else input lookup
   * (notes copy names, drugs and phrases from earlier in the same note), else none.
   */
  private async completionPredictor(llama: Llama, params: LoadParams, contextSize: number, loaded: LoadedModel) {
    const { lib } = this.deps;
    if (params.draftModelPath) {
      const model = await llama.loadModel({ modelPath: params.draftModelPath, gpuLayers: llama.gpu === false ? 0 : params.gpuLayers });
      const context = await model.createContext({ contextSize, sequences: 1, threads: params.threads, flashAttention: params.flashAttention });
      loaded.draft = { model, context };
      // 3 drafts per step for the same reason as lookup below; drafted even when the draft is unsure, since
      // checking 3 costs the CPU no more than checking 1.
      return new lib.DraftSequenceTokenPredictor(context.getSequence(), { minTokens: 3, maxTokens: 3 });
    }
    // Off unless asked for (bedside.engine.lookupDecoding, default off): on the trained test model it was not
    // measured faster (docs/trained-model.md, "Lookup speculation").
    if (params.lookupDecoding !== true) return undefined;
    // Exactly 3 drafts: on a CPU with Q4_0 weights a batch of 4 costs about 2 single steps, while 1 draft
    // costs 2 steps for at most 2 tokens and 6 drafts 4 steps for at most 7 (the llama-bench figures are in
    // docs/benchmarks.md, "Lookup draft length"). A 2-token pattern keeps chance matches down.
    return new lib.InputLookupTokenPredictor({ patternLength: { min: 2 }, predictionLength: { min: 3, max: 3 } });
  }

  private loadModelWith(llama: Llama, params: LoadParams): Promise<LlamaModel> {
    return llama.loadModel({
      modelPath: params.path,
      ...(params.lowMemory ? { useMmap: false } : {}),
      gpuLayers: llama.gpu === false ? 0 : params.gpuLayers,
      defaultContextFlashAttention: params.flashAttention,
    });
  }

  /** Releases the llama.cpp backends (after every model is unloaded). */
  async dispose(): Promise<void> {
    for (const llama of this.llamas.values()) await (await llama.catch(() => undefined))?.dispose();
  }
}

function loadFault(params: LoadParams, error: unknown): EngineFault {
  if (error instanceof EngineFault) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new EngineFault(ErrorCodes.ModelLoadFailed, `Could not load ${params.path}: ${reason}`);
}

/** Frees a loaded model's contexts, draft model and weights. */
export async function disposeLoaded(loaded: LoadedModel): Promise<void> {
  if (loaded.embedding) await (await loaded.embedding.catch(() => undefined))?.dispose();
  await loaded.context?.dispose();
  await loaded.draft?.context.dispose();
  await loaded.draft?.model.dispose();
  await loaded.model.dispose();
}
