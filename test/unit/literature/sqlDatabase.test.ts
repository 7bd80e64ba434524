/**
 * The SQLite connection under the literature library (src/literature/index/sqlDatabase.ts), on the Node
 * running the unit suite. Where that Node has no node:sqlite (Node 20) it is the WebAssembly SQLite; the
 * built-in one is exercised in code-server's Node 24 by the integration suite (a library file moving between
 * the two, a damaged file) and by the resilience suite (a full disk).
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlDatabase, sqliteDriver } from "../../../src/literature/index/sqlDatabase";

describe("SQLite connection for the literature library", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "bedside-sql-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("uses node:sqlite exactly when this Node has it, unless BEDSIDE_SQLITE=wasm", () => {
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    let has = false;
    try {
      has = Boolean(getBuiltin?.("node:sqlite"));
    } catch {
      has = false;
    }
    assert.equal(sqliteDriver(), has ? "node:sqlite" : "wasm");
    process.env.BEDSIDE_SQLITE = "wasm";
    try {
      assert.equal(sqliteDriver(), "wasm");
      const db = openSqlDatabase(join(dir, "forced.sqlite"));
      assert.equal(db.driver, "wasm");
      db.close();
    } finally {
      delete process.env.BEDSIDE_SQLITE;
    }
  });

  it("binds no value, one value or a list, through statements and directly, with FTS5 and blobs", () => {
    const db = openSqlDatabase(join(dir, "t.sqlite"));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB); CREATE VIRTUAL TABLE f USING fts5(name);");
    const insert = db.prepare("INSERT INTO t (name, data) VALUES (?, ?)");
    const id = insert.run(["colchicine", new Uint8Array([1, 2, 3])]).lastInsertRowid;
    db.run("INSERT INTO f (rowid, name) VALUES (?, ?)", [Number(id), "colchicine"]);
    db.run("INSERT INTO t (name) VALUES (?)", "aspirin");
    assert.equal(Number(db.get("SELECT count(*) AS n FROM t")?.n), 2);
    assert.equal(db.get("SELECT name FROM t WHERE id = ?", Number(id))?.name, "colchicine");
    assert.deepEqual([...(db.get("SELECT data FROM t WHERE id = ?", Number(id))?.data as Uint8Array)], [1, 2, 3]);
    assert.equal(db.prepare("SELECT name FROM t WHERE name = ?").get("nothing"), null);
    assert.deepEqual(
      db.all("SELECT rowid AS id FROM f WHERE f MATCH ?", "colchicine").map((r) => Number(r.id)),
      [Number(id)],
    );
    assert.equal(db.inTransaction, false);
    db.exec("BEGIN");
    assert.equal(db.inTransaction, true);
    db.exec("ROLLBACK");
    insert.finalize();
    db.close();
    assert.equal(db.isOpen, false);
  });
});
