/**
 * The literature library inside VS Code: opens the SQLite library in the extension's global storage,
 * imports files and folders with progress, counts and cancel, removes what came from a file, and
 * searches. Thin: the work is in import/ and index/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promises as fs } from "node:fs";
import * as vscode from "vscode";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "./library";
import { listImportableFiles } from "./import/importFiles";
import { importRecords, isDiskFullError, type ImportProgress, type ImportReport } from "./import/importRecords";
import { isDamagedLibraryError, openLibrary, saveImportedFiles, setAsideDamagedLibrary, type LibraryRecovery } from "./index/libraryRecovery";
import type { SqliteLiteratureLibrary, Embedder } from "./index/sqliteLibrary";

export type { ImportProgress, ImportReport };

export class LiteratureService implements LiteratureLibrary {
  private opened: SqliteLiteratureLibrary | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private closeTimer: NodeJS.Timeout | undefined;
  /** Told when the library file was damaged and set aside (registerLiterature shows it, with Re-import). */
  onDamaged: ((recovery: LibraryRecovery) => void) | undefined;

  constructor(
    private readonly storageDir: string,
    private readonly embedder?: Embedder,
  ) {}

  /** The library, opened on first use and closed again after a minute unused (so another window can open it). */
  get library(): SqliteLiteratureLibrary {
    if (!this.opened) {
      mkdirSync(this.storageDir, { recursive: true });
      const { library, recovery } = openLibrary(join(this.storageDir, "library.sqlite"));
      this.opened = library;
      this.opened.embedder = this.embedder;
      if (recovery) this.onDamaged?.(recovery);
    }
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.close(), 60_000);
    return this.opened;
  }

  count(): number {
    return this.library.count();
  }

  get(key: string): LiteratureRecord | undefined {
    return this.undamaged((library) => library.get(key));
  }

  async search(query: string, k: number, options?: LiteratureSearchOptions): Promise<LiteratureSource[]> {
    try {
      return await this.library.search(query, k, options);
    } catch (error) {
      if (!isDamagedLibraryError(error)) throw error;
      this.setAsideDamaged();
      return this.library.search(query, k, options);
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
