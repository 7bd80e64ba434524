/**
 * Which of node-llama-cpp's prebuilt binary packages each platform-specific .vsix carries, and which are
 * acceleration packs fetched from the npm registry on demand. Pure data and logic: no vscode, no I/O.
 *
 * The decision (sizes measured on node-llama-cpp 3.22.1, unpacked):
 * - CPU builds ship inside every .vsix: they always work (linux-x64 29 MB).
 * - Vulkan ships inside on Linux and Windows x64 (linux-x64 71 MB): one build serves AMD, Intel and NVIDIA
 *   GPUs with only the graphics driver installed.
 * - Metal ships inside on Apple silicon (the mac-arm64 package is Metal and CPU in one).
 * - CUDA does not ship inside: linux-x64-cuda is 181 MB unpacked (and its -ext fallback with CUDA's own
 *   runtime libraries 358 MB), more than the rest of the .vsix together, and useful only on NVIDIA GPUs,
 *   which Vulkan already drives. It is an acceleration pack: when an NVIDIA GPU is found, Bedside asks
 *   before fetching it from the npm registry and checks the tarball against the registry's integrity hash.
 */

import { CUDA_PACK_RUNTIME } from "./cudaReadiness";

/** The targets `vsce package --target` knows that Bedside builds. */
export const VSCE_TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "win32-x64", "win32-arm64"] as const;
export type VsceTarget = (typeof VSCE_TARGETS)[number];

export interface AccelerationPack {
  /** Short id shown to the user and used by the command: "cuda". */
  id: "cuda";
  /** The npm package under @node-llama-cpp. */
  packageName: string;
  /** What it accelerates, for the prompt. */
  label: string;
  /** Approximate unpacked size in bytes (node-llama-cpp 3.22.1), for the prompt before the download. */
  approxBytes: number;
}

export interface PlatformBinaries {
  target: VsceTarget;
  /** node-llama-cpp's binary packages shipped inside the .vsix. */
  inside: readonly string[];
  /** GPU backends the shipped binaries provide (besides the CPU). */
  gpuInside: readonly ("metal" | "vulkan")[];
  /** Fetched on demand, after asking, when matching hardware is found. */
  onDemand: readonly AccelerationPack[];
}

const MB = 1024 * 1024;

const PLATFORMS: Record<VsceTarget, PlatformBinaries> = {
  "linux-x64": {
    target: "linux-x64",
    inside: ["@node-llama-cpp/linux-x64", "@node-llama-cpp/linux-x64-vulkan"],
    gpuInside: ["vulkan"],
    onDemand: [{ id: "cuda", packageName: "@node-llama-cpp/linux-x64-cuda", label: "NVIDIA CUDA", approxBytes: 181 * MB }],
  },
  "linux-arm64": { target: "linux-arm64", inside: ["@node-llama-cpp/linux-arm64"], gpuInside: [], onDemand: [] },
  "darwin-arm64": { target: "darwin-arm64", inside: ["@node-llama-cpp/mac-arm64-metal"], gpuInside: ["metal"], onDemand: [] },
  "darwin-x64": { target: "darwin-x64", inside: ["@node-llama-cpp/mac-x64"], gpuInside: [], onDemand: [] },
  "win32-x64": {
    target: "win32-x64",
    inside: ["@node-llama-cpp/win-x64", "@node-llama-cpp/win-x64-vulkan"],
    gpuInside: ["vulkan"],
    // Size not measured: the registry mirror this project builds against does not serve Windows binaries.
    onDemand: [{ id: "cuda", packageName: "@node-llama-cpp/win-x64-cuda", label: "NVIDIA CUDA", approxBytes: 200 * MB }],
  },
  "win32-arm64": { target: "win32-arm64", inside: ["@node-llama-cpp/win-arm64"], gpuInside: [], onDemand: [] },
};

export function isVsceTarget(value: string): value is VsceTarget {
  return (VSCE_TARGETS as readonly string[]).includes(value);
}

export function platformBinaries(target: VsceTarget): PlatformBinaries {
  return PLATFORMS[target];
}

/** The vsce target of the machine this runs on (process.platform, process.arch), if Bedside builds one. */
export function currentTarget(platform: string, arch: string): VsceTarget | undefined {
  const candidate = `${platform}-${arch}`;
  return isVsceTarget(candidate) ? candidate : undefined;
}

/** True for node-llama-cpp's binary packages (the only platform-specific packages Bedside ships). */
export function isBinaryPackage(name: string): boolean {
  return name.startsWith("@node-llama-cpp/");
}

export interface GpuFacts {
  /** An NVIDIA driver is present (Linux: /proc/driver/nvidia/version; Windows: nvidia-smi or nvcuda.dll). */
  nvidiaDriver: boolean;
  /** bedside.engine.gpu */
  gpuSetting: "auto" | "cuda" | "metal" | "vulkan" | "cpu";
  /** Packs already installed beside node-llama-cpp. */
  installed: readonly string[];
  /** Packs the user said no to (kept in global state; the command still installs one on request). */
  declined: readonly string[];
  /** CUDA runtime majors on the library path; when given, a pack is offered only where its runtime is. */
  cudaRuntimes?: readonly number[];
}

/** The acceleration pack to offer on this machine without being asked, if any. */
export function packToOffer(target: VsceTarget | undefined, facts: GpuFacts): AccelerationPack | undefined {
  if (!target) return undefined;
  if (facts.gpuSetting !== "auto" && facts.gpuSetting !== "cuda") return undefined;
  const pack = PLATFORMS[target].onDemand.find((p) => p.id === "cuda");
  if (!pack || !facts.nvidiaDriver) return undefined;
  if (facts.installed.includes(pack.packageName) || facts.declined.includes(pack.packageName)) return undefined;
  // A download that cannot load is not offered: the pack links CUDA's runtime, which it does not carry.
  if (facts.cudaRuntimes && !facts.cudaRuntimes.includes(CUDA_PACK_RUNTIME.main)) return undefined;
  return pack;
}

/** What the engine will run on, in words, from the backend the worker reports. */
export function describeBackend(gpu: string | false | undefined, deviceNames: readonly string[] = []): string {
  const devices = deviceNames.length > 0 ? ` (${deviceNames.join(", ")})` : "";
  switch (gpu) {
    case "cuda":
      return `NVIDIA GPU through CUDA${devices}`;
    case "metal":
      return `Apple GPU through Metal${devices}`;
    case "vulkan":
      return `GPU through Vulkan${devices}`;
    default:
      return "CPU";
  }
}
