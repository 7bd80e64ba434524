/**
 * The engine's one owner (like rust-analyzer's ctx.ts): builds the local worker client and the switch that
 * features hold, points the switch at the remote server while `bedside.engine.endpoint` is set, follows the
 * settings (model, idle unload, endpoint), restarts, and is disposed once. The VS Code adapter of src/engine/.
 */
import * as vscode from "vscode";
import type { Log } from "../log/log";
import { EngineClient, type ModelChoice } from "./client/engineClient";
import { EngineSwitch } from "./engineSwitch";
import { RemoteEngine } from "./remote/remoteEngine";

/** Where the API key for bedside.engine.endpoint lives in SecretStorage. */
export const API_KEY_SECRET = "bedside.engine.apiKey";

/** What the host reads of the settings: src/config's BedsideConfig fits (the composition root passes it in). */
export interface EngineSettings {
  readonly modelChoice: ModelChoice | undefined;
  readonly engine: { readonly idleUnloadMinutes: number };
  readonly onDidChange: vscode.Event<void>;
  setModelPath(file: string): Promise<void>;
}

/** bedside.engine.endpoint, remoteModel and timeoutSeconds (src/config's remoteEngineSettings). */
export interface RemoteSettings {
  endpoint: string | undefined;
  model: string | undefined;
  timeoutMs: number;
}

export interface EngineHostOptions {
  /** The bundled worker script (dist/worker.mjs). */
  workerPath: string;
  /** The Node binary that runs the worker. */
  execPath: string;
  config: EngineSettings;
  remoteSettings: () => RemoteSettings;
  secrets: vscode.SecretStorage;
  log: Log;
}

export class EngineHost {
  /** The local worker (node-llama-cpp in its own process). */
  readonly local: EngineClient;
  /** What features hold: the local worker, or the remote server when bedside.engine.endpoint is set. */
  readonly engine: EngineSwitch;
  /**
   * The embedding model (bedside.literature.embeddingModel) in a worker process of its own: it loads and
   * unloads without touching the generation model, and a crash in one leaves the other running.
   */
  readonly embedding: EngineClient;
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposed: Promise<void> | undefined;

  constructor(private readonly options: EngineHostOptions) {
    const { config, log } = options;
    this.local = new EngineClient({ workerPath: options.workerPath, execPath: options.execPath, log, idleUnloadMs: config.engine.idleUnloadMinutes * 60_000 });
    this.engine = new EngineSwitch(this.local);
    this.embedding = new EngineClient({
      workerPath: options.workerPath,
      execPath: options.execPath,
      log,
      idleUnloadMs: config.engine.idleUnloadMinutes * 60_000,
      slot: "embedding",
    });
    this.local.configure(config.modelChoice);
    this.subscriptions.push(
      config.onDidChange(() => this.reloadLocal()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("bedside.engine.endpoint") || e.affectsConfiguration("bedside.engine.remoteModel") || e.affectsConfiguration("bedside.engine.timeoutSeconds")) {
          if (this.engine.active instanceof RemoteEngine) void this.engine.useRemote(undefined).then(() => this.applyEndpoint());
          else void this.applyEndpoint();
        }
      }),
    );
    // Synchronous up to its first await: the switch already points at the server when this returns.
    void this.applyEndpoint();
  }

  /** Loads the configured local model in the background (activation never waits for it). */
  loadInBackground(): void {
    if (this.options.config.modelChoice && this.engine.active === this.local) void this.local.ensureReady().catch(() => undefined);
  }

  /** Makes `file` the model (bedside.model.path) and forgets an earlier failed load. */
  async useModel(file: string): Promise<void> {
    await this.options.config.setModelPath(file);
    this.local.retry();
  }

  /** Kills the local worker and starts afresh ("Restart Engine", and after the acceleration pack is installed). */
  async restart(): Promise<void> {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "Restarting Bedside's engine" }, () => this.local.restart());
  }

  /** A settings change: a new model (or new engine settings) loads in the background, as at activation. */
  private reloadLocal(): void {
    const { config } = this.options;
    const choice = config.modelChoice;
    const changed = this.local.configure(choice);
    this.local.setIdleUnloadMs(config.engine.idleUnloadMinutes * 60_000);
    this.embedding.setIdleUnloadMs(config.engine.idleUnloadMinutes * 60_000);
    // The clinician who picked it expects it ready, and a load that started before the change must not leave it idle.
    if (choice && changed && this.engine.active === this.local) void this.local.ensureReady().catch(() => undefined);
  }

  /** The remote engine follows the endpoint setting. */
  private async applyEndpoint(): Promise<void> {
    const { log, secrets } = this.options;
    const { endpoint, model, timeoutMs } = this.options.remoteSettings();
    const current = this.engine.active instanceof RemoteEngine ? this.engine.active.endpoint : undefined;
    if ((endpoint || undefined) === current && endpoint !== undefined) return;
    if (!endpoint) {
      if (this.engine.isRemote) await this.engine.useRemote(undefined);
      return;
    }
    const remote = new RemoteEngine({
      endpoint,
      apiKey: async () => (await secrets.get(API_KEY_SECRET)) || undefined,
      ...(model ? { model } : {}),
      timeoutMs,
      log,
    });
    log.info(`Engine: using the server at ${remote.endpoint}.`);
    await this.engine.useRemote(remote);
    void remote.ensureReady().catch((error: unknown) => log.warn(`Remote engine: ${(error as Error).message}`));
  }

  /** Stops following settings, drops the remote engine and stops the worker; safe to call twice. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const s of this.subscriptions.splice(0)) s.dispose();
      await this.local.dispose();
      await this.embedding.dispose();
      await this.engine.dispose();
    })();
    return this.disposed;
  }
}
