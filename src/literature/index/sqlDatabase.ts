/**
 * The SQLite connection under the literature library. Node's built-in `node:sqlite` where the runtime has
 * it (Node 22.13 and later without a flag: the extension host of current VS Code releases and of
 * code-server), otherwise SQLite compiled to WebAssembly (node-sqlite3-wasm). Neither is a native module
 * to rebuild per Electron; both are SQLite with FTS5 and read and write the same file format, so a library
 * made by one opens in the other. The built-in one is faster at import and search (`npm run bench --
 * retrieval` measures both; current figures in docs/retrieval.md). `BEDSIDE_SQLITE=wasm` forces the WebAssembly one
 * (tests run the library on both).
 * Node only; no vscode.
 */
import { rmSync, statSync } from "node:fs";
import { Database as WasmDatabase } from "node-sqlite3-wasm";

export type SqlValue = string | number | bigint | null | Uint8Array;
/** One value for the statement's only parameter, or one per `?`. */
export type SqlParams = SqlValue | readonly SqlValue[];
export type SqlRow = Record<string, SqlValue>;
export type SqliteDriver = "node:sqlite" | "wasm";

export interface SqlStatement {
  run(params?: SqlParams): { lastInsertRowid: number | bigint };
  get(params?: SqlParams): SqlRow | null;
  all(params?: SqlParams): SqlRow[];
  finalize(): void;
}

export interface SqlDatabase {
  readonly driver: SqliteDriver;
  readonly isOpen: boolean;
  readonly inTransaction: boolean;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  run(sql: string, params?: SqlParams): void;
  get(sql: string, params?: SqlParams): SqlRow | null;
  all(sql: string, params?: SqlParams): SqlRow[];
  close(): void;
}

/** The part of node:sqlite used here (@types/node 20 does not describe it). */
interface NodeSqliteStatement {
  run(...params: SqlValue[]): { lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}
interface NodeSqliteDatabase {
  /** Node 22.16 and later. */
  readonly isTransaction?: boolean;
  exec(sql: string): void;
  prepare(sql: string): NodeSqliteStatement;
  close(): void;
}
type NodeSqliteModule = { DatabaseSync: new (path: string) => NodeSqliteDatabase };

let builtin: NodeSqliteModule | null | undefined;

/** node:sqlite, or null where this Node has none (before 22.13 it needs a flag; Node 20 has none). */
function nodeSqlite(): NodeSqliteModule | null {
  if (builtin !== undefined) return builtin;
  try {
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
    const loaded = getBuiltin?.("node:sqlite") as NodeSqliteModule | undefined;
    builtin = loaded && typeof loaded.DatabaseSync === "function" ? loaded : null;
  } catch {
    builtin = null;
  }
  return builtin;
}

/** Which driver `openSqlDatabase` uses in this process. */
export function sqliteDriver(): SqliteDriver {
  return process.env.BEDSIDE_SQLITE !== "wasm" && nodeSqlite() ? "node:sqlite" : "wasm";
}

const list = (params: SqlParams | undefined): SqlValue[] => (params === undefined ? [] : Array.isArray(params) ? [...(params as readonly SqlValue[])] : [params as SqlValue]);

class BuiltinDatabase implements SqlDatabase {
  readonly driver = "node:sqlite";
  private readonly db: NodeSqliteDatabase;
  private open = true;

  constructor(path: string, module: NodeSqliteModule) {
    this.db = new module.DatabaseSync(path);
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Where Node cannot tell, assume one is open (a ROLLBACK of none is then caught by the caller). */
  get inTransaction(): boolean {
    return this.db.isTransaction ?? true;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  prepare(sql: string): SqlStatement {
    const statement = this.db.prepare(sql);
    return {
      run: (params) => statement.run(...list(params)),
      get: (params) => statement.get(...list(params)) ?? null,
      all: (params) => statement.all(...list(params)),
      // node:sqlite finalizes statements when they are collected or the database closes.
      finalize: () => undefined,
    };
  }

  run(sql: string, params?: SqlParams): void {
    this.db.prepare(sql).run(...list(params));
  }

  get(sql: string, params?: SqlParams): SqlRow | null {
    return this.db.prepare(sql).get(...list(params)) ?? null;
  }

  all(sql: string, params?: SqlParams): SqlRow[] {
    return this.db.prepare(sql).all(...list(params));
  }

  close(): void {
    this.open = false;
    this.db.close();
  }
}

/**
 * node-sqlite3-wasm locks a database with a `<file>.lock` folder, made and removed around every
 * transaction (most of a query's time); the library holds it instead (exclusive locking mode) while it is
 * open, touching it at each use. A process that died holding it leaves it behind: a lock untouched for two
 * minutes is stale.
 */
export const STALE_LOCK_MS = 120_000;

class WebAssemblyDatabase implements SqlDatabase {
  readonly driver = "wasm";
  private readonly db: WasmDatabase;

  constructor(path: string) {
    const lock = `${path}.lock`;
    try {
      if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
    } catch {
      // no lock: nothing to clear
    }
    this.db = new WasmDatabase(path);
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  prepare(sql: string): SqlStatement {
    const statement = this.db.prepare(sql);
    return {
      run: (params) => statement.run(list(params)),
      get: (params) => statement.get(list(params)) as SqlRow | null,
      all: (params) => statement.all(list(params)) as SqlRow[],
      finalize: () => statement.finalize(),
    };
  }

  run(sql: string, params?: SqlParams): void {
    this.db.run(sql, list(params));
  }

  get(sql: string, params?: SqlParams): SqlRow | null {
    return this.db.get(sql, list(params)) as SqlRow | null;
  }

  all(sql: string, params?: SqlParams): SqlRow[] {
    return this.db.all(sql, list(params)) as SqlRow[];
  }

  close(): void {
    this.db.close();
  }
}

/** Opens (or creates) the SQLite file at `path` with the driver this process uses. */
export function openSqlDatabase(path: string): SqlDatabase {
  const module = sqliteDriver() === "node:sqlite" ? nodeSqlite() : null;
  return module ? new BuiltinDatabase(path, module) : new WebAssemblyDatabase(path);
}
