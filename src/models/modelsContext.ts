/** What the model commands share: the catalog, where models go, the recorded hashes, the engine's owner. */
import * as path from "node:path";
import { modelsFolderSetting, type BedsideConfig } from "../config";
import type { EngineHost } from "../engine/engineHost";
import type { Log } from "../log/log";
import type { ModelCatalog } from "./catalog";

const HASHES_KEY = "bedside.models.recordedSha256";

/** The parts of the extension context the model commands use (a vscode.ExtensionContext fits). */
export interface ModelsStorage {
  globalStorageUri: { fsPath: string };
  globalState: { get<T>(key: string, defaultValue: T): T; update(key: string, value: unknown): PromiseLike<void> };
}

export interface ModelsContext {
  context: ModelsStorage;
  config: BedsideConfig;
  host: EngineHost;
  log: Log;
  catalog: ModelCatalog;
}

/** Where models are downloaded: bedside.models.folder (with ~), or the extension's global storage. */
export function modelsFolder(m: ModelsContext): string {
  return modelsFolderSetting() ?? path.join(m.context.globalStorageUri.fsPath, "models");
}

/** The SHA-256 of each file recorded at its first verified download (files without a published hash). */
export function recordedHashes(m: ModelsContext): Record<string, string> {
  return m.context.globalState.get<Record<string, string>>(HASHES_KEY, {});
}

export async function recordHash(m: ModelsContext, fileName: string, sha256: string): Promise<void> {
  await m.context.globalState.update(HASHES_KEY, { ...recordedHashes(m), [fileName]: sha256 });
}
