/**
 * Will this model run well here? An estimate of the memory a model needs (weights + KV cache for the
 * chosen context + working buffers) against this machine's RAM and, when known, free GPU memory. Pure.
 */
import type { ModelShape } from "./catalog";
import { ggufNumber, ggufArchitecture, type GgufHeader } from "../engine/ggufHeader";

/**
 * ggml types llama.cpp's CPU backend repacks into an interleaved copy on x86-64 with AVX2 (ggml-cpu/repack.cpp,
 * `ggml_repack_get_optimal_repack_type`, in the llama.cpp node-llama-cpp ships): Q4_0 (2), Q4_K (12),
 * IQ4_NL (20), MXFP4 (39). Only weights multiplied by matrices are repacked (`token_embd` is looked up by row).
 */
export const CPU_REPACKED_TYPES: ReadonlySet<number> = new Set([2, 12, 20, 39]);

/** Bytes of a GGUF's weights that llama.cpp's CPU backend repacks (a second copy when the file is mapped). */
export function weightsRepackedOnCpu(header: GgufHeader): number {
  let bytes = 0;
  for (const t of header.tensors) {
    if (!CPU_REPACKED_TYPES.has(t.type) || t.dims.length < 2 || t.name === "token_embd.weight") continue;
    if (Number(t.dims[1]) % 8 !== 0) continue;
    bytes += Number(t.bytes);
  }
  return bytes;
}

/**
 * For a catalog file not downloaded yet: the share of its bytes that is in repacked types, by quantization
 * (llama.cpp's quantize recipes: Q4_K_M keeps attn_v, half of ffn_down and the output in Q6_K, about a fifth
 * of a 7B's bytes; Q4_0 keeps only the output in Q6_K). Q5/Q6/Q8/F16 are not repacked on x86.
 */
export function repackedShare(quantization: string): number {
  const q = quantization.toUpperCase();
  if (q === "Q4_0") return 0.94;
  if (q === "Q4_K_S") return 0.9;
  if (q === "Q4_K_M") return 0.75;
  if (q.startsWith("IQ4_NL")) return 0.94;
  return 0;
}

export interface MemoryNeed {
  weightsBytes: number;
  /** llama.cpp's CPU-repacked copy of the weights while the file is also mapped; 0 in low-memory mode or on a GPU. */
  repackedCopyBytes?: number;
  /** A draft model and an embedding model, when set (weights, their repacked copy and their cache). */
  extraModelsBytes?: number;
  kvCacheBytes: number;
  /** Compute buffers and runtime overhead. */
  overheadBytes: number;
  totalBytes: number;
}

export interface MachineMemory {
  totalRamBytes: number;
  freeRamBytes: number;
  /** Free memory of the GPU llama.cpp would use; absent when unknown or there is none. */
  freeVramBytes?: number;
}

export type FitVerdict = "gpu" | "partialGpu" | "cpu" | "lowMemoryOnly" | "tight" | "tooBig";

export interface HardwareFit {
  verdict: FitVerdict;
  need: MemoryNeed;
  /** Layers that fit in free VRAM (all of them for "gpu"); 0 without a GPU. */
  gpuLayers: number;
  /** A few words for a quick pick: "fits (GPU)", "fits (CPU, 5.1 GB of 23 GB)", "too big: needs 45 GB". */
  label: string;
}

const MiB = 1024 * 1024;
const GB = 1e9;

/** Bytes of KV cache for `contextSize` tokens at f16 (llama.cpp's default cache type). */
export function kvCacheBytes(shape: ModelShape, contextSize: number, bytesPerElement = 2): number {
  const headDim = shape.headDim ?? shape.embeddingLength / shape.heads;
  return 2 * shape.layers * contextSize * shape.kvHeads * headDim * bytesPerElement;
}

export function estimateMemory(weightsBytes: number, shape: ModelShape, contextSize: number): MemoryNeed {
  const kv = kvCacheBytes(shape, contextSize);
  // Compute buffers grow with the context and batch; 5% of the weights plus 256 MiB matches llama.cpp's
  // reports for 1-8B models at 2-8K contexts to within a few hundred MB.
  const overhead = Math.round(256 * MiB + 0.05 * weightsBytes + contextSize * shape.embeddingLength * 4 * 2);
  return { weightsBytes, kvCacheBytes: kv, overheadBytes: overhead, totalBytes: weightsBytes + kv + overhead };
}

export interface WorkerModel {
  weightsBytes: number;
  shape: ModelShape;
  /** Bytes of the weights in types the CPU backend repacks (`weightsRepackedOnCpu`, or a share by quantization). */
  repacked: number;
}

export interface WorkerMemoryInput extends WorkerModel {
  /** Tokens per lane (bedside.engine.contextSize, capped at the trained context). */
  contextSize: number;
  /** Sequences the worker gives the generation model: 2 (completion and general lanes). */
  lanes: number;
  lowMemory: boolean;
  backend: "cpu" | "gpu";
  draft?: WorkerModel;
  embedding?: WorkerModel;
}

/** The worker process itself: Node, node-llama-cpp's addon and llama.cpp's CPU backend, before a model. */
export const WORKER_BASE_BYTES = 96 * MiB;

/**
 * What the engine worker's resident memory peaks at with this model (src/engine/worker/llamaRuntime.ts):
 * the weights (the mapped file, or read in with lowMemory), on the CPU the repacked copy llama.cpp makes of
 * Q4_0/Q4_K weights, which sits beside the mapped file unless lowMemory reads the file straight into it, the
 * f16 KV cache of every lane, the compute buffers (a 512-token batch: its logits and activations), a draft
 * model with its one-lane cache, an embedding model (in a worker process of its own), and the worker itself. Calibrated against measured peak
 * RSS by `npm run bench -- memory` (docs/models.md).
 */
export function estimateWorkerMemory(input: WorkerMemoryInput): MemoryNeed {
  const copyOf = (m: WorkerModel): number => (input.backend === "cpu" && !input.lowMemory ? m.repacked : 0);
  const kv = kvCacheBytes(input.shape, input.contextSize * input.lanes);
  const compute = computeBufferBytes(input.shape, input.contextSize);
  let extra = 0;
  if (input.draft) extra += input.draft.weightsBytes + copyOf(input.draft) + kvCacheBytes(input.draft.shape, input.contextSize) + computeBufferBytes(input.draft.shape, input.contextSize);
  if (input.embedding) extra += embeddingWorkerBytes(input.embedding, input.backend, input.lowMemory);
  const repackedCopy = copyOf(input);
  const overhead = compute + WORKER_BASE_BYTES;
  return {
    weightsBytes: input.weightsBytes,
    repackedCopyBytes: repackedCopy,
    extraModelsBytes: extra,
    kvCacheBytes: kv,
    overheadBytes: overhead,
    totalBytes: input.weightsBytes + repackedCopy + extra + kv + overhead,
  };
}

/**
 * The embedding model for hybrid ranking (bedside.literature.embeddingModel) runs in an engine worker of its
 * own: the process itself, the weights (on the CPU with their repacked copy unless read in), and a 512-token
 * batch's compute buffer. The worker's peak holds the weights about three times over (measured on a
 * bge-small-shaped F16 bert, 67 MB file, 306 MB peak; the cause inside llama.cpp's encoder path is not
 * isolated), so the estimate counts them so. `npm run bench -- embedding` (docs/retrieval.md).
 */
export function embeddingWorkerBytes(model: WorkerModel, backend: "cpu" | "gpu", lowMemory: boolean): number {
  return WORKER_BASE_BYTES + 3 * model.weightsBytes + (backend === "cpu" && !lowMemory ? model.repacked : 0) + computeBufferBytes(model.shape, 512);
}

/**
 * llama.cpp's CPU compute buffer: a 512-token batch's activations. With flash attention the scores over the
 * context are not materialised, so it hardly grows with the context (measured: 7B and medium, see docs/models.md).
 */
export function computeBufferBytes(shape: ModelShape, contextSize: number): number {
  const batch = 512;
  return Math.round(batch * shape.embeddingLength * 4 * 2 + batch * Math.min(contextSize, 512) * 4 * 0.05 + 8 * MiB);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 10 * GB) return `${Math.round(bytes / GB)} GB`;
  if (bytes >= GB) return `${(bytes / GB).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.round(bytes / 1e3)} KB`;
}

/**
 * Where the model fits. RAM keeps 20% (at least 1.5 GB) back for the editor and the system; a model
 * that fits only by eating into that is "tight".
 */
export function fitModel(need: MemoryNeed, layers: number, machine: MachineMemory): HardwareFit {
  const reserve = Math.max(1.5 * GB, machine.totalRamBytes * 0.2);
  const usableRam = machine.totalRamBytes - reserve;
  const vram = machine.freeVramBytes ?? 0;
  if (vram > 0 && need.totalBytes <= vram) {
    return { verdict: "gpu", need, gpuLayers: layers, label: `fits (GPU, ${formatBytes(need.totalBytes)})` };
  }
  let gpuLayers = 0;
  if (vram > 0) {
    const perLayer = need.weightsBytes / layers + need.kvCacheBytes / layers;
    gpuLayers = Math.max(0, Math.min(layers, Math.floor((vram - need.overheadBytes) / perLayer)));
  }
  const onGpu = gpuLayers > 0 ? (need.totalBytes - need.overheadBytes) * (gpuLayers / layers) : 0;
  const ramNeed = need.totalBytes - onGpu;
  if (ramNeed <= usableRam) {
    return gpuLayers > 0
      ? { verdict: "partialGpu", need, gpuLayers, label: `fits (${gpuLayers}/${layers} layers on GPU)` }
      : { verdict: "cpu", need, gpuLayers: 0, label: `fits (CPU, ${formatBytes(need.totalBytes)} of ${formatBytes(machine.totalRamBytes)})` };
  }
  if (ramNeed <= machine.totalRamBytes * 0.95) {
    return { verdict: "tight", need, gpuLayers, label: `tight: needs ${formatBytes(ramNeed)} of ${formatBytes(machine.totalRamBytes)} RAM` };
  }
  return { verdict: "tooBig", need, gpuLayers, label: `too big: needs ${formatBytes(ramNeed)}, this machine has ${formatBytes(machine.totalRamBytes)}` };
}

/** RAM a model may take: all of it less 20% (at least 1.5 GB) kept for the editor and the system. */
export function usableRamBytes(machine: MachineMemory): number {
  return machine.totalRamBytes - Math.max(1.5 * GB, machine.totalRamBytes * 0.2);
}

/**
 * Select Model's verdict for the worker as it would run this model: "fits", "fits only in low-memory mode"
 * (the mapped file and llama.cpp's repacked copy do not both fit, the read-in weights do), or "too big". On a
 * GPU with enough free memory, `fitModel`'s layer split applies.
 */
export function fitWorker(input: Omit<WorkerMemoryInput, "lowMemory" | "backend">, lowMemorySetting: boolean, machine: MachineMemory): HardwareFit {
  if ((machine.freeVramBytes ?? 0) > 0) {
    const fit = fitModel(estimateWorkerMemory({ ...input, lowMemory: lowMemorySetting, backend: "gpu" }), input.shape.layers, machine);
    if (fit.verdict === "gpu" || fit.verdict === "partialGpu") return fit;
  }
  const usable = usableRamBytes(machine);
  const mapped = estimateWorkerMemory({ ...input, lowMemory: false, backend: "cpu" });
  const readIn = estimateWorkerMemory({ ...input, lowMemory: true, backend: "cpu" });
  const of = `of ${formatBytes(machine.totalRamBytes)}`;
  if (lowMemorySetting) {
    return readIn.totalBytes <= usable
      ? { verdict: "cpu", need: readIn, gpuLayers: 0, label: `fits (CPU, low-memory mode, ${formatBytes(readIn.totalBytes)} ${of})` }
      : { verdict: "tooBig", need: readIn, gpuLayers: 0, label: `too big: needs ${formatBytes(readIn.totalBytes)} even in low-memory mode, this machine has ${formatBytes(machine.totalRamBytes)}` };
  }
  if (mapped.totalBytes <= usable) return { verdict: "cpu", need: mapped, gpuLayers: 0, label: `fits (CPU, ${formatBytes(mapped.totalBytes)} ${of})` };
  if (readIn.totalBytes <= usable) {
    return { verdict: "lowMemoryOnly", need: readIn, gpuLayers: 0, label: `fits only in low-memory mode (${formatBytes(readIn.totalBytes)} instead of ${formatBytes(mapped.totalBytes)} ${of})` };
  }
  return { verdict: "tooBig", need: readIn, gpuLayers: 0, label: `too big: needs ${formatBytes(readIn.totalBytes)} even in low-memory mode, this machine has ${formatBytes(machine.totalRamBytes)}` };
}

/** The shape of an installed GGUF from its header (for files not in the catalog). */
export function shapeFromGguf(header: GgufHeader): ModelShape | undefined {
  const arch = ggufArchitecture(header);
  if (!arch) return undefined;
  const layers = ggufNumber(header, `${arch}.block_count`);
  const embeddingLength = ggufNumber(header, `${arch}.embedding_length`);
  const heads = ggufNumber(header, `${arch}.attention.head_count`);
  if (!layers || !embeddingLength || !heads) return undefined;
  const kvHeads = ggufNumber(header, `${arch}.attention.head_count_kv`) ?? heads;
  const headDim = ggufNumber(header, `${arch}.attention.key_length`);
  return { layers, embeddingLength, heads, kvHeads, ...(headDim ? { headDim } : {}) };
}
