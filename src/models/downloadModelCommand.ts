/**
 * "Download Model": the licence first, then a cancellable download with speed and time left, resume and
 * SHA-256 (src/models/modelDownload.ts), then the model is selected: a generation model as
 * bedside.model.path, an embedding model as bedside.literature.embeddingModel.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { setEmbeddingModelPath } from "../config";
import { catalogFileName, findCatalogFile, isEmbeddingModel, resolveModelUri, type CatalogFile, type CatalogModel } from "./catalog";
import { formatBytes } from "./hardwareFit";
import { DownloadError, downloadModelFile, type DownloadProgress, type DownloadResult } from "./modelDownload";
import { modelsFolder, recordedHashes, recordHash, type ModelsContext } from "./modelsContext";
import { describeProgress } from "./registerModelsText";

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

/** Shows the licence until the user accepts it (true) or walks away (false). */
async function askLicence(m: ModelsContext, model: CatalogModel): Promise<boolean> {
  for (;;) {
    const answer = await vscode.window.showInformationMessage(
      `${model.name} is licensed under the ${model.licence.name}.`,
      {
        modal: true,
        detail: `Read the licence at ${model.licence.url} before downloading. By choosing "Accept and Download" you accept its terms.${model.licence.gated ? " The publisher also asks you to accept these terms on Hugging Face." : ""} The download goes to ${modelsFolder(m)}.`,
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
}

export async function downloadModel(m: ModelsContext, args: DownloadModelArgs = {}): Promise<string | undefined> {
  const { catalog } = m;
  let found = args.modelId ? findCatalogFile(catalog, args.modelId, args.quantization) : undefined;
  if (!found) {
    const choice = await vscode.window.showQuickPick(
      catalog.models.flatMap((model) => model.files.map((f) => ({ label: `${isEmbeddingModel(model) ? "$(search) " : ""}${model.name} ${f.quantization}`, description: `${formatBytes(f.sizeBytes)} · ${model.licence.name}`, model, file: f }))),
      { title: "Bedside: Download Model" },
    );
    if (!choice) return undefined;
    found = { model: choice.model, file: choice.file };
  }
  const { model, file } = found;
  if (!args.licenceAccepted && !(await askLicence(m, model))) return undefined;
  return runDownload(m, model, file, args.url ?? resolveModelUri(file.uri)!, args.use ?? true);
}

/** The download itself, in a cancellable notification with progress. */
function downloadWithProgress(title: string, url: string, dest: string, expectedSha256: string | null): Thenable<DownloadResult> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    let reported = 0;
    return downloadModelFile({
      url,
      dest,
      expectedSha256,
      signal: controller.signal,
      onProgress: (p: DownloadProgress) => {
        const percent = (p.receivedBytes / p.totalBytes) * 100;
        progress.report({ message: describeProgress(p), increment: percent - reported });
        reported = percent;
      },
    });
  });
}

async function runDownload(m: ModelsContext, model: CatalogModel, file: CatalogFile, url: string, use: boolean): Promise<string | undefined> {
  const { log } = m;
  const name = catalogFileName(file);
  const dest = path.join(modelsFolder(m), name);
  const recorded = recordedHashes(m)[name];
  const expected = file.sha256 ?? recorded ?? null;
  log.info(`Downloading ${model.name} ${file.quantization} to ${dest}${expected ? " (SHA-256 known)" : ""}.`);
  try {
    const result = await downloadWithProgress(`Downloading ${model.name} ${file.quantization}`, url, dest, expected);
    if (!file.sha256 && !recorded) await recordHash(m, name, result.sha256);
    log.info(`Downloaded ${name}: ${result.bytes} bytes, SHA-256 ${result.sha256}${expected ? " (verified)" : " (recorded: no published hash to check against)"}.`);
    if (use && isEmbeddingModel(model)) await setEmbeddingModelPath(dest);
    else if (use) await m.host.useModel(dest);
    void vscode.window.showInformationMessage(
      `${model.name} ${file.quantization} is downloaded${use ? (isEmbeddingModel(model) ? " and set as bedside.literature.embeddingModel" : " and selected") : ""}. SHA-256 ${result.sha256.slice(0, 16)}… ${expected ? "verified" : "recorded (no published hash to check against)"}.`,
    );
    return dest;
  } catch (error) {
    const message = error instanceof DownloadError ? error.message : `The download failed: ${(error as Error).message}`;
    log.warn(`Download of ${name}: ${message}`);
    if (error instanceof DownloadError && error.kind === "cancelled") void vscode.window.showInformationMessage(`Bedside: ${message}`);
    else void vscode.window.showErrorMessage(`Bedside: ${message}`);
    return undefined;
  }
}
