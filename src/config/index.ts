/**
 * A typed view of Bedside's settings. Reads are cheap and always current; `onDidChange` fires only for
 * Bedside's own section.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import type { GpuChoice } from "../engine/protocol";
import type { ModelChoice } from "../engine/client/engineClient";
import { chooseThreads, readMachineCpus } from "../engine/threads";
import { effectiveSetting, isRestrictedSetting } from "../privacy/workspaceTrust";
import { expandHome, RELEVANCE_THRESHOLD_DEFAULT, type AnswerSettings, type AutoContext, type ChatSettings, type CompletionConfig, type RemoteEngineSettings } from "./sections";

export * from "./sections";

const SECTION = "bedside";

/**
 * A `bedside.*` setting as Bedside may use it: in an untrusted workspace, settings that point at files or
 * servers (src/privacy/workspaceTrust.ts) ignore workspace and folder values. Read those settings only
 * through here.
 */
export function readSetting<T>(key: string, isTrusted: () => boolean = () => vscode.workspace.isTrusted): T | undefined {
  const s = section();
  if (!isRestrictedSetting(key) || isTrusted()) return s.get<T>(key);
  return effectiveSetting<T>(key, s.inspect<T>(key), false);
}

export interface EngineSettings {
  gpu: GpuChoice;
  gpuLayers: "auto" | number;
  threads: number;
  contextSize: number;
  flashAttention: boolean;
  idleUnloadMinutes: number;
  /** Input-lookup speculative decoding for inline completions (same text, faster when notes repeat). */
  lookupDecoding: boolean;
  /** A small draft model for speculative decoding; empty: none. */
  draftModelPath: string | undefined;
  /** Disk for saved note states (warm starts); 0 turns warm starts off. */
  warmStartCacheMB: number;
  /** Read the weights in rather than memory-map them: about half the peak memory on a CPU. */
  lowMemory: boolean;
}

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

/** `bedside.engine.gpu`: which hardware runs the model. */
export function gpuSetting(): GpuChoice {
  return section().get<GpuChoice>("engine.gpu", "auto");
}

/** `bedside.engine.lowMemory` turned on for the user (the model picker offers it when a model would only fit so). */
export async function setLowMemory(on: boolean): Promise<void> {
  await section().update("engine.lowMemory", on, vscode.ConfigurationTarget.Global);
}

/** The OpenAI-compatible server the engine talks to instead of the local model (a restricted setting). */
export function remoteEngineSettings(): RemoteEngineSettings {
  const s = section();
  return {
    endpoint: readSetting<string>("engine.endpoint")?.trim(),
    model: s.get<string>("engine.remoteModel")?.trim() || undefined,
    timeoutMs: Math.max(1, s.get<number>("engine.timeoutSeconds", 120)) * 1000,
  };
}

/** `bedside.models.folder` with `~` expanded (a restricted setting); undefined: the extension's own storage. */
export function modelsFolderSetting(): string | undefined {
  const configured = readSetting<string>("models.folder")?.trim();
  return configured ? expandHome(configured) : undefined;
}

/** `bedside.documents.templatesFolder` with `~` expanded (a restricted setting); undefined when unset. */
export function templatesFolderSetting(): string | undefined {
  const configured = (readSetting<string>("documents.templatesFolder") ?? "").trim();
  return configured ? expandHome(configured) : undefined;
}

/**
 * `bedside.literature.embeddingModel` with `~` expanded (a restricted setting): the GGUF embedding model for
 * hybrid ranking; undefined when unset.
 */
export function embeddingModelSetting(): string | undefined {
  const configured = (readSetting<string>("literature.embeddingModel") ?? "").trim();
  return configured ? expandHome(configured) : undefined;
}

/** Makes `file` the embedding model (user settings), as "Download Model" does for an embedding model. */
export async function setEmbeddingModelPath(file: string): Promise<void> {
  await section().update("literature.embeddingModel", file, vscode.ConfigurationTarget.Global);
}

/** `bedside.differential.runOnSave`. */
export function differentialRunOnSave(): boolean {
  return section().get<boolean>("differential.runOnSave", false);
}

/** `bedside.literature.relevanceThreshold`: the least query coverage of the best source for an answer. */
export function relevanceThreshold(): number {
  return section().get<number>("literature.relevanceThreshold", RELEVANCE_THRESHOLD_DEFAULT);
}

/** `bedside.literature.*` as Ask the Literature uses it. */
export function answerSettings(): AnswerSettings {
  const c = section();
  return {
    sources: c.get<number>("literature.sources", 5),
    relevanceThreshold: relevanceThreshold(),
    ranking: c.get<"bm25" | "hybrid">("literature.ranking", "bm25"),
    maxAnswerTokens: c.get<number>("literature.maxAnswerTokens", 384),
  };
}

/** `bedside.literature.onlinePubMed.*` (the base URL is restricted: read through readSetting). */
export function onlinePubMedSettings(): { enabled: boolean; baseUrl: string | undefined; maxResults: number } {
  const c = section();
  return {
    enabled: c.get<boolean>("literature.onlinePubMed.enabled", false),
    baseUrl: readSetting<string>("literature.onlinePubMed.baseUrl"),
    maxResults: c.get<number>("literature.onlinePubMed.maxResults", 20),
  };
}

/** `bedside.chat.*`. */
export function chatSettings(): ChatSettings & { autoContext: AutoContext } {
  const c = section();
  return {
    maxTokens: Math.max(16, c.get<number>("chat.maxTokens", 512)),
    temperature: Math.max(0, c.get<number>("chat.temperature", 0.2)),
    libraryPassages: Math.max(1, c.get<number>("chat.libraryPassages", 4)),
    libraryRelevance: relevanceThreshold(),
    autoContext: c.get<AutoContext>("chat.context", "note") === "none" ? "none" : "note",
  };
}

export class BedsideConfig implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;
  private readonly machineCpus = readMachineCpus();
  /** Where saved note states go (the extension's global storage); set by activate(). */
  warmStartDir: string | undefined;

  private readonly trustSubscription: vscode.Disposable;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** Whether the workspace is trusted; tests pass their own. */
    private readonly isTrusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) this.emitter.fire();
    });
    // Granting trust can change restricted settings' values (the workspace's own now count).
    this.trustSubscription = vscode.workspace.onDidGrantWorkspaceTrust(() => this.emitter.fire());
  }

  /** A restricted setting's value: workspace values ignored while the workspace is untrusted. */
  private restricted<T>(key: string): T | undefined {
    return readSetting<T>(key, this.isTrusted);
  }

  private get section(): vscode.WorkspaceConfiguration {
    return section();
  }

  /** The model file: the setting, else BEDSIDE_MODEL (how `npm start` passes one), else none. */
  get modelPath(): string | undefined {
    return this.resolveUserPath(this.restricted<string>("model.path")?.trim() || this.env.BEDSIDE_MODEL?.trim());
  }

  /** `~` expanded; a relative path is taken from the first workspace folder (from home when it is untrusted). */
  private resolveUserPath(configured: string | undefined): string | undefined {
    if (!configured) return undefined;
    const expanded = expandHome(configured);
    if (path.isAbsolute(expanded)) return expanded;
    // An untrusted workspace must not supply the file through a relative path: take it from home instead.
    const folder = this.isTrusted() ? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath : os.homedir();
    return folder ? path.resolve(folder, expanded) : path.resolve(expanded);
  }

  /** The configured model file's size, for the thread choice; undefined when there is none to read. */
  private modelBytes(): number | undefined {
    const file = this.modelPath;
    if (!file) return undefined;
    try {
      return fs.statSync(file).size;
    } catch {
      return undefined;
    }
  }

  get engine(): EngineSettings {
    const s = this.section;
    const layers = s.get<number>("engine.gpuLayers", -1);
    return {
      gpu: s.get<GpuChoice>("engine.gpu", "auto"),
      gpuLayers: layers < 0 ? "auto" : Math.floor(layers),
      threads: chooseThreads(s.get<number>("engine.threads", 0), this.machineCpus, this.modelBytes()),
      contextSize: Math.max(256, Math.floor(s.get<number>("engine.contextSize", 2048))),
      flashAttention: s.get<boolean>("engine.flashAttention", true),
      idleUnloadMinutes: Math.max(0, s.get<number>("engine.idleUnloadMinutes", 15)),
      lookupDecoding: s.get<boolean>("engine.lookupDecoding", false),
      draftModelPath: this.resolveUserPath(this.restricted<string>("engine.draftModelPath")?.trim()),
      warmStartCacheMB: Math.max(0, s.get<number>("engine.warmStartCacheMB", 2048)),
      lowMemory: s.get<boolean>("engine.lowMemory", false),
    };
  }

  /** What the engine should run, or undefined when no model is configured. */
  get modelChoice(): ModelChoice | undefined {
    const modelPath = this.modelPath;
    if (!modelPath) return undefined;
    const e = this.engine;
    return {
      path: modelPath,
      gpu: e.gpu,
      gpuLayers: e.gpuLayers,
      threads: e.threads,
      contextSize: e.contextSize,
      flashAttention: e.flashAttention,
      lookupDecoding: e.lookupDecoding,
      ...(e.lowMemory ? { lowMemory: true } : {}),
      ...(e.draftModelPath ? { draftModelPath: e.draftModelPath } : {}),
      ...(this.warmStartDir && e.warmStartCacheMB > 0 ? { stateCacheDir: this.warmStartDir, stateCacheMaxBytes: e.warmStartCacheMB * 1024 * 1024 } : {}),
    };
  }

  get completion(): CompletionConfig {
    const s = this.section;
    return {
      enabled: s.get<boolean>("completion.enabled", true),
      languages: ["note", ...s.get<string[]>("completion.otherLanguages", [])],
      allowNumbers: s.get<boolean>("completion.allowNumbers", false),
      fillInTheMiddle: s.get<boolean>("completion.fillInTheMiddle", false),
      contextTokens: Math.max(32, Math.floor(s.get<number>("completion.contextTokens", 384))),
      maxTokens: Math.max(1, Math.floor(s.get<number>("completion.maxTokens", 24))),
      timeoutMs: Math.max(100, s.get<number>("completion.timeoutMs", 4000)),
    };
  }

  async setCompletionsEnabled(enabled: boolean): Promise<void> {
    await this.section.update("completion.enabled", enabled, vscode.ConfigurationTarget.Global);
  }

  get debugLogging(): boolean {
    return this.section.get<boolean>("log.debug", false);
  }

  get logNoteText(): boolean {
    return this.restricted<boolean>("log.includeNoteText") ?? false;
  }

  async setModelPath(modelPath: string): Promise<void> {
    await this.section.update("model.path", modelPath, vscode.ConfigurationTarget.Global);
  }

  dispose(): void {
    this.subscription.dispose();
    this.trustSubscription.dispose();
    this.emitter.dispose();
  }
}
