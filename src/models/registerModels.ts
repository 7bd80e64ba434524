/**
 * The vscode side of models: "Select Model" (installed and downloadable models with size, licence and
 * whether they fit this machine), "Download Model" (licence first, free-space check, cancellable progress
 * with speed and time left, resume, SHA-256), the remote server switch (`bedside.engine.endpoint`) and its
 * API key in SecretStorage. The logic lives in the pure modules beside this file.
 */
import { promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { modelsFolderSetting, remoteEngineSettings, setLowMemory, type BedsideConfig } from "../config";
import type { EngineClient } from "../engine/client/engineClient";
import { EngineSwitch } from "../engine/remote/engineSwitch";
import { RemoteEngine } from "../engine/remote/remoteEngine";
import type { Log } from "../log/log";
import { catalogFileName, findCatalogFile, parseCatalog, resolveModelUri, type CatalogFile, type CatalogModel, type ModelCatalog } from "./catalog";
import { readGgufHeader } from "./ggufHeader";
import { fitWorker, formatBytes, repackedShare, shapeFromGguf, weightsRepackedOnCpu, type HardwareFit, type WorkerModel } from "./hardwareFit";
import { DownloadError, downloadModelFile, partialBytes, type DownloadProgress } from "./modelDownload";
import { describeProgress } from "./registerModelsText";

const API_KEY_SECRET = "bedside.engine.apiKey";
const HASHES_KEY = "bedside.models.recordedSha256";

export interface DownloadModelArgs {
  modelId?: string;
  quantization?: string;
  /** Another source for the same file (a mirror, or a test server on 127.0.0.1). */
  url?: string;
  /** For callers that showed the licence themselves (tests, other extensions); the UI always asks. */
  licenceAccepted?: boolean;
  /** Use the model once downloaded (default true). */
  use?: boolean;
}

export interface ModelPick extends vscode.QuickPickItem {
  action?: { kind: "use"; path: string } | { kind: "download"; modelId: string; quantization: string } | { kind: "chooseFile" } | { kind: "noFile"; model: CatalogModel };
  fit?: HardwareFit;
}

export interface ModelsParts {
  catalog: ModelCatalog;
  engineSwitch: EngineSwitch;
  folder(): string;
  picks(): Promise<ModelPick[]>;
  /** The SHA-256 recorded at the first verified download of a file without a published hash. */
  recordedSha256(fileName: string): string | undefined;
}

export function registerModels(context: vscode.ExtensionContext, config: BedsideConfig, engine: EngineClient, engineSwitch: EngineSwitch, log: Log): ModelsParts {
  const catalog = parseCatalog(JSON.parse(readFileSync(context.asAbsolutePath("models/catalog.json"), "utf8")) as unknown);
  const folder = (): string => modelsFolderSetting() ?? vscode.Uri.joinPath(context.globalStorageUri, "models").fsPath;
  const hashes = (): Record<string, string> => context.globalState.get<Record<string, string>>(HASHES_KEY, {});

  const useModel = async (file: string): Promise<void> => {
    await config.setModelPath(file);
    engine.retry();
  };

  /** The draft model (bedside.engine.draftModelPath) the worker would load beside the chosen one. */
  const draftModel = async (): Promise<WorkerModel | undefined> => {
    const file = config.engine.draftModelPath;
    if (!file) return undefined;
    try {
      const header = await readGgufHeader(file);
      const shape = shapeFromGguf(header);
      return shape ? { weightsBytes: header.fileBytes, shape, repacked: weightsRepackedOnCpu(header) } : undefined;
    } catch {
      return undefined;
    }
  };

  // What the worker would allocate (both lanes, the repacked copy unless low-memory mode, a draft model).
  const fitFor = (weightsBytes: number, shape: CatalogModel["shape"] | undefined, trainContext: number, repacked: number, draft: WorkerModel | undefined): HardwareFit | undefined => {
    if (!shape) return undefined;
    const context = Math.min(config.engine.contextSize, trainContext || config.engine.contextSize);
    return fitWorker({ weightsBytes, shape, repacked, contextSize: context, lanes: 2, ...(draft ? { draft } : {}) }, config.engine.lowMemory, { totalRamBytes: os.totalmem(), freeRamBytes: os.freemem() });
  };

  const picks = async (): Promise<ModelPick[]> => {
    const items: ModelPick[] = [];
    const current = config.modelPath;
    const draft = await draftModel();
    const installed = new Map<string, string>();
    try {
      for (const name of await fs.readdir(folder())) if (name.endsWith(".gguf")) installed.set(name, path.join(folder(), name));
    } catch {
      /* no folder yet */
    }
    if (current) installed.set(path.basename(current), current);
    items.push({ label: "Installed", kind: vscode.QuickPickItemKind.Separator });
    for (const [name, file] of installed) {
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat) continue;
      const known = catalog.models.find((m) => m.files.some((f) => catalogFileName(f) === name));
      let fit: HardwareFit | undefined;
      let facts = "";
      try {
        const header = await readGgufHeader(file);
        const shape = shapeFromGguf(header) ?? known?.shape;
        const arch = header.metadata.get("general.architecture");
        const ctx = header.metadata.get(`${String(arch)}.context_length`);
        fit = fitFor(stat.size, shape, typeof ctx === "number" ? ctx : (known?.contextLength ?? 0), weightsRepackedOnCpu(header), draft);
        facts = `${String(arch)}`;
      } catch (error) {
        facts = `not usable: ${(error as Error).message}`;
      }
      items.push({
        label: `${file === current ? "$(check) " : ""}${known?.name ?? name}`,
        description: [formatBytes(stat.size), known?.licence.name].filter(Boolean).join(" · "),
        detail: [fit?.label, facts, file].filter(Boolean).join(" · "),
        action: { kind: "use", path: file },
        ...(fit ? { fit } : {}),
      });
    }
    items.push({ label: "Available to download", kind: vscode.QuickPickItemKind.Separator });
    for (const model of catalog.models) {
      if (model.files.length === 0) {
        items.push({ label: model.name, description: `no GGUF published · ${model.licence.name}`, detail: model.description, action: { kind: "noFile", model } });
        continue;
      }
      for (const file of model.files) {
        if (installed.has(catalogFileName(file))) continue;
        const fit = fitFor(file.sizeBytes, model.shape, model.contextLength, file.sizeBytes * repackedShare(file.quantization), draft);
        const partial = await partialBytes(path.join(folder(), catalogFileName(file)));
        items.push({
          label: `$(cloud-download) ${model.name} ${file.quantization}${model.id === catalog.defaultModel && file.recommended ? " (recommended)" : ""}`,
          description: `${formatBytes(file.sizeBytes)} · ${model.licence.name}${partial > 0 ? ` · ${formatBytes(partial)} downloaded, resumes` : ""}`,
          detail: [fit?.label, model.instructionTuned ? "instruction-tuned" : "base model (few-shot prompts)", `context ${model.contextLength}`, model.description].filter(Boolean).join(" · "),
          action: { kind: "download", modelId: model.id, quantization: file.quantization },
          ...(fit ? { fit } : {}),
        });
      }
    }
    items.push({ label: "", kind: vscode.QuickPickItemKind.Separator });
    items.push({ label: "$(file-add) Choose a GGUF file…", detail: "Any GGUF model on this machine", action: { kind: "chooseFile" } });
    return items;
  };

  const selectModel = async (): Promise<void> => {
    const picked = await vscode.window.showQuickPick(picks(), {
      title: "Bedside: Select Model",
      placeHolder: "Installed and downloadable models: size, licence and whether each fits this machine",
      matchOnDescription: true,
      matchOnDetail: true,
    });
    const action = picked?.action;
    if (!action) return;
    if (picked.fit?.verdict === "lowMemoryOnly" && (action.kind === "use" || action.kind === "download")) {
      const turnOn = "Turn On Low-Memory Mode";
      const answer = await vscode.window.showWarningMessage(
        `${picked.label.replace(/^\$\([^)]*\)\s*/, "")} ${picked.fit.label}: with the file memory-mapped, llama.cpp's repacked copy of the weights sits beside it and the machine would swap. Low-memory mode reads the file in instead (same speed; each load reads the whole file).`,
        turnOn,
        "Use As Is",
      );
      if (answer === undefined) return;
      if (answer === turnOn) await setLowMemory(true);
    }
    if (action.kind === "use") await useModel(action.path);
    else if (action.kind === "download") await downloadModel({ modelId: action.modelId, quantization: action.quantization });
    else if (action.kind === "chooseFile") await vscode.commands.executeCommand("bedside.chooseModelFile");
    else {
      const open = await vscode.window.showInformationMessage(`${action.model.name}: ${action.model.description}`, "Open Model Page", "Choose a GGUF File…");
      if (open === "Open Model Page") await vscode.env.openExternal(vscode.Uri.parse(action.model.homepage));
      if (open === "Choose a GGUF File…") await vscode.commands.executeCommand("bedside.chooseModelFile");
    }
  };

  const askLicence = async (model: CatalogModel): Promise<boolean> => {
    for (;;) {
      const answer = await vscode.window.showInformationMessage(
        `${model.name} is licensed under the ${model.licence.name}.`,
        {
          modal: true,
          detail: `Read the licence at ${model.licence.url} before downloading. By choosing "Accept and Download" you accept its terms.${model.licence.gated ? " The publisher also asks you to accept these terms on Hugging Face." : ""} The download goes to ${folder()}.`,
        },
        "Accept and Download",
        "Read Licence",
      );
      if (answer === "Read Licence") {
        await vscode.env.openExternal(vscode.Uri.parse(model.licence.url));
        continue;
      }
      return answer === "Accept and Download";
    }
  };

  const downloadModel = async (args: DownloadModelArgs = {}): Promise<string | undefined> => {
    let found = args.modelId ? findCatalogFile(catalog, args.modelId, args.quantization) : undefined;
    if (!found) {
      const choice = await vscode.window.showQuickPick(
        catalog.models.flatMap((m) => m.files.map((f) => ({ label: `${m.name} ${f.quantization}`, description: `${formatBytes(f.sizeBytes)} · ${m.licence.name}`, model: m, file: f }))),
        { title: "Bedside: Download Model" },
      );
      if (!choice) return undefined;
      found = { model: choice.model, file: choice.file };
    }
    const { model, file } = found;
    if (!args.licenceAccepted && !(await askLicence(model))) return undefined;
    return runDownload(model, file, args.url ?? resolveModelUri(file.uri)!, args.use ?? true);
  };

  const runDownload = async (model: CatalogModel, file: CatalogFile, url: string, use: boolean): Promise<string | undefined> => {
    const name = catalogFileName(file);
    const dest = path.join(folder(), name);
    const recorded = hashes()[name];
    const expected = file.sha256 ?? recorded ?? null;
    log.info(`Downloading ${model.name} ${file.quantization} to ${dest}${expected ? " (SHA-256 known)" : ""}.`);
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Downloading ${model.name} ${file.quantization}`, cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let reported = 0;
          return downloadModelFile({
            url,
            dest,
            expectedSha256: expected,
            signal: controller.signal,
            onProgress: (p: DownloadProgress) => {
              const percent = (p.receivedBytes / p.totalBytes) * 100;
              progress.report({ message: describeProgress(p), increment: percent - reported });
              reported = percent;
            },
          });
        },
      );
      if (!file.sha256 && !recorded) await context.globalState.update(HASHES_KEY, { ...hashes(), [name]: result.sha256 });
      log.info(`Downloaded ${name}: ${result.bytes} bytes, SHA-256 ${result.sha256}${expected ? " (verified)" : " (recorded: no published hash to check against)"}.`);
      if (use) await useModel(dest);
      void vscode.window.showInformationMessage(
        `${model.name} ${file.quantization} is downloaded${use ? " and selected" : ""}. SHA-256 ${result.sha256.slice(0, 16)}… ${expected ? "verified" : "recorded (no published hash to check against)"}.`,
      );
      return dest;
    } catch (error) {
      const message = error instanceof DownloadError ? error.message : `The download failed: ${(error as Error).message}`;
      log.warn(`Download of ${name}: ${message}`);
      if (error instanceof DownloadError && error.kind === "cancelled") void vscode.window.showInformationMessage(`Bedside: ${message}`);
      else void vscode.window.showErrorMessage(`Bedside: ${message}`);
      return undefined;
    }
  };

  // The remote engine follows the endpoint setting.
  const applyEndpoint = async (): Promise<void> => {
    const { endpoint, model, timeoutMs } = remoteEngineSettings();
    const current = engineSwitch.active instanceof RemoteEngine ? engineSwitch.active.endpoint : undefined;
    if ((endpoint || undefined) === current && endpoint !== undefined) return;
    if (!endpoint) {
      if (engineSwitch.isRemote) await engineSwitch.useRemote(undefined);
      return;
    }
    const remote = new RemoteEngine({
      endpoint,
      apiKey: async () => (await context.secrets.get(API_KEY_SECRET)) || undefined,
      ...(model ? { model } : {}),
      timeoutMs,
      log,
    });
    log.info(`Engine: using the server at ${remote.endpoint}.`);
    await engineSwitch.useRemote(remote);
    void remote.ensureReady().catch((error: unknown) => log.warn(`Remote engine: ${(error as Error).message}`));
  };
  void applyEndpoint();

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("bedside.engine.endpoint") || e.affectsConfiguration("bedside.engine.remoteModel") || e.affectsConfiguration("bedside.engine.timeoutSeconds")) {
        if (engineSwitch.active instanceof RemoteEngine) void engineSwitch.useRemote(undefined).then(applyEndpoint);
        else void applyEndpoint();
      }
    }),
    vscode.commands.registerCommand("bedside.selectModel", selectModel),
    vscode.commands.registerCommand("bedside.downloadModel", (args?: DownloadModelArgs) => downloadModel(args)),
    vscode.commands.registerCommand("bedside.setServerApiKey", async () => {
      const key = await vscode.window.showInputBox({ title: "Bedside: API key for the model server", prompt: "Kept in VS Code's secret storage, sent only to bedside.engine.endpoint. Leave empty to remove it.", password: true, ignoreFocusOut: true });
      if (key === undefined) return;
      if (key) await context.secrets.store(API_KEY_SECRET, key);
      else await context.secrets.delete(API_KEY_SECRET);
    }),
    { dispose: () => void engineSwitch.dispose() },
  );

  return { catalog, engineSwitch, folder, picks, recordedSha256: (fileName) => hashes()[fileName] };
}
