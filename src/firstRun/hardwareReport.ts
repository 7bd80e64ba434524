/**
 * "See the hardware it will use": what Bedside runs the model on, in words, from facts the extension
 * gathers (engine state, settings, the machine, the binaries the .vsix carries). Pure: no vscode.
 */
import { formatBytes } from "../models/hardwareFit";
import type { CudaVerdict } from "../packaging/cudaReadiness";

export interface HardwareFacts {
  platform: string;
  arch: string;
  cpuModel: string;
  logicalCores: number;
  /** Threads the engine is set to use (resolved from bedside.engine.threads). */
  threads: number | undefined;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  gpuSetting: string;
  /** Backends the installed binaries provide besides the CPU (e.g. ["vulkan"]). */
  gpuBackendsInside: readonly string[];
  nvidiaDriver: boolean;
  /** The CUDA acceleration pack: undefined when this platform has none. */
  cudaPack: { installed: boolean; approxBytes: number } | undefined;
  /** Whether CUDA can run here and why (not): cudaVerdict(); undefined where the platform has no CUDA build. */
  cuda?: CudaVerdict;
  /** Set when a model is loaded: what the worker reports. */
  loaded?: { backend: string; gpuLayers: number; totalLayers: number; threads: number; modelName: string; contextSize: number };
}

const backendName = (b: string): string => ({ cpu: "the CPU", cuda: "the GPU through CUDA", metal: "the GPU through Metal", vulkan: "the GPU through Vulkan" })[b] ?? b;

export function hardwareReport(f: HardwareFacts): string {
  const lines: string[] = ["# The hardware Bedside will use", ""];
  if (f.loaded) {
    const l = f.loaded;
    const layers = l.backend === "cpu" ? "all layers on the CPU" : `${l.gpuLayers} of ${l.totalLayers} layers on the GPU`;
    lines.push(`Now: ${l.modelName} runs on ${backendName(l.backend)}: ${layers}, ${l.threads} CPU thread${l.threads === 1 ? "" : "s"}, a ${l.contextSize}-token context.`, "");
  } else {
    lines.push("Now: no model is loaded yet. Choose one (the first step); this page then says where it runs.", "");
  }
  const inside = `CPU${f.gpuBackendsInside.map((b) => ` + ${b === "metal" ? "Metal" : b === "vulkan" ? "Vulkan" : b}`).join("")}`;
  lines.push(
    `- Processor: ${f.cpuModel || "unknown"} (${f.logicalCores} logical cores, ${f.platform}-${f.arch})`,
    `- Threads for the model: ${f.threads ?? "automatic"} (bedside.engine.threads; physical cores less one for the editor; both cores on a 2-core machine)`,
    `- Memory: ${formatBytes(f.totalMemoryBytes)} in all, ${formatBytes(f.freeMemoryBytes)} free`,
    `- GPU setting: bedside.engine.gpu = ${f.gpuSetting}`,
    `- Built into this install: ${inside}`,
    `- NVIDIA driver: ${f.nvidiaDriver ? "found" : "not found"}`,
  );
  if (f.cudaPack) {
    lines.push(
      `- CUDA acceleration pack: ${f.cudaPack.installed ? "installed" : `not installed (about ${formatBytes(f.cudaPack.approxBytes)}; Bedside: Install GPU Acceleration Pack…)`}`,
    );
  }
  if (f.cuda) lines.push(`- ${f.cuda.reason}`);
  lines.push("");
  if (f.nvidiaDriver && f.cudaPack && !f.cudaPack.installed && (f.cuda?.offerPack ?? true)) {
    lines.push("An NVIDIA GPU runs Bedside through Vulkan as installed; the CUDA pack is usually faster. Bedside asks before it downloads anything.", "");
  }
  lines.push("Nothing on this page leaves the machine.");
  return `${lines.join("\n")}\n`;
}
