/**
 * A library file SQLite cannot read (garbage bytes, a torn copy, a disk error): set it aside, keeping
 * its bytes, and start an empty library, so search and import work again and the clinician is told
 * what happened and how to rebuild (the files imported before are listed next to the library, in
 * imported-files.json, and can be imported again). Node only; no vscode.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { SqliteLiteratureLibrary } from "./sqliteLibrary";

/** SQLite's words for a file that is not a database or whose pages are damaged. */
export function isDamagedLibraryError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /file is not a database|database disk image is malformed|malformed database schema|SQLITE_(CORRUPT|NOTADB)|fts5: corrupt|vtable constructor failed/i.test(message);
}

export interface LibraryRecovery {
  /** Where the damaged file now is (its bytes unchanged). */
  setAsideAs: string;
  /** Files the library had records from, as last recorded (empty when never recorded). */
  importedFiles: string[];
  /** What to tell the clinician. */
  message: string;
}

/** The list of imported files kept beside the library (so a damaged library can be rebuilt). */
export function importedFilesPath(libraryPath: string): string {
  return join(dirname(libraryPath), "imported-files.json");
}

export function saveImportedFiles(libraryPath: string, files: readonly string[]): void {
  try {
    writeFileSync(importedFilesPath(libraryPath), JSON.stringify([...files]));
  } catch {
    // best effort: a full disk must not fail the import that was just written
  }
}

export function readImportedFiles(libraryPath: string): string[] {
  try {
    const value: unknown = JSON.parse(readFileSync(importedFilesPath(libraryPath), "utf8"));
    return Array.isArray(value) ? value.filter((f): f is string => typeof f === "string") : [];
  } catch {
    return [];
  }
}

/** Moves the damaged file (and its lock and journal) aside and says what to do. */
export function setAsideDamagedLibrary(libraryPath: string, now = new Date()): LibraryRecovery {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const setAsideAs = join(dirname(libraryPath), `${basename(libraryPath, ".sqlite")}.damaged-${stamp}.sqlite`);
  if (existsSync(libraryPath)) renameSync(libraryPath, setAsideAs);
  for (const extra of [`${libraryPath}.lock`, `${libraryPath}-journal`]) rmSync(extra, { recursive: true, force: true });
  const importedFiles = readImportedFiles(libraryPath);
  const rebuild =
    importedFiles.length > 0
      ? `Import the ${importedFiles.length} file${importedFiles.length === 1 ? "" : "s"} it held again to rebuild it.`
      : "Import your literature files again to rebuild it (Bedside: Import Literature).";
  return {
    setAsideAs,
    importedFiles,
    message: `Bedside's literature library could not be read: the file is damaged. Bedside kept it as ${basename(setAsideAs)} and started an empty library, so search and answers work again. ${rebuild} Your notes are not affected.`,
  };
}

/** Opens the library; a damaged file is set aside (see setAsideDamagedLibrary) and a new one opened. */
export function openLibrary(
  libraryPath: string,
  open: (path: string) => SqliteLiteratureLibrary = (p) => new SqliteLiteratureLibrary(p),
): { library: SqliteLiteratureLibrary; recovery?: LibraryRecovery } {
  try {
    return { library: open(libraryPath) };
  } catch (error) {
    if (!isDamagedLibraryError(error)) throw error;
    const recovery = setAsideDamagedLibrary(libraryPath);
    return { library: open(libraryPath), recovery };
  }
}
