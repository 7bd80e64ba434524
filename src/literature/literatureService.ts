/**
 * The literature library inside VS Code: opens the SQLite library in the extension's global storage,
 * imports files and folders with progress, counts and cancel, removes what came from a file, and
 * searches. Thin: the work is in import/ and index/.
 */
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { promises as fs } from "node:fs";
import * as vscode from "vscode";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "./library";
import { listImportableFiles, readLiteratureFile } from "./import/importFiles";
import { ImportFormatError } from "./import/records";
import { SqliteLiteratureLibrary, type Embedder } from "./index/sqliteLibrary";

export interface ImportReport {
  files: number;
  added: number;
  updated: number;
  failed: Array<{ file: string; message: string }>;
  cancelled: boolean;
}

export interface ImportProgress {
  file: string;
  records: number;
}

export class LiteratureService implements LiteratureLibrary {
  private opened: SqliteLiteratureLibrary | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly storageDir: string,
    private readonly embedder?: Embedder,
  ) {}

  /** The library, opened on first use and closed again after a minute unused (so another window can open it). */
  get library(): SqliteLiteratureLibrary {
    if (!this.opened) {
      mkdirSync(this.storageDir, { recursive: true });
      this.opened = new SqliteLiteratureLibrary(join(this.storageDir, "library.sqlite"));
      this.opened.embedder = this.embedder;
    }
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.close(), 60_000);
    return this.opened;
  }

  count(): number {
    return this.library.count();
  }

  get(key: string): LiteratureRecord | undefined {
    return this.library.get(key);
  }

  search(query: string, k: number, options?: LiteratureSearchOptions): Promise<LiteratureSource[]> {
    return this.library.search(query, k, options);
  }

  /** Imports files and folders (recursively); records are merged by PMID/DOI, a re-import updates. */
  async importPaths(paths: readonly string[], onProgress?: (p: ImportProgress) => void, token?: vscode.CancellationToken): Promise<ImportReport> {
    const files: string[] = [];
    for (const path of paths) {
      const stat = await fs.stat(path);
      if (stat.isDirectory()) files.push(...(await listImportableFiles(path)));
      else files.push(path);
    }
    const report: ImportReport = { files: 0, added: 0, updated: 0, failed: [], cancelled: false };
    const abort = new AbortController();
    token?.onCancellationRequested(() => abort.abort());
    let records = 0;
    for (const file of files) {
      if (abort.signal.aborted) break;
      let batch: LiteratureRecord[] = [];
      const flush = (): void => {
        const r = this.library.upsert(batch);
        report.added += r.added;
        report.updated += r.updated;
        records += batch.length;
        batch = [];
        onProgress?.({ file: basename(file), records });
      };
      try {
        for await (const record of readLiteratureFile(file, abort.signal)) {
          batch.push(record);
          if (batch.length >= 500) {
            flush();
            // Let the editor breathe between batches of a large file.
            await new Promise((r) => setImmediate(r));
            if (abort.signal.aborted) break;
          }
        }
        flush();
        report.files++;
      } catch (error) {
        flush();
        report.failed.push({ file, message: error instanceof ImportFormatError ? error.message : `${basename(file)}: ${(error as Error).message}` });
      }
    }
    report.cancelled = abort.signal.aborted;
    this.library.refreshStats();
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
    return this.library.origins();
  }

  remove(which: { keys?: readonly string[]; origin?: string }): number {
    const n = this.library.remove(which);
    this.library.refreshStats();
    this.changed.fire();
    return n;
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
