/**
 * The acceleration pack, in VS Code: on a machine with an NVIDIA driver and `bedside.engine.gpu` auto or
 * cuda, Bedside offers once to fetch the CUDA build (src/packaging/platforms.ts says which); the user
 * decides; the download is verified (src/packaging/accelerationPack.ts) and the engine restarts onto it.
 * **Bedside: Install GPU Acceleration Pack…** does the same on request.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as vscode from "vscode";
import { gpuSetting } from "../config";
import { DownloadError } from "../models/modelDownload";
import { formatBytes } from "../models/hardwareFit";
import { DEFAULT_REGISTRY, fetchAccelerationPack, installedPackVersion, PackError } from "./accelerationPack";
import { currentTarget, packToOffer, platformBinaries, type AccelerationPack, type GpuFacts } from "./platforms";
import { cudaSearchDirs, findCudaLibraries } from "./cudaReadiness";

const DECLINED_KEY = "bedside.accelerationPacks.declined";

/** An NVIDIA driver on this machine (no process is started, nothing leaves it). */
export function nvidiaDriverPresent(): boolean {
  if (process.platform === "linux") return existsSync("/proc/driver/nvidia/version");
  if (process.platform === "win32") return existsSync(`${process.env.SystemRoot ?? "C:\\Windows"}\\System32\\nvcuda.dll`);
  return false;
}

/** Each CUDA installation's targets/<arch>/lib under /usr/local (where node-llama-cpp also looks). */
function cudaTargetDirs(): string[] {
  if (process.platform !== "linux") return [];
  const dirs: string[] = [];
  try {
    for (const install of readdirSync("/usr/local").filter((n) => n.startsWith("cuda"))) {
      const targets = `/usr/local/${install}/targets`;
      if (existsSync(targets)) for (const arch of readdirSync(targets)) dirs.push(`${targets}/${arch}/lib`);
    }
  } catch {
    // no /usr/local, or unreadable: nothing there
  }
  return dirs;
}

/** What this machine has for CUDA: the driver, its library, the runtimes found, and where they were looked for. */
export function cudaLibraryFacts(): { nvidiaDriver: boolean; runtimes: number[]; searched: string[] } {
  const searched = cudaSearchDirs(process.platform, process.env, cudaTargetDirs());
  const found = findCudaLibraries(process.platform, searched, existsSync);
  return { nvidiaDriver: nvidiaDriverPresent() || found.driverLibrary, runtimes: found.runtimes, searched };
}

export interface AccelerationStatus {
  pack: AccelerationPack | undefined;
  installed: boolean;
  /** The CUDA 12 fallback package (-ext) is installed too. */
  fallbackInstalled: boolean;
  nvidiaDriver: boolean;
  /** CUDA runtime majors found (libcudart, libcublas and libcublasLt all present). */
  runtimes: number[];
  searched: string[];
}

export interface InstallPackArgs {
  /** Registry base URL (tests use a local one); default npm_config_registry or registry.npmjs.org. */
  registry?: string;
  /** Skip the question (tests, through the extension's API only; the command always asks). */
  skipConfirmation?: boolean;
}

export interface AccelerationParts {
  /** The pack this machine's .vsix can take, if any, and whether it is installed. */
  status(): Promise<AccelerationStatus>;
  install(args?: InstallPackArgs): Promise<boolean>;
}

/** The engine's owner (src/engine/engineHost.ts), which restarts the worker onto the new build. */
export interface RestartableEngine {
  restart(): Promise<void>;
}

export function registerAcceleration(context: vscode.ExtensionContext, engine: RestartableEngine): AccelerationParts {
  const nodeModules = context.asAbsolutePath("node_modules");
  const target = currentTarget(process.platform, process.arch);
  const engineVersion = (): string | undefined => {
    try {
      return (JSON.parse(readFileSync(context.asAbsolutePath("node_modules/node-llama-cpp/package.json"), "utf8")) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const pack = target ? platformBinaries(target).onDemand.find((p) => p.id === "cuda") : undefined;

  const status = async (): Promise<AccelerationStatus> => ({
    pack,
    installed: pack ? (await installedPackVersion(nodeModules, pack.packageName)) === engineVersion() : false,
    fallbackInstalled: pack ? (await installedPackVersion(nodeModules, `${pack.packageName}-ext`)) === engineVersion() : false,
    // The library search only where a CUDA pack exists (a few file checks; none on macOS or arm64).
    ...(pack ? cudaLibraryFacts() : { nvidiaDriver: nvidiaDriverPresent(), runtimes: [], searched: [] }),
  });

  const install = async (args: InstallPackArgs = {}): Promise<boolean> => {
    const version = engineVersion();
    if (!pack || !version) {
      void vscode.window.showInformationMessage(
        `Bedside has no GPU acceleration pack for ${target ?? `${process.platform}-${process.arch}`}: the GPU support it can use is already inside the extension.`,
      );
      return false;
    }
    const registry = (args.registry ?? process.env.npm_config_registry ?? DEFAULT_REGISTRY).replace(/\/+$/, "");
    if (!args.skipConfirmation) {
      const choice = await vscode.window.showInformationMessage(
        `Download Bedside's ${pack.label} build (about ${formatBytes(pack.approxBytes)} unpacked) from ${new URL(registry).host}?`,
        {
          modal: true,
          detail: `${pack.packageName}@${version}, node-llama-cpp's own build of llama.cpp for NVIDIA GPUs. It is checked against the registry's integrity hash before it is installed. No note or other data is sent; only the package is requested.`,
        },
        "Download",
      );
      if (choice !== "Download") return false;
    }
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Bedside: downloading the ${pack.label} build`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          return fetchAccelerationPack({
            packageName: pack.packageName,
            version,
            nodeModulesDir: nodeModules,
            registry,
            downloadDir: vscode.Uri.joinPath(context.globalStorageUri, "acceleration-downloads").fsPath,
            signal: abort.signal,
            onProgress: (p) => {
              const percent = p.totalBytes > 0 ? (p.receivedBytes / p.totalBytes) * 100 : 0;
              progress.report({ increment: percent - reported, message: `${formatBytes(p.receivedBytes)} of ${formatBytes(p.totalBytes)}` });
              reported = percent;
            },
          });
        },
      );
      void vscode.window.showInformationMessage(
        `Bedside: the ${pack.label} build is installed (${formatBytes(result.tarballBytes)} downloaded, integrity checked). The engine restarts to use it.`,
      );
      await engine.restart();
      return true;
    } catch (error) {
      const message = error instanceof PackError || error instanceof DownloadError ? error.message : error instanceof Error ? error.message : String(error);
      if (!(error instanceof DownloadError && error.kind === "cancelled")) void vscode.window.showErrorMessage(`Bedside could not install the ${pack.label} build: ${message}`);
      return false;
    }
  };

  context.subscriptions.push(vscode.commands.registerCommand("bedside.installAccelerationPack", () => install()));

  // Offer once per machine, never during tests that did not ask for it, never for a pack said no to.
  void (async () => {
    const current = await status();
    const facts: GpuFacts = {
      nvidiaDriver: current.nvidiaDriver,
      gpuSetting: gpuSetting(),
      installed: current.installed && pack ? [pack.packageName] : [],
      declined: context.globalState.get<string[]>(DECLINED_KEY, []),
      cudaRuntimes: current.runtimes,
    };
    const offer = packToOffer(target, facts);
    if (!offer) return;
    const choice = await vscode.window.showInformationMessage(
      `Bedside found an NVIDIA GPU. It runs on it now through Vulkan; the ${offer.label} build (about ${formatBytes(offer.approxBytes)}, downloaded from the npm registry) is usually faster.`,
      "Download…",
      "Not Now",
      "Don't Ask Again",
    );
    if (choice === "Download…") await install();
    else if (choice === "Don't Ask Again") await context.globalState.update(DECLINED_KEY, [...facts.declined, offer.packageName]);
  })();

  return { status, install };
}
