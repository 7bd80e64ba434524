/**
 * The literature library inside VS Code: opens the SQLite library in the extension's global storage,
 * imports files and folders with progress, counts and cancel, removes what came from a file, embeds
 * records for hybrid ranking (when embedding/libraryEmbedding.ts gives it an embedding model), and
 * searches. Thin: the work is in import/, index/ and embedding/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promises as fs } from "node:fs";
import * as vscode from "vscode";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "./library";
import { decideRanking, type EmbeddingProgress, type Ranking, type RankingDecision } from "./embedding/hybridStatus";
import { listImportableFiles } from "./import/importFiles";
import { importRecords, isDiskFullError, type ImportProgress, type ImportReport } from "./import/importRecords";
import { isDamagedLibraryError, openLibrary, saveImportedFiles, setAsideDamagedLibrary, type LibraryRecovery } from "./index/libraryRecovery";
import type { SqliteLiteratureLibrary, Embedder } from "./index/sqliteLibrary";

export type { ImportProgress, ImportReport };

/** The embedding model the library's vectors come from: its name (stored with them) and how it embeds. */
export interface LibraryEmbedder {
  /** Stored with the vectors; vectors stored under another key are deleted (hybridStatus.vectorModelKey). */
  key: string;
  /** A question's embedding. */
  query: Embedder;
  /** Records' embeddings (title and abstract). */
  documents: Embedder;
}

export class LiteratureService implements LiteratureLibrary {
  private opened: SqliteLiteratureLibrary | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Told when the library file was damaged and set aside (registerLiterature shows it, with Re-import). */
  onDamaged: ((recovery: LibraryRecovery) => void) | undefined;
  /** Awaited before an import writes (the embedding run stops first: one writer at a time). */
  beforeImport: (() => Promise<void>) | undefined;
  private embedder: LibraryEmbedder | undefined;
  /** Uses of the open library that must outlast the idle close (an embedding run). */
  private holds = 0;
  /** Set by the embedding run (embedding/libraryEmbedding.ts): whether it runs, and why it last failed. */
  embeddingRunning = false;
  embeddingError: string | undefined;
  /** bedside.literature.embeddingModel is set (even when its file cannot be used: embeddingError says why). */
  embeddingModelSet = false;

  constructor(private readonly storageDir: string) {}

  /** The library, opened on first use and closed again after a minute unused (so another window can open it). */
  get library(): SqliteLiteratureLibrary {
    if (!this.opened) {
      mkdirSync(this.storageDir, { recursive: true });
      const { library, recovery } = openLibrary(join(this.storageDir, "library.sqlite"));
      this.opened = library;
      this.applyEmbedder(library);
      if (recovery) this.onDamaged?.(recovery);
    }
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => {
      if (this.holds === 0) this.close();
    }, 60_000);
    return this.opened;
  }

  private applyEmbedder(library: SqliteLiteratureLibrary): void {
    library.embedder = this.embedder?.query;
    if (this.embedder) {
      const dropped = library.useVectorModel(this.embedder.key);
      if (dropped > 0) this.changed.fire();
    }
  }

  /** The embedding model for hybrid ranking (undefined: none). Vectors another model made are deleted. */
  setEmbedder(embedder: LibraryEmbedder | undefined): void {
    this.embedder = embedder;
    if (this.opened) this.applyEmbedder(this.opened);
  }

  /** How far embedding has got: records, and those with a vector from the current model. */
  embeddingProgress(): EmbeddingProgress {
    const total = this.count();
    const embedded = this.embedder ? total - this.library.missingVectors() : 0;
    return {
      modelConfigured: this.embeddingModelSet || this.embedder !== undefined,
      total,
      embedded,
      running: this.embeddingRunning,
      ...(this.embeddingError ? { error: this.embeddingError } : {}),
    };
  }

  rankingDecision(wanted: Ranking): RankingDecision {
    return decideRanking(wanted, wanted === "hybrid" ? this.embeddingProgress() : { modelConfigured: false, total: 0, embedded: 0, running: false });
  }

  /**
   * Embeds the records without a vector, with the current embedding model; returns how many. The library
   * stays open meanwhile. Stops between batches when `signal` aborts.
   */
  async embedMissing(signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<number> {
    const embedder = this.embedder;
    if (!embedder) return 0;
    const library = this.library;
    this.holds++;
    try {
      return await library.embedMissing(embedder.documents, { signal, onProgress, batch: 16 });
    } finally {
      this.holds--;
    }
  }

  count(): number {
    return this.library.count();
  }

  get(key: string): LiteratureRecord | undefined {
    return this.undamaged((library) => library.get(key));
  }

  /** Hybrid only when every record has a vector from the embedding model; else BM25 (rankingDecision says why). */
  async search(query: string, k: number, options?: LiteratureSearchOptions): Promise<LiteratureSource[]> {
    const ranked = options?.ranking ? { ...options, ranking: this.rankingDecision(options.ranking).ranking } : options;
    try {
      return await this.library.search(query, k, ranked);
    } catch (error) {
      if (!isDamagedLibraryError(error)) throw error;
      this.setAsideDamaged();
      return this.library.search(query, k, ranked);
    }
  }

  /** Damage that opening did not show (a page read later): set the file aside, then use the new library. */
  private undamaged<T>(use: (library: SqliteLiteratureLibrary) => T): T {
    try {
      return use(this.library);
    } catch (error) {
      if (!isDamagedLibraryError(error)) throw error;
      this.setAsideDamaged();
      return use(this.library);
    }
  }

  private setAsideDamaged(): void {
    const path = this.library.path;
    try {
      this.close();
    } catch {
      this.opened = undefined; // closing a damaged file may fail too: it is set aside all the same
    }
    const recovery = setAsideDamagedLibrary(path);
    this.onDamaged?.(recovery);
    this.changed.fire();
  }

  /** Imports files and folders (recursively); records are merged by PMID/DOI, a re-import updates. */
  async importPaths(paths: readonly string[], onProgress?: (p: ImportProgress) => void, token?: vscode.CancellationToken): Promise<ImportReport> {
    const files: string[] = [];
    for (const path of paths) {
      const stat = await fs.stat(path);
      if (stat.isDirectory()) files.push(...(await listImportableFiles(path)));
      else files.push(path);
    }
    await this.beforeImport?.();
    const abort = new AbortController();
    token?.onCancellationRequested(() => abort.abort());
    const report = await importRecords(this.library, files, { signal: abort.signal, ...(onProgress ? { onProgress } : {}) });
    this.afterChange();
    this.changed.fire();
    return report;
  }

  /** Adds records found elsewhere (an online search), merged by PMID/DOI as an import is. */
  addRecords(records: readonly LiteratureRecord[]): { added: number; updated: number } {
    const result = this.library.upsert([...records]);
    this.library.refreshStats();
    this.changed.fire();
    return result;
  }

  /** Files the library holds records from, with their counts. */
  origins(): Array<{ origin: string; count: number }> {
    return this.undamaged((library) => library.origins());
  }

  remove(which: { keys?: readonly string[]; origin?: string }): number {
    const n = this.library.remove(which);
    this.afterChange();
    this.changed.fire();
    return n;
  }

  /** Recounts, and records which files the library holds (to rebuild it should the file be damaged). */
  private afterChange(): void {
    try {
      this.library.refreshStats();
    } catch (error) {
      // The counts are current; only the stored average length could not be written on a full disk.
      if (!isDiskFullError(error, this.library.path)) throw error;
    }
    saveImportedFiles(
      this.library.path,
      this.library.origins().map((o) => o.origin),
    );
  }

  close(): void {
    clearTimeout(this.closeTimer);
    this.opened?.close();
    this.opened = undefined;
  }

  dispose(): void {
    this.close();
    this.changed.dispose();
  }
}
