// The literature library's fault handling in plain Node: which errors mean a full disk or a damaged file,
// the import loop stopping on a full disk with what came before kept, and a damaged file set aside with
// a message that says how to rebuild. The real faults (a tmpfs filling up, garbage bytes in the file)
// are in test/resilience/featureFaults.test.ts.
import * as assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importRecords, isDiskFullError } from "../../../src/literature/import/importRecords";
import type { LiteratureRecord } from "../../../src/literature/library";
import { isDamagedLibraryError, readImportedFiles, saveImportedFiles, setAsideDamagedLibrary } from "../../../src/literature/index/libraryRecovery";

describe("literature library faults", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bedside-library-faults-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("tells a full disk from other write errors", () => {
    assert.ok(isDiskFullError(new Error("database or disk is full")));
    assert.ok(isDiskFullError(Object.assign(new Error("write failed"), { code: "ENOSPC" })));
    assert.ok(!isDiskFullError(new Error("disk I/O error")), "an I/O error with no library to look at is not a full disk");
    assert.ok(!isDiskFullError(new Error("disk I/O error"), join(dir, "library.sqlite")), "nor with plenty of space free");
    assert.ok(!isDiskFullError(new Error("UNIQUE constraint failed: docs.key")));
  });

  it("tells a damaged library file from other errors", () => {
    assert.ok(isDamagedLibraryError(new Error("file is not a database")));
    assert.ok(isDamagedLibraryError(new Error("database disk image is malformed")));
    assert.ok(!isDamagedLibraryError(new Error("no such table: docs")));
    assert.ok(!isDamagedLibraryError(new Error("database or disk is full")));
  });

  it("stops an import on a full disk, keeps the batches before it and says what to do", async () => {
    const lines = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ _id: String(1000 + i), title: `Title ${i}`, text: "Fever and cough." }));
    const first = join(dir, "first.jsonl");
    const second = join(dir, "second.jsonl");
    writeFileSync(first, lines.join("\n"));
    writeFileSync(second, lines.join("\n"));
    const kept: LiteratureRecord[] = [];
    let calls = 0;
    const target = {
      upsert(records: readonly LiteratureRecord[]) {
        if (++calls === 2) throw new Error("database or disk is full");
        kept.push(...records);
        return { added: records.length, updated: 0 };
      },
    };
    const report = await importRecords(target, [first, second]);
    assert.equal(report.diskFull, true);
    assert.equal(report.added, 500, "the first batch was kept");
    assert.equal(kept.length, 500);
    assert.equal(calls, 2, "nothing was retried and the second file was not started");
    assert.equal(report.failed.length, 1);
    assert.match(report.failed[0]!.message, /disk .* is full.*first\.jsonl.*500 records imported before were kept.*Free some disk space/);
  });

  it("sets a damaged file aside with its bytes, and names the files to re-import", () => {
    const path = join(dir, "library.sqlite");
    writeFileSync(path, "not a database at all");
    saveImportedFiles(path, ["/notes/guidelines", "/notes/pubmed.xml"]);
    assert.deepEqual(readImportedFiles(path), ["/notes/guidelines", "/notes/pubmed.xml"]);
    const recovery = setAsideDamagedLibrary(path, new Date("2026-12-01T03:00:00Z"));
    assert.ok(!existsSync(path));
    assert.equal(readFileSync(recovery.setAsideAs, "utf8"), "not a database at all");
    assert.match(recovery.setAsideAs, /library\.damaged-2026-12-01T03-00-00-000Z\.sqlite$/);
    assert.deepEqual(recovery.importedFiles, ["/notes/guidelines", "/notes/pubmed.xml"]);
    assert.match(recovery.message, /could not be read: the file is damaged.*kept it as library\.damaged-.*Import the 2 files it held again/);
  });
});
