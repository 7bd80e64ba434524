/**
 * Whether node-llama-cpp's CUDA build can run on this machine, and why not, in words a user can act on.
 * Pure: no vscode, no I/O (the adapter in registerAcceleration.ts gathers the facts).
 *
 * What the packs need, read from the packages themselves (`readelf -d` on their `libggml-cuda.so`,
 * node-llama-cpp 3.x; test/unit/packaging/cudaReadiness.test.ts checks it against the installed files):
 * - `@node-llama-cpp/linux-x64-cuda` (about 181 MB): libcuda.so.1 (the NVIDIA driver) and CUDA 13's runtime,
 *   libcudart.so.13 and libcublas.so.13 (libcublasLt.so.13 with it). Neither pack carries CUDA's runtime:
 *   they come with a CUDA toolkit or NVIDIA's runtime packages.
 * - `@node-llama-cpp/linux-x64-cuda-ext` (about 358 MB): a `fallback/libggml-cuda.so` built against CUDA 12
 *   (libcudart.so.12, libcublas.so.12), which node-llama-cpp's loader (dist/bindings/Llama.js) tries when
 *   the CUDA 13 backend does not load.
 * A machine with only the driver can therefore not use either; Vulkan, built into the .vsix, needs only
 * the driver, so Bedside does not offer a download that cannot load there, and Show Hardware says why.
 */

/** The CUDA runtime major each build links against (libcudart.so.N). */
export const CUDA_PACK_RUNTIME = { main: 13, fallback: 12 } as const;

/** The libraries a CUDA runtime of major N consists of, as node-llama-cpp checks for them. */
export function cudaRuntimeLibraries(major: number, platform = "linux"): string[] {
  return platform === "win32"
    ? [`cudart64_${major}.dll`, `cublas64_${major}.dll`, `cublasLt64_${major}.dll`]
    : [`libcudart.so.${major}`, `libcublas.so.${major}`, `libcublasLt.so.${major}`];
}

/**
 * Where CUDA's libraries are looked for, as node-llama-cpp's own detection does
 * (dist/bindings/utils/detectAvailableComputeLayers.js): the library path, CUDA_PATH, the system library
 * folders and each CUDA installation's targets/<arch>/lib. `cudaTargets` lists those last folders.
 */
export function cudaSearchDirs(platform: string, env: Readonly<Record<string, string | undefined>>, cudaTargets: readonly string[] = []): string[] {
  const list = (value: string | undefined, separator: string): string[] => (value ?? "").split(separator).filter((d) => d.length > 0);
  const dirs =
    platform === "win32"
      ? [...list(env.PATH ?? env.Path, ";"), ...(env.CUDA_PATH ? [`${env.CUDA_PATH}\\bin`] : [])]
      : [
          ...list(env.LD_LIBRARY_PATH, ":"),
          ...(env.CUDA_PATH ? [env.CUDA_PATH, `${env.CUDA_PATH}/lib64`] : []),
          "/usr/lib",
          "/usr/lib64",
          "/usr/lib/x86_64-linux-gnu",
          "/usr/local/cuda/lib64",
          ...cudaTargets,
        ];
  return [...new Set(dirs)];
}

/** The driver library and the CUDA runtimes (majors 11-13) found in `dirs`; `exists` is the file check. */
export function findCudaLibraries(platform: string, dirs: readonly string[], exists: (path: string) => boolean): { driverLibrary: boolean; runtimes: number[] } {
  const separator = platform === "win32" ? "\\" : "/";
  const anywhere = (name: string): boolean => dirs.some((d) => exists(`${d.replace(/[\\/]+$/, "")}${separator}${name}`));
  const driverLibrary = platform === "win32" ? anywhere("nvcuda.dll") : anywhere("libcuda.so.1") || anywhere("libcuda.so");
  const runtimes = [13, 12, 11].filter((major) => cudaRuntimeLibraries(major, platform).every(anywhere));
  return { driverLibrary, runtimes };
}

export interface CudaFacts {
  /** The platform has a CUDA pack at all (linux-x64, win32-x64). */
  packForPlatform: boolean;
  /** bedside.engine.gpu */
  gpuSetting: string;
  /** The NVIDIA driver: /proc/driver/nvidia/version or libcuda.so.1 on the library path. */
  nvidiaDriver: boolean;
  /** CUDA runtime majors whose libcudart, libcublas and libcublasLt are all on the library path. */
  runtimes: readonly number[];
  /** Where the libraries were looked for (for the message). */
  searched?: readonly string[];
  packInstalled: boolean;
  fallbackInstalled: boolean;
  /** The backend the loaded model runs on, when one is loaded ("cuda", "vulkan", "cpu", …). */
  loadedBackend?: string;
}

export interface CudaVerdict {
  /** CUDA can run here (the driver, a pack and the runtime it needs). */
  usable: boolean;
  /** One sentence: whether CUDA is used, and exactly why (not). */
  reason: string;
  /** Offer the CUDA pack's download: it would load here and is not installed. */
  offerPack: boolean;
}

const libs = (major: number): string => cudaRuntimeLibraries(major).join(", ");

export function cudaVerdict(f: CudaFacts): CudaVerdict {
  const no = (reason: string, offerPack = false): CudaVerdict => ({ usable: false, reason: `CUDA is not used: ${reason}`, offerPack });
  if (!f.packForPlatform) return no("Bedside has no CUDA build for this platform.");
  if (!f.nvidiaDriver) return no("no NVIDIA driver was found (no /proc/driver/nvidia/version, no libcuda.so.1). Without one there is no NVIDIA GPU to use.");
  const mainRuns = f.runtimes.includes(CUDA_PACK_RUNTIME.main);
  const fallbackRuns = f.runtimes.includes(CUDA_PACK_RUNTIME.fallback);
  const found = f.runtimes.length > 0 ? `this machine has CUDA ${[...f.runtimes].sort((a, b) => b - a).join(" and ")}'s` : "none were found";
  const where = f.searched && f.searched.length > 0 ? ` (looked in ${f.searched.join(", ")})` : "";
  if (!mainRuns && !fallbackRuns) {
    const what = f.packInstalled ? "the installed CUDA pack cannot load" : "the CUDA pack would not load";
    return no(
      `the NVIDIA driver is here, but ${what}: it needs CUDA ${CUDA_PACK_RUNTIME.main}'s runtime libraries (${libs(CUDA_PACK_RUNTIME.main)}), and ${found}${where}. ` +
        `Install NVIDIA's CUDA ${CUDA_PACK_RUNTIME.main} runtime (cuda-cudart and libcublas, or the CUDA toolkit), or keep Vulkan, which needs only the driver.`,
    );
  }
  if (!f.packInstalled) {
    if (!mainRuns) {
      return no(
        `CUDA ${CUDA_PACK_RUNTIME.main}'s runtime is not here (${found}), so the CUDA pack would run only with its CUDA ${CUDA_PACK_RUNTIME.fallback} fallback (@node-llama-cpp/linux-x64-cuda-ext, about 358 MB more), which Bedside does not download; install CUDA ${CUDA_PACK_RUNTIME.main}'s runtime to use the pack.`,
      );
    }
    if (f.gpuSetting !== "auto" && f.gpuSetting !== "cuda") return no(`the CUDA pack is not installed, and bedside.engine.gpu is ${f.gpuSetting}.`);
    return no("the CUDA pack is not installed (Bedside: Install GPU Acceleration Pack…). The driver and CUDA's runtime are here, so it would load.", true);
  }
  if (!mainRuns && !f.fallbackInstalled) {
    return no(
      `the CUDA pack needs CUDA ${CUDA_PACK_RUNTIME.main}'s runtime (${libs(CUDA_PACK_RUNTIME.main)}) and ${found}; its CUDA ${CUDA_PACK_RUNTIME.fallback} fallback package is not installed.`,
    );
  }
  const runtime = mainRuns ? CUDA_PACK_RUNTIME.main : CUDA_PACK_RUNTIME.fallback;
  if (f.gpuSetting !== "auto" && f.gpuSetting !== "cuda")
    return { usable: true, reason: `CUDA is not used: bedside.engine.gpu is ${f.gpuSetting} (the CUDA pack and CUDA ${runtime}'s runtime are here).`, offerPack: false };
  if (f.loadedBackend === undefined)
    return { usable: true, reason: `CUDA will be used when a model loads: the driver, the CUDA pack and CUDA ${runtime}'s runtime are here.`, offerPack: false };
  if (f.loadedBackend === "cuda") return { usable: true, reason: `CUDA is in use (the CUDA pack on CUDA ${runtime}'s runtime).`, offerPack: false };
  return {
    usable: true,
    reason: `CUDA is not used although the driver, the pack and CUDA ${runtime}'s runtime are here: the engine loaded ${f.loadedBackend} instead. The Bedside log (Output, Bedside) has the loader's message.`,
    offerPack: false,
  };
}
