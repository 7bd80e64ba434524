/**
 * Hybrid ranking's embedding model inside VS Code: follows bedside.literature.embeddingModel, loads it into
 * its own engine worker (EngineHost.embedding: a second process beside the generation model's), and embeds
 * the library's records without a vector in the background, in a notification with progress and Cancel.
 * It runs again after every import (which stops it first: one writer at a time) and on "Bedside: Embed
 * Literature for Hybrid Ranking". The vectors go into the library file, named by the model that made them
 * (hybridStatus.vectorModelKey). The vscode adapter around literatureService.ts and hybridStatus.ts.
 */
import { promises as fs } from "node:fs";
import { basename } from "node:path";
import * as vscode from "vscode";
import type { EngineClient, ModelChoice } from "../../engine/client/engineClient";
import type { Log } from "../../log/log";
import type { LiteratureService } from "../literatureService";
import { vectorModelKey, type EmbeddingProgress } from "./hybridStatus";

/** What the embedding model runs with: its file, and the engine settings it shares with the generation model. */
export interface EmbeddingSettings {
  path: string | undefined;
  threads: number;
  gpu: ModelChoice["gpu"];
}

/** The text an embedding model wants before questions and records (catalog models: nomic's "search_query: "). */
export type EmbeddingPrefixes = (fileName: string) => { query?: string; document?: string };

export class LibraryEmbedding implements vscode.Disposable {
  private run: { abort: AbortController; done: Promise<void> } | undefined;
  /** A change came while a run was going: look for records without a vector again when it ends. */
  private again = false;
  private key: string | undefined;
  /** The setting and the file as last applied. */
  private applied: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly emitter = new vscode.EventEmitter<EmbeddingProgress>();
  /** Fires as embedding starts, progresses and ends. */
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly library: LiteratureService,
    private readonly engine: EngineClient,
    private readonly settings: () => EmbeddingSettings,
    private readonly prefixes: EmbeddingPrefixes,
    private readonly log: Log,
  ) {
    library.beforeImport = () => this.stop();
    this.subscriptions.push(
      this.emitter,
      library.onDidChange(() => this.schedule()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("bedside.literature.embeddingModel") || e.affectsConfiguration("bedside.engine.threads") || e.affectsConfiguration("bedside.engine.gpu"))
          void this.configure();
      }),
    );
    void this.configure();
  }

  /** Where embedding stands (records, embedded, running, the last error). */
  progress(): EmbeddingProgress {
    return this.library.embeddingProgress();
  }

  /** Follows the setting: a different model stops the run, loads in place of the old one, and embeds afresh. */
  configure(): Promise<void> {
    this.queue = this.queue.then(() => this.apply()).catch((error: unknown) => this.log.error(`Embedding model: ${(error as Error).message}`));
    return this.queue;
  }

  private async apply(): Promise<void> {
    if (this.disposed) return;
    const s = this.settings();
    const stat = s.path ? await fs.stat(s.path).catch(() => undefined) : undefined;
    const prefixes = s.path ? this.prefixes(basename(s.path)) : {};
    const key = s.path && stat ? vectorModelKey({ path: s.path, size: stat.size, mtimeMs: stat.mtimeMs }, prefixes) : undefined;
    const choice: ModelChoice | undefined =
      s.path && stat ? { path: s.path, gpu: s.gpu, gpuLayers: s.gpu === "cpu" ? 0 : "auto", threads: s.threads, contextSize: 512, flashAttention: false } : undefined;
    const changed = this.engine.configure(choice);
    const state = JSON.stringify([s.path ?? "", key ?? ""]);
    if (state === this.applied && !changed) return;
    this.applied = state;
    await this.stop();
    this.key = key;
    this.library.embeddingModelSet = s.path !== undefined;
    this.library.embeddingError = s.path && !stat ? `the file ${s.path} was not found` : undefined;
    if (!key) {
      this.library.setEmbedder(undefined);
      this.fire();
      return;
    }
    const embed =
      (prefix: string | undefined) =>
      async (texts: string[]): Promise<number[][]> =>
        (await this.engine.embed(prefix ? texts.map((t) => prefix + t) : texts)).vectors;
    this.log.info(`Embedding model for hybrid ranking: ${s.path}.`);
    this.library.setEmbedder({ key, query: embed(prefixes.query), documents: embed(prefixes.document) });
    this.schedule();
  }

  /** Embeds the records without a vector, unless a run is going (then it looks again when that ends). */
  schedule(): void {
    if (this.disposed || !this.key) return;
    if (this.run) {
      this.again = true;
      return;
    }
    let missing = 0;
    try {
      const p = this.library.embeddingProgress();
      missing = p.total - p.embedded;
    } catch (error) {
      this.log.warn(`Embedding: ${(error as Error).message}`);
    }
    if (missing <= 0) return;
    this.again = false;
    const abort = new AbortController();
    const done = Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Bedside: embedding literature for hybrid ranking", cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          this.library.embeddingRunning = true;
          this.library.embeddingError = undefined;
          this.fire();
          let reported = 0;
          const started = Date.now();
          try {
            const n = await this.library.embedMissing(abort.signal, (count, total) => {
              const percent = (100 * count) / total;
              progress.report({ message: `${count.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} records`, increment: percent - reported });
              reported = percent;
              this.fire();
            });
            this.log.info(`Embedded ${n} records for hybrid ranking in ${((Date.now() - started) / 1000).toFixed(1)} s${abort.signal.aborted ? " (stopped)" : ""}.`);
          } catch (error) {
            if (!abort.signal.aborted) {
              this.library.embeddingError = (error as Error).message;
              this.log.error(`Embedding the library failed: ${(error as Error).message}`);
              void vscode.window.showErrorMessage(`Bedside: embedding the library for hybrid ranking failed: ${(error as Error).message} Check bedside.literature.embeddingModel.`);
            }
          } finally {
            this.library.embeddingRunning = false;
          }
        },
      ),
    ).finally(() => {
      if (this.run?.done === done) this.run = undefined;
      this.fire();
      // Records that came while it ran (not after a Cancel or a failure: the next import or the command
      // starts it again).
      if (this.again && !abort.signal.aborted && !this.library.embeddingError) this.schedule();
    });
    this.run = { abort, done };
  }

  /** Stops the run (if any) and waits for it to end. */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.abort.abort();
    await run.done;
  }

  /** "Bedside: Embed Literature for Hybrid Ranking". */
  async command(): Promise<void> {
    if (!this.settings().path) {
      const open = await vscode.window.showWarningMessage(
        'Bedside: hybrid ranking needs an embedding model. Set bedside.literature.embeddingModel to a GGUF embedding model (for example bge-small-en-v1.5, from "Bedside: Download Model").',
        "Open Setting",
      );
      if (open) await vscode.commands.executeCommand("workbench.action.openSettings", "bedside.literature.embeddingModel");
      return;
    }
    await this.configure();
    const p = this.progress();
    if (p.total > 0 && p.embedded >= p.total) void vscode.window.showInformationMessage(`Bedside: all ${p.total.toLocaleString("en-US")} records are embedded for hybrid ranking.`);
    else this.schedule();
  }

  private fire(): void {
    if (this.disposed) return;
    try {
      this.emitter.fire(this.progress());
    } catch {
      // the library could not be read (closing): nothing to report
    }
  }

  dispose(): void {
    this.disposed = true;
    this.run?.abort.abort();
    this.subscriptions.forEach((s) => s.dispose());
  }
}
