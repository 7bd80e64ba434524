/**
 * Will this model run well here? An estimate of the memory a model needs (weights + KV cache for the
 * chosen context + working buffers) against this machine's RAM and, when known, free GPU memory. Pure.
 */
import type { ModelShape } from "./catalog";
import { ggufNumber, ggufArchitecture, type GgufHeader } from "./ggufHeader";

export interface MemoryNeed {
  weightsBytes: number;
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

export type FitVerdict = "gpu" | "partialGpu" | "cpu" | "tight" | "tooBig";

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
