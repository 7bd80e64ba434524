/**
 * The model catalog (models/catalog.json): which models Bedside offers, where their GGUF files are, how
 * big they are, under which licence, and how to prompt them. The loader checks every field so a bad edit
 * fails loudly in a unit test, not in a clinician's quick pick. Pure: no vscode, no node-llama-cpp.
 */

export interface PromptFormat {
  /** "completion": a base model, continued with few-shot prompts and stop strings; "chat": a chat template. */
  kind: "completion" | "chat";
  template?: string;
  notes: string;
  stop?: string[];
}

export interface ModelCapabilities {
  infill: boolean;
  chat: boolean;
  embeddings: boolean;
}

export interface Licence {
  name: string;
  url: string;
  /** The publisher asks users to accept terms on its site before downloading. */
  gated: boolean;
}

/** Enough of the model's shape to estimate its KV cache before a file exists. */
export interface ModelShape {
  layers: number;
  embeddingLength: number;
  heads: number;
  kvHeads: number;
  headDim?: number;
}

export interface CatalogFile {
  quantization: string;
  /** `hf:OWNER/REPO/FILE` (Hugging Face, main branch) or an https URL. */
  uri: string;
  /** Approximate size from the model card; the server's size is what the download checks. */
  sizeBytes: number;
  /** Lower-case hex, only where verified against a published source; else null (recorded on first download). */
  sha256: string | null;
  recommended?: boolean;
}

/** What an embedding model needs to be used well (catalog models whose role is "embedding"). */
export interface EmbeddingFacts {
  /** Length of the vectors it makes. */
  dimension: number;
  /** Put before a question (the model was trained with it), e.g. nomic's "search_query: ". */
  queryPrefix?: string;
  /** Put before each record's title and abstract, e.g. nomic's "search_document: ". */
  documentPrefix?: string;
}

export interface CatalogModel {
  id: string;
  /** "generation" (default): writes text, bedside.model.path. "embedding": ranks literature, bedside.literature.embeddingModel. */
  role?: "generation" | "embedding";
  /** Only for role "embedding". */
  embedding?: EmbeddingFacts;
  name: string;
  publisher: string;
  description: string;
  architecture: string;
  parameters: string;
  contextLength: number;
  instructionTuned: boolean;
  promptFormat: PromptFormat;
  capabilities: ModelCapabilities;
  licence: Licence;
  homepage: string;
  shape: ModelShape;
  /** Empty when no GGUF is published (bring your own file). */
  files: CatalogFile[];
}

export interface ModelCatalog {
  version: number;
  defaultModel: string;
  models: CatalogModel[];
}

export class CatalogError extends Error {
  constructor(readonly problems: string[]) {
    super(`The model catalog is invalid: ${problems.join("; ")}`);
    this.name = "CatalogError";
  }
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates parsed catalog JSON and returns it typed, or throws a CatalogError listing every problem. */
export function parseCatalog(json: Json): ModelCatalog {
  const problems: string[] = [];
  const need = (ok: boolean, problem: string): boolean => {
    if (!ok) problems.push(problem);
    return ok;
  };
  const str = (o: Record<string, Json>, key: string, where: string): void => {
    need(typeof o[key] === "string" && (o[key] as string).trim().length > 0, `${where}.${key} must be a non-empty string`);
  };
  const bool = (o: Record<string, Json>, key: string, where: string): void => {
    need(typeof o[key] === "boolean", `${where}.${key} must be true or false`);
  };
  const posInt = (o: Record<string, Json>, key: string, where: string): void => {
    need(Number.isSafeInteger(o[key]) && (o[key] as number) > 0, `${where}.${key} must be a positive integer`);
  };

  if (!need(isObject(json), "the catalog must be a JSON object")) throw new CatalogError(problems);
  const root = json as Record<string, Json>;
  need(root.version === 1, "version must be 1");
  const models = root.models;
  if (!need(Array.isArray(models) && models.length > 0, "models must be a non-empty array")) throw new CatalogError(problems);
  const ids = new Set<string>();
  (models as Json[]).forEach((m, i) => {
    const where = `models[${i}]`;
    if (!need(isObject(m), `${where} must be an object`)) return;
    const model = m as Record<string, Json>;
    for (const key of ["id", "name", "publisher", "description", "architecture", "parameters", "homepage"]) str(model, key, where);
    if (typeof model.id === "string") {
      need(/^[a-z0-9][a-z0-9.-]*$/.test(model.id), `${where}.id "${model.id}" must be lower-case letters, digits, dots and dashes`);
      need(!ids.has(model.id), `${where}.id "${model.id}" is used twice`);
      ids.add(model.id);
    }
    posInt(model, "contextLength", where);
    if (model.role !== undefined) need(model.role === "generation" || model.role === "embedding", `${where}.role must be "generation" or "embedding"`);
    if (model.role === "embedding") {
      const e = model.embedding;
      if (need(isObject(e), `${where}.embedding must be an object for an embedding model`)) {
        const facts = e as Record<string, Json>;
        posInt(facts, "dimension", `${where}.embedding`);
        for (const key of ["queryPrefix", "documentPrefix"]) if (facts[key] !== undefined) need(typeof facts[key] === "string", `${where}.embedding.${key} must be a string`);
      }
      need(isObject(model.capabilities) && (model.capabilities as Record<string, Json>).embeddings === true, `${where}: an embedding model has capabilities.embeddings true`);
    } else need(model.embedding === undefined, `${where}.embedding is only for models whose role is "embedding"`);
    bool(model, "instructionTuned", where);
    need(typeof model.homepage === "string" && model.homepage.startsWith("https://"), `${where}.homepage must be an https URL`);

    const pf = model.promptFormat;
    if (need(isObject(pf), `${where}.promptFormat must be an object`)) {
      const p = pf as Record<string, Json>;
      need(p.kind === "completion" || p.kind === "chat", `${where}.promptFormat.kind must be "completion" or "chat"`);
      str(p, "notes", `${where}.promptFormat`);
      if (p.stop !== undefined) need(Array.isArray(p.stop) && p.stop.every((s) => typeof s === "string" && s.length > 0), `${where}.promptFormat.stop must be strings`);
      if (p.kind === "chat") need(model.instructionTuned === true, `${where}: a chat prompt format needs an instruction-tuned model`);
      if (p.kind === "completion") need(model.instructionTuned === false, `${where}: a base model's prompt format is "completion"`);
    }
    const caps = model.capabilities;
    if (need(isObject(caps), `${where}.capabilities must be an object`)) {
      for (const key of ["infill", "chat", "embeddings"]) bool(caps as Record<string, Json>, key, `${where}.capabilities`);
    }
    const lic = model.licence;
    if (need(isObject(lic), `${where}.licence must be an object`)) {
      const l = lic as Record<string, Json>;
      str(l, "name", `${where}.licence`);
      need(typeof l.url === "string" && l.url.startsWith("https://"), `${where}.licence.url must be an https URL`);
      bool(l, "gated", `${where}.licence`);
    }
    const shape = model.shape;
    if (need(isObject(shape), `${where}.shape must be an object`)) {
      const s = shape as Record<string, Json>;
      for (const key of ["layers", "embeddingLength", "heads", "kvHeads"]) posInt(s, key, `${where}.shape`);
      if (s.headDim !== undefined) posInt(s, "headDim", `${where}.shape`);
      if (Number.isSafeInteger(s.heads) && Number.isSafeInteger(s.kvHeads)) need((s.heads as number) % (s.kvHeads as number) === 0, `${where}.shape.heads must be a multiple of kvHeads`);
    }
    if (!need(Array.isArray(model.files), `${where}.files must be an array`)) return;
    (model.files as Json[]).forEach((f, j) => {
      const fw = `${where}.files[${j}]`;
      if (!need(isObject(f), `${fw} must be an object`)) return;
      const file = f as Record<string, Json>;
      str(file, "quantization", fw);
      need(typeof file.uri === "string" && resolveModelUri(file.uri) !== undefined, `${fw}.uri must be hf:OWNER/REPO/FILE.gguf or an https URL to a .gguf file`);
      posInt(file, "sizeBytes", fw);
      need(file.sha256 === null || (typeof file.sha256 === "string" && /^[0-9a-f]{64}$/.test(file.sha256)), `${fw}.sha256 must be 64 lower-case hex digits or null`);
      if (file.recommended !== undefined) bool(file, "recommended", fw);
    });
  });
  need(typeof root.defaultModel === "string" && ids.has(root.defaultModel), "defaultModel must be the id of a model in the catalog");
  const defaultModel = (models as Json[]).find((m) => isObject(m) && m.id === root.defaultModel) as Record<string, Json> | undefined;
  if (defaultModel) need(defaultModel.role !== "embedding", "defaultModel must be a generation model");
  if (problems.length > 0) throw new CatalogError(problems);
  return json as ModelCatalog;
}

/** `hf:OWNER/REPO/PATH.gguf` → its download URL on Hugging Face; https URLs as they are; else undefined. */
export function resolveModelUri(uri: string): string | undefined {
  const hf = /^hf:([\w.-]+)\/([\w.-]+)\/([\w./-]+\.gguf)$/.exec(uri);
  if (hf) return `https://huggingface.co/${hf[1]}/${hf[2]}/resolve/main/${hf[3]}`;
  if (/^https:\/\/[^\s]+\.gguf(\?[^\s]*)?$/.test(uri)) return uri;
  return undefined;
}

/** Whether a catalog model is an embedding model (for bedside.literature.embeddingModel) rather than one that writes. */
export function isEmbeddingModel(model: CatalogModel): boolean {
  return model.role === "embedding";
}

/** The catalog's embedding model whose file is named `fileName` (an installed or configured GGUF), if any. */
export function embeddingModelForFile(catalog: ModelCatalog, fileName: string): CatalogModel | undefined {
  return catalog.models.find((m) => isEmbeddingModel(m) && m.files.some((f) => catalogFileName(f) === fileName));
}

/** What to put before questions and records for the embedding model in `fileName` (catalog models only). */
export function embeddingPrefixes(catalog: ModelCatalog, fileName: string): { query?: string; document?: string } {
  const facts = embeddingModelForFile(catalog, fileName)?.embedding;
  return { ...(facts?.queryPrefix ? { query: facts.queryPrefix } : {}), ...(facts?.documentPrefix ? { document: facts.documentPrefix } : {}) };
}

/** The file name a catalog file is stored under. */
export function catalogFileName(file: CatalogFile): string {
  const url = resolveModelUri(file.uri) ?? file.uri;
  return decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "model.gguf");
}

export function findCatalogFile(catalog: ModelCatalog, modelId: string, quantization?: string): { model: CatalogModel; file: CatalogFile } | undefined {
  const model = catalog.models.find((m) => m.id === modelId);
  if (!model) return undefined;
  const file = quantization ? model.files.find((f) => f.quantization === quantization) : (model.files.find((f) => f.recommended) ?? model.files[0]);
  return file ? { model, file } : undefined;
}
