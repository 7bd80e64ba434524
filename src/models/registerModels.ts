/**
 * The vscode side of models: "Select Model" (installed and downloadable models with size, licence and
 * whether they fit this machine: selectModelCommand.ts), "Download Model" (licence first, free-space check,
 * cancellable progress with speed and time left, resume, SHA-256: downloadModelCommand.ts) and the API key
 * for the remote server (`bedside.engine.endpoint`, which src/engine/engineHost.ts follows) in SecretStorage.
 * The logic lives in the pure modules beside this file.
 */
import { readFileSync } from "node:fs";
import * as vscode from "vscode";
import { setLowMemory, type BedsideConfig } from "../config";
import { API_KEY_SECRET, type EngineHost } from "../engine/engineHost";
import type { EngineSwitch } from "../engine/engineSwitch";
import type { Log } from "../log/log";
import { parseCatalog, type ModelCatalog } from "./catalog";
import { downloadModel, type DownloadModelArgs } from "./downloadModelCommand";
import { modelPicks, type ModelPick } from "./selectModelCommand";
import { modelsFolder, recordedHashes, type ModelsContext } from "./modelsContext";

export type { DownloadModelArgs } from "./downloadModelCommand";
export type { ModelPick } from "./selectModelCommand";

export interface ModelsParts {
  catalog: ModelCatalog;
  engineSwitch: EngineSwitch;
  folder(): string;
  picks(): Promise<ModelPick[]>;
  /** The SHA-256 recorded at the first verified download of a file without a published hash. */
  recordedSha256(fileName: string): string | undefined;
}

/** Asks before a model that fits only in low-memory mode; false when the user walked away. */
async function confirmLowMemory(picked: ModelPick): Promise<boolean> {
  if (picked.fit?.verdict !== "lowMemoryOnly") return true;
  const turnOn = "Turn On Low-Memory Mode";
  const answer = await vscode.window.showWarningMessage(
    `${picked.label.replace(/^\$\([^)]*\)\s*/, "")} ${picked.fit.label}: with the file memory-mapped, llama.cpp's repacked copy of the weights sits beside it and the machine would swap. Low-memory mode reads the file in instead (same speed; each load reads the whole file).`,
    turnOn,
    "Use As Is",
  );
  if (answer === undefined) return false;
  if (answer === turnOn) await setLowMemory(true);
  return true;
}

async function selectModel(m: ModelsContext): Promise<void> {
  const picked = await vscode.window.showQuickPick(modelPicks(m), {
    title: "Bedside: Select Model",
    placeHolder: "Installed and downloadable models: size, licence and whether each fits this machine",
    matchOnDescription: true,
    matchOnDetail: true,
  });
  const action = picked?.action;
  if (!action) return;
  if ((action.kind === "use" || action.kind === "download") && !(await confirmLowMemory(picked))) return;
  if (action.kind === "use") await m.host.useModel(action.path);
  else if (action.kind === "download") await downloadModel(m, { modelId: action.modelId, quantization: action.quantization });
  else if (action.kind === "chooseFile") await vscode.commands.executeCommand("bedside.chooseModelFile");
  else {
    const open = await vscode.window.showInformationMessage(`${action.model.name}: ${action.model.description}`, "Open Model Page", "Choose a GGUF File…");
    if (open === "Open Model Page") await vscode.env.openExternal(vscode.Uri.parse(action.model.homepage));
    if (open === "Choose a GGUF File…") await vscode.commands.executeCommand("bedside.chooseModelFile");
  }
}

async function setServerApiKey(secrets: vscode.SecretStorage): Promise<void> {
  const key = await vscode.window.showInputBox({ title: "Bedside: API key for the model server", prompt: "Kept in VS Code's secret storage, sent only to bedside.engine.endpoint. Leave empty to remove it.", password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key) await secrets.store(API_KEY_SECRET, key);
  else await secrets.delete(API_KEY_SECRET);
}

export function registerModels(context: vscode.ExtensionContext, config: BedsideConfig, host: EngineHost, log: Log): ModelsParts {
  const catalog = parseCatalog(JSON.parse(readFileSync(context.asAbsolutePath("models/catalog.json"), "utf8")) as unknown);
  const m: ModelsContext = { context, config, host, log, catalog };
  context.subscriptions.push(
    vscode.commands.registerCommand("bedside.selectModel", () => selectModel(m)),
    vscode.commands.registerCommand("bedside.downloadModel", (args?: DownloadModelArgs) => downloadModel(m, args)),
    vscode.commands.registerCommand("bedside.setServerApiKey", () => setServerApiKey(context.secrets)),
  );
  return { catalog, engineSwitch: host.engine, folder: () => modelsFolder(m), picks: () => modelPicks(m), recordedSha256: (fileName) => recordedHashes(m)[fileName] };
}
