/**
 * The items of "Select Model": installed models and downloadable ones, each with its size, licence and
 * whether it fits this machine (both lanes, the repacked copy unless low-memory mode, a draft model, the
 * embedding model for hybrid ranking).
 */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { readGgufHeader } from "../engine/ggufHeader";
import { embeddingModelSetting } from "../config";
import { catalogFileName, embeddingModelForFile, isEmbeddingModel, type CatalogModel } from "./catalog";
import { fitWorker, formatBytes, repackedShare, shapeFromGguf, weightsRepackedOnCpu, type HardwareFit, type WorkerModel } from "./hardwareFit";
import { partialBytes } from "./modelDownload";
import { modelsFolder, type ModelsContext } from "./modelsContext";

export interface ModelPick extends vscode.QuickPickItem {
  action?: { kind: "use"; path: string } | { kind: "download"; modelId: string; quantization: string } | { kind: "chooseFile" } | { kind: "noFile"; model: CatalogModel };
  fit?: HardwareFit;
}

/** The shape and weights of a companion model file (a draft or an embedding model); undefined when unset or unreadable. */
async function workerModelAt(file: string | undefined): Promise<WorkerModel | undefined> {
  if (!file) return undefined;
  try {
    const header = await readGgufHeader(file);
    const shape = shapeFromGguf(header);
    return shape ? { weightsBytes: header.fileBytes, shape, repacked: weightsRepackedOnCpu(header) } : undefined;
  } catch {
    return undefined;
  }
}

/** Models that run beside the chosen one: a draft model, and the embedding model for hybrid ranking. */
interface Companions {
  draft?: WorkerModel | undefined;
  embedding?: WorkerModel | undefined;
}

/** What the worker would allocate (both lanes, the repacked copy unless low-memory mode, a draft model, an embedding model). */
function fitFor(m: ModelsContext, weightsBytes: number, shape: CatalogModel["shape"] | undefined, trainContext: number, repacked: number, companions: Companions): HardwareFit | undefined {
  if (!shape) return undefined;
  const engine = m.config.engine;
  const context = Math.min(engine.contextSize, trainContext || engine.contextSize);
  const { draft, embedding } = companions;
  return fitWorker(
    { weightsBytes, shape, repacked, contextSize: context, lanes: 2, ...(draft ? { draft } : {}), ...(embedding ? { embedding } : {}) },
    engine.lowMemory,
    { totalRamBytes: os.totalmem(), freeRamBytes: os.freemem() },
  );
}

async function installedPicks(m: ModelsContext, installed: Map<string, string>, current: string | undefined, companions: Companions): Promise<ModelPick[]> {
  const items: ModelPick[] = [];
  for (const [name, file] of installed) {
    // An embedding model (bedside.literature.embeddingModel) does not write: not a choice here.
    if (embeddingModelForFile(m.catalog, name)) continue;
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat) continue;
    const known = m.catalog.models.find((model) => model.files.some((f) => catalogFileName(f) === name));
    let fit: HardwareFit | undefined;
    let facts = "";
    try {
      const header = await readGgufHeader(file);
      const shape = shapeFromGguf(header) ?? known?.shape;
      const arch = header.metadata.get("general.architecture");
      const ctx = header.metadata.get(`${String(arch)}.context_length`);
      fit = fitFor(m, stat.size, shape, typeof ctx === "number" ? ctx : (known?.contextLength ?? 0), weightsRepackedOnCpu(header), companions);
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
  return items;
}

async function downloadablePicks(m: ModelsContext, installed: Map<string, string>, companions: Companions): Promise<ModelPick[]> {
  const items: ModelPick[] = [];
  const { catalog } = m;
  for (const model of catalog.models.filter((c) => !isEmbeddingModel(c))) {
    if (model.files.length === 0) {
      items.push({ label: model.name, description: `no GGUF published · ${model.licence.name}`, detail: model.description, action: { kind: "noFile", model } });
      continue;
    }
    for (const file of model.files) {
      if (installed.has(catalogFileName(file))) continue;
      const fit = fitFor(m, file.sizeBytes, model.shape, model.contextLength, file.sizeBytes * repackedShare(file.quantization), companions);
      const partial = await partialBytes(path.join(modelsFolder(m), catalogFileName(file)));
      items.push({
        label: `$(cloud-download) ${model.name} ${file.quantization}${model.id === catalog.defaultModel && file.recommended ? " (recommended)" : ""}`,
        description: `${formatBytes(file.sizeBytes)} · ${model.licence.name}${partial > 0 ? ` · ${formatBytes(partial)} downloaded, resumes` : ""}`,
        detail: [fit?.label, model.instructionTuned ? "instruction-tuned" : "base model (few-shot prompts)", `context ${model.contextLength}`, model.description].filter(Boolean).join(" · "),
        action: { kind: "download", modelId: model.id, quantization: file.quantization },
        ...(fit ? { fit } : {}),
      });
    }
  }
  return items;
}

export async function modelPicks(m: ModelsContext): Promise<ModelPick[]> {
  const current = m.config.modelPath;
  const companions: Companions = { draft: await workerModelAt(m.config.engine.draftModelPath), embedding: await workerModelAt(embeddingModelSetting()) };
  const folder = modelsFolder(m);
  const installed = new Map<string, string>();
  try {
    for (const name of await fs.readdir(folder)) if (name.endsWith(".gguf")) installed.set(name, path.join(modelsFolder(m), name));
  } catch {
    /* no folder yet */
  }
  if (current) installed.set(path.basename(current), current);
  return [
    { label: "Installed", kind: vscode.QuickPickItemKind.Separator },
    ...(await installedPicks(m, installed, current, companions)),
    { label: "Available to download", kind: vscode.QuickPickItemKind.Separator },
    ...(await downloadablePicks(m, installed, companions)),
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(file-add) Choose a GGUF file…", detail: "Any GGUF model on this machine", action: { kind: "chooseFile" } },
  ];
}
