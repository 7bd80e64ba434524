/**
 * The import loop: files to records to the library, in batches, with progress and cancel. A file Bedside
 * cannot read is reported and skipped; a full disk stops the import with a clear message and keeps what
 * was imported before (each batch is one transaction: all of it or none). Node only; no vscode.
 */
import { statfsSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { LiteratureRecord } from "../library";
import type { UpsertResult } from "../index/sqliteLibrary";
import { readLiteratureFile } from "./importFiles";
import { ImportFormatError } from "./records";

export interface ImportReport {
  files: number;
  added: number;
  updated: number;
  failed: Array<{ file: string; message: string }>;
  cancelled: boolean;
  /** The disk ran full: the import stopped there. */
  diskFull?: boolean;
}

export interface ImportProgress {
  file: string;
  records: number;
}

export interface ImportTarget {
  upsert(records: readonly LiteratureRecord[]): UpsertResult;
  /** The library's file: where to look for free space when a write fails. */
  readonly path?: string;
}

/** Below this much free space a failed write is taken for a full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * SQLite's and Node's words for a full disk (or a quota). SQLite in WebAssembly reports a write that
 * failed for want of space as "disk I/O error": that counts too when the library's disk is (nearly) full.
 */
export function isDiskFullError(error: unknown, libraryPath?: string): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT" || /database or disk is full|SQLITE_FULL|ENOSPC|no space left/i.test(message)) return true;
  if (!libraryPath || !/disk I\/O error|SQLITE_IOERR/i.test(message)) return false;
  try {
    const fs = statfsSync(dirname(libraryPath));
    return fs.bavail * fs.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

export function diskFullMessage(file: string, keptRecords: number): string {
  return `The disk holding Bedside's library is full: records from ${basename(file)} could not be added, and the import stopped there. The ${keptRecords} record${keptRecords === 1 ? "" : "s"} imported before were kept. Free some disk space and import the file again.`;
}

export async function importRecords(
  target: ImportTarget,
  files: readonly string[],
  options: { signal?: AbortSignal; onProgress?: (p: ImportProgress) => void } = {},
): Promise<ImportReport> {
  const report: ImportReport = { files: 0, added: 0, updated: 0, failed: [], cancelled: false };
  const { signal, onProgress } = options;
  let records = 0;
  for (const file of files) {
    if (signal?.aborted) break;
    let batch: LiteratureRecord[] = [];
    const flush = (): void => {
      const pending = batch;
      batch = [];
      if (pending.length === 0) return;
      const r = target.upsert(pending);
      report.added += r.added;
      report.updated += r.updated;
      records += pending.length;
      onProgress?.({ file: basename(file), records });
    };
    try {
      for await (const record of readLiteratureFile(file, signal)) {
        batch.push(record);
        if (batch.length >= 500) {
          flush();
          // Let the editor breathe between batches of a large file.
          await new Promise((r) => setImmediate(r));
          if (signal?.aborted) break;
        }
      }
      flush();
      report.files++;
    } catch (error) {
      if (isDiskFullError(error, target.path)) {
        report.diskFull = true;
        report.failed.push({ file, message: diskFullMessage(file, report.added + report.updated) });
        break;
      }
      // A file that breaks off: keep the records read before the break (the batch not yet written).
      let kept = true;
      try {
        flush();
      } catch (flushError) {
        kept = false;
        if (isDiskFullError(flushError, target.path)) {
          report.diskFull = true;
          report.failed.push({ file, message: diskFullMessage(file, report.added + report.updated) });
          break;
        }
      }
      report.failed.push({
        file,
        message: error instanceof ImportFormatError ? error.message : `${basename(file)}: ${(error as Error).message}${kept ? "" : " (none of its records were kept)"}`,
      });
    }
  }
  report.cancelled = signal?.aborted ?? false;
  return report;
}
