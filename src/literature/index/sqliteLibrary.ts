/**
 * The library on disk: one SQLite file (Node's built-in SQLite where the runtime has it, else SQLite in
 * WebAssembly: see sqlDatabase.ts; no native module to rebuild per Electron) with the records, an FTS5
 * index over title and abstract (Porter stems, column detail), and optional embedding vectors. Ranking: FTS5 finds candidates
 * (on a large library only through the query's rarer terms), which are scored by Lucene BM25 here;
 * with vectors, BM25 and cosine rankings are fused by RRF. Node only; no vscode.
 */
import { utimesSync } from "node:fs";
import { openSqlDatabase, type SqlDatabase, type SqliteDriver, type SqlRow, type SqlStatement } from "./sqlDatabase";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "../library";
import { queryTerms, terms } from "./analyzer";
import { bm25Score, coverage, idf, reciprocalRankFusion, termCounts, type CorpusStats } from "./bm25";
import { selectPassage } from "./passage";

export type Embedder = (texts: string[]) => Promise<number[][]>;

export interface UpsertResult {
  added: number;
  updated: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  pmid TEXT,
  doi TEXT,
  title TEXT NOT NULL,
  abstract TEXT NOT NULL,
  journal TEXT,
  year INTEGER,
  authors TEXT NOT NULL,
  pubtypes TEXT NOT NULL,
  origin TEXT
);
CREATE INDEX IF NOT EXISTS docs_pmid ON docs(pmid) WHERE pmid IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_doi ON docs(doi) WHERE doi IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_origin ON docs(origin) WHERE origin IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, abstract, content='docs', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, 'row');
CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, dim INTEGER NOT NULL, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

interface DocRow {
  id: number;
  key: string;
  pmid: string | null;
  doi: string | null;
  title: string;
  abstract: string;
  journal: string | null;
  year: number | null;
  authors: string;
  pubtypes: string;
  origin: string | null;
}

const asDoc = (row: SqlRow): DocRow => row as unknown as DocRow;

function toRecord(row: DocRow): LiteratureRecord {
  const record: LiteratureRecord = { key: row.key, title: row.title, abstract: row.abstract, authors: JSON.parse(row.authors) as string[], publicationTypes: JSON.parse(row.pubtypes) as string[] };
  if (row.pmid) record.pmid = row.pmid;
  if (row.doi) record.doi = row.doi;
  if (row.journal) record.journal = row.journal;
  if (row.year !== null) record.year = row.year;
  if (row.origin) record.origin = row.origin;
  return record;
}

/** Newer fields win, but an empty field never erases a known one; identifiers are kept from both. */
export function mergeRecords(old: LiteratureRecord, incoming: LiteratureRecord): LiteratureRecord {
  const merged: LiteratureRecord = {
    key: incoming.pmid || old.pmid ? `pmid:${incoming.pmid ?? old.pmid}` : incoming.key,
    title: incoming.title || old.title,
    abstract: incoming.abstract.length >= 40 || !old.abstract ? incoming.abstract || old.abstract : old.abstract,
    authors: incoming.authors.length ? incoming.authors : old.authors,
    publicationTypes: [...new Set([...old.publicationTypes, ...incoming.publicationTypes])],
  };
  const pmid = incoming.pmid ?? old.pmid;
  const doi = incoming.doi ?? old.doi;
  const journal = incoming.journal ?? old.journal;
  const year = incoming.year ?? old.year;
  const origin = incoming.origin ?? old.origin;
  if (pmid) merged.pmid = pmid;
  if (doi) merged.doi = doi;
  if (journal) merged.journal = journal;
  if (year !== undefined) merged.year = year;
  if (origin) merged.origin = origin;
  return merged;
}

export interface SqliteLibraryOptions {
  /** Above this many records, FTS5 candidates come from the query's rarer terms only (default 50,000). */
  pruneAbove?: number;
  /** Candidates scored by BM25 per query (default 50, at least twice the results asked for). */
  candidates?: number;
}

export class SqliteLiteratureLibrary implements LiteratureLibrary {
  private readonly db: SqlDatabase;
  private docCount = 0;
  private avgLength = 0;
  private readonly dfCache = new Map<string, number>();
  private vectorCache: { ids: Int32Array; dim: number; data: Float32Array } | undefined;
  private readonly pruneAbove: number;
  private readonly candidates: number;

  constructor(
    readonly path: string,
    options: SqliteLibraryOptions = {},
  ) {
    this.db = openSqlDatabase(path);
    this.pruneAbove = options.pruneAbove ?? 50_000;
    this.candidates = options.candidates ?? 50;
    // 16 KiB pages for a new library (an existing file keeps its own): a quarter of the page reads and
    // writes through node-sqlite3-wasm's JavaScript file layer; import ~10% less CPU, ~10% smaller at 100k.
    this.db.exec("PRAGMA page_size=16384; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;");
    this.db.exec(SCHEMA);
    this.refreshStats();
  }

  close(): void {
    for (const statement of this.statements.values()) statement.finalize();
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  count(): number {
    return this.docCount;
  }

  /** Recounts documents and re-estimates the average length (from a sample on a large library). */
  refreshStats(): void {
    this.dfCache.clear();
    this.vectorCache = undefined;
    this.docCount = Number(this.db.get("SELECT count(*) AS n FROM docs")?.n ?? 0);
    const stored = this.db.get("SELECT value FROM meta WHERE name = 'avgLength'");
    const storedCount = this.db.get("SELECT value FROM meta WHERE name = 'avgLengthCount'");
    if (stored && Number(storedCount?.value) === this.docCount) {
      this.avgLength = Number(stored.value);
      return;
    }
    const sample = this.docCount <= 5000 ? this.db.all("SELECT title, abstract FROM docs") : this.db.all("SELECT title, abstract FROM docs WHERE id IN (SELECT id FROM docs ORDER BY random() LIMIT 2000)");
    let total = 0;
    for (const row of sample) total += terms(`${String(row.title)} ${String(row.abstract)}`).length;
    this.avgLength = sample.length ? total / sample.length : 0;
    this.db.run("INSERT OR REPLACE INTO meta VALUES ('avgLength', ?), ('avgLengthCount', ?)", [String(this.avgLength), String(this.docCount)]);
  }

  private statements = new Map<string, SqlStatement>();

  /** A prepared statement, kept for reuse (preparing costs more than running in WebAssembly). */
  private statement(sql: string): SqlStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private lastTouch = 0;

  /** Which SQLite runs the library in this process (see sqlDatabase.ts). */
  get driver(): SqliteDriver {
    return this.db.driver;
  }

  /** Marks node-sqlite3-wasm's lock as held by a live process (see STALE_LOCK_MS in sqlDatabase.ts). */
  private touchLock(): void {
    const now = Date.now();
    if (this.db.driver !== "wasm" || now - this.lastTouch < 10_000) return;
    this.lastTouch = now;
    try {
      utimesSync(`${this.path}.lock`, now / 1000, now / 1000);
    } catch {
      // not locked yet (nothing read or written so far)
    }
  }

  private findExisting(record: LiteratureRecord): DocRow | undefined {
    const byKey = this.statement("SELECT * FROM docs WHERE key = ?").get(record.key);
    if (byKey) return asDoc(byKey);
    // A record with a PMID is stored under the key `pmid:<PMID>` (the importers and mergeRecords keep it
    // so): when that is this record's key, the lookup above already was the PMID lookup.
    if (record.pmid && record.key !== `pmid:${record.pmid}`) {
      const row = this.statement("SELECT * FROM docs WHERE pmid = ?").get(record.pmid);
      if (row) return asDoc(row);
    }
    if (record.doi) {
      const row = this.statement("SELECT * FROM docs WHERE doi = ?").get(record.doi);
      if (row) return asDoc(row);
    }
    return undefined;
  }

  /** Adds records, merging any with the same key, PMID or DOI into the one already there. One transaction. */
  upsert(records: readonly LiteratureRecord[]): UpsertResult {
    this.touchLock();
    let added = 0;
    let updated = 0;
    const insert = this.statement("INSERT INTO docs (key, pmid, doi, title, abstract, journal, year, authors, pubtypes, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const insertFts = this.statement("INSERT INTO fts (rowid, title, abstract) VALUES (?, ?, ?)");
    this.db.exec("BEGIN");
    try {
      for (const incoming of records) {
        const existing = this.findExisting(incoming);
        const record = existing ? mergeRecords(toRecord(existing), incoming) : incoming;
        const values = [record.key, record.pmid ?? null, record.doi ?? null, record.title, record.abstract, record.journal ?? null, record.year ?? null, JSON.stringify(record.authors), JSON.stringify(record.publicationTypes), record.origin ?? null];
        if (existing) {
          this.db.run("INSERT INTO fts (fts, rowid, title, abstract) VALUES ('delete', ?, ?, ?)", [existing.id, existing.title, existing.abstract]);
          this.db.run("UPDATE docs SET key = ?, pmid = ?, doi = ?, title = ?, abstract = ?, journal = ?, year = ?, authors = ?, pubtypes = ?, origin = ? WHERE id = ?", [...values, existing.id]);
          insertFts.run([existing.id, record.title, record.abstract]);
          this.db.run("DELETE FROM vectors WHERE id = ?", existing.id);
          updated++;
        } else {
          const id = insert.run(values).lastInsertRowid;
          insertFts.run([id, record.title, record.abstract]);
          added++;
        }
      }
      this.db.exec("COMMIT");
    } catch (error) {
      // SQLite has already rolled back after some errors (a full disk): a second ROLLBACK would throw
      // "no transaction is active" and hide the cause.
      try {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      throw error;
    }
    if (added + updated > 0) this.dfCache.clear();
    return { added, updated };
  }

  /** Removes records by key, or every record imported from `origin`. */
  remove(which: { keys?: readonly string[]; origin?: string }): number {
    const rows = [
      ...(which.keys ?? []).map((key) => this.db.get("SELECT * FROM docs WHERE key = ?", key)).filter((r): r is SqlRow => r !== null),
      ...(which.origin ? this.db.all("SELECT * FROM docs WHERE origin = ?", which.origin) : []),
    ].map(asDoc);
    this.db.exec("BEGIN");
    for (const row of rows) {
      this.db.run("INSERT INTO fts (fts, rowid, title, abstract) VALUES ('delete', ?, ?, ?)", [row.id, row.title, row.abstract]);
      this.db.run("DELETE FROM docs WHERE id = ?", row.id);
      this.db.run("DELETE FROM vectors WHERE id = ?", row.id);
    }
    this.db.exec("COMMIT");
    return rows.length;
  }

  /** The files records were imported from, with how many records each gave. */
  origins(): Array<{ origin: string; count: number }> {
    return this.db.all("SELECT origin, count(*) AS n FROM docs WHERE origin IS NOT NULL GROUP BY origin ORDER BY origin").map((r) => ({ origin: String(r.origin), count: Number(r.n) }));
  }

  get(key: string): LiteratureRecord | undefined {
    const row = this.db.get("SELECT * FROM docs WHERE key = ?", key);
    return row ? toRecord(asDoc(row)) : undefined;
  }

  /** Documents holding `term` (a Porter stem), read from the FTS5 vocabulary. */
  df(term: string): number {
    const cached = this.dfCache.get(term);
    if (cached !== undefined) return cached;
    const row = this.db.get("SELECT doc FROM fts_vocab WHERE term = ?", term);
    const value = Number(row?.doc ?? 0);
    if (this.dfCache.size > 50_000) this.dfCache.clear();
    this.dfCache.set(term, value);
    return value;
  }

  stats(): CorpusStats {
    return { docCount: this.docCount, avgLength: this.avgLength, df: (t) => this.df(t) };
  }

  /** BM25 ranking: keys with score and the query-term coverage of each, best first. */
  rankBm25(query: string, limit: number, options: LiteratureSearchOptions = {}): Array<{ row: DocRow; score: number; coverage: number }> {
    const qTerms = queryTerms(query);
    if (qTerms.length === 0 || this.docCount === 0) return [];
    this.touchLock();
    const stats = this.stats();
    let probe = qTerms.filter((t) => stats.df(t.term) > 0);
    if (probe.length === 0) return [];
    if (this.docCount > this.pruneAbove) {
      // On a large library, common terms add little to the ranking but cost a long posting list each:
      // find candidates through the rarer terms, then score the candidates with every term.
      const rare = probe.filter((t) => stats.df(t.term) <= this.docCount * 0.02);
      probe = rare.length > 0 ? rare : [...probe].sort((a, b) => stats.df(a.term) - stats.df(b.term)).slice(0, 2);
    }
    const match = probe.map((t) => `"${t.word.replace(/"/g, '""')}"`).join(" OR ");
    const where: string[] = ["fts MATCH ?"];
    const values: Array<string | number> = [match];
    if (options.yearFrom !== undefined) {
      where.push("d.year >= ?");
      values.push(options.yearFrom);
    }
    if (options.yearTo !== undefined) {
      where.push("d.year <= ?");
      values.push(options.yearTo);
    }
    if (options.publicationTypes?.length) {
      where.push(`(${options.publicationTypes.map(() => "lower(d.pubtypes) LIKE ?").join(" OR ")})`);
      for (const type of options.publicationTypes) values.push(`%"${type.toLowerCase().replace(/[%_"]/g, "")}"%`);
    }
    values.push(Math.max(this.candidates, limit * 2));
    // Only ids through the sorter (carrying whole rows through it costs more than the ranking).
    const join = where.length > 1 ? "JOIN docs d ON d.id = fts.rowid " : "";
    const ids = this.statement(`SELECT fts.rowid AS id FROM fts ${join}WHERE ${where.join(" AND ")} ORDER BY rank LIMIT ?`).all(values).map((r) => Number(r.id));
    const fetch = this.statement("SELECT * FROM docs WHERE id = ?");
    const rows = ids.map((id) => fetch.get(id)).filter((r): r is SqlRow => r !== null).map(asDoc);
    const termList = qTerms.map((t) => t.term);
    return rows
      .map((row) => {
        const counts = termCounts(terms(`${row.title} ${row.abstract}`));
        return { row, score: bm25Score(termList, counts, stats), coverage: coverage(termList, counts, stats) };
      })
      .sort((a, b) => b.score - a.score || a.row.id - b.row.id)
      .slice(0, limit);
  }

  async search(query: string, k: number, options: LiteratureSearchOptions = {}): Promise<LiteratureSource[]> {
    const ranked = this.rankBm25(query, Math.max(k, options.ranking === "hybrid" ? 100 : k), options);
    const termList = queryTerms(query).map((t) => t.term);
    const stats = this.stats();
    const weight = (t: string): number => idf(stats.docCount, stats.df(t));
    let order: Array<{ row: DocRow; score: number; coverage: number }> = ranked;
    if (options.ranking === "hybrid" && this.embedder && this.vectorCount() > 0) {
      const dense = await this.rankDense(query, 100);
      const byId = new Map(ranked.map((r) => [r.row.id, r]));
      const fused = reciprocalRankFusion([ranked.map((r) => String(r.row.id)), dense.map((d) => String(d.id))]);
      order = fused.slice(0, k).map(({ key, score }) => {
        const known = byId.get(Number(key));
        const row = known?.row ?? asDoc(this.db.get("SELECT * FROM docs WHERE id = ?", Number(key))!);
        const cov = known?.coverage ?? coverage(termList, termCounts(terms(`${row.title} ${row.abstract}`)), stats);
        return { row, score, coverage: cov };
      });
      order = order.filter((o) => this.passesFilters(o.row, options));
    }
    return order.slice(0, k).map(({ row, score, coverage: cov }, index): LiteratureSource => {
      const record = toRecord(row);
      const source: LiteratureSource = {
        key: record.key,
        title: record.title,
        authors: record.authors,
        publicationTypes: record.publicationTypes,
        passage: selectPassage(record.abstract, termList, options.passageChars ?? 1200, weight),
        rank: index + 1,
        score,
        relevance: cov,
      };
      if (record.pmid) source.pmid = record.pmid;
      if (record.doi) source.doi = record.doi;
      if (record.journal) source.journal = record.journal;
      if (record.year !== undefined) source.year = record.year;
      return source;
    });
  }

  private passesFilters(row: DocRow, options: LiteratureSearchOptions): boolean {
    if (options.yearFrom !== undefined && (row.year === null || row.year < options.yearFrom)) return false;
    if (options.yearTo !== undefined && (row.year === null || row.year > options.yearTo)) return false;
    if (options.publicationTypes?.length) {
      const types = (JSON.parse(row.pubtypes) as string[]).map((t) => t.toLowerCase());
      if (!options.publicationTypes.some((t) => types.includes(t.toLowerCase()))) return false;
    }
    return true;
  }

  // ---- dense vectors -------------------------------------------------------------------------

  /** The embedding function (through the engine); hybrid ranking needs it and stored vectors. */
  embedder: Embedder | undefined;

  vectorCount(): number {
    return Number(this.db.get("SELECT count(*) AS n FROM vectors")?.n ?? 0);
  }

  /** Embeds records that have no vector yet, `batch` at a time; returns how many were embedded. */
  async embedMissing(embed: Embedder, options: { batch?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<number> {
    const missing = this.db.all("SELECT d.id, d.title, d.abstract FROM docs d LEFT JOIN vectors v ON v.id = d.id WHERE v.id IS NULL");
    const batch = options.batch ?? 16;
    let done = 0;
    for (let i = 0; i < missing.length; i += batch) {
      if (options.signal?.aborted) break;
      const rows = missing.slice(i, i + batch);
      const texts = rows.map((r) => `${String(r.title)}\n${String(r.abstract)}`.slice(0, 2000));
      // A text longer than the embedding model's context is shortened until it fits.
      const vectors: number[][] = [];
      for (let j = 0; j < texts.length; j++) {
        for (let text = texts[j]; ; text = text.slice(0, Math.floor(text.length / 2))) {
          try {
            vectors.push((await embed([text]))[0]);
            break;
          } catch (error) {
            if (text.length < 100) throw error;
          }
        }
      }
      this.db.exec("BEGIN");
      rows.forEach((row, j) => {
        const v = Float32Array.from(vectors[j]);
        this.db.run("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", [Number(row.id), v.length, new Uint8Array(v.buffer)]);
      });
      this.db.exec("COMMIT");
      done += rows.length;
      options.onProgress?.(done, missing.length);
    }
    this.vectorCache = undefined;
    return done;
  }

  private loadVectors(): { ids: Int32Array; dim: number; data: Float32Array } {
    if (this.vectorCache) return this.vectorCache;
    const rows = this.db.all("SELECT id, dim, v FROM vectors ORDER BY id");
    const dim = rows.length ? Number(rows[0].dim) : 0;
    const ids = new Int32Array(rows.length);
    const data = new Float32Array(rows.length * dim);
    rows.forEach((row, i) => {
      ids[i] = Number(row.id);
      const bytes = row.v as Uint8Array;
      const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      let norm = 0;
      for (let j = 0; j < dim; j++) norm += v[j] * v[j];
      norm = Math.sqrt(norm) || 1;
      for (let j = 0; j < dim; j++) data[i * dim + j] = v[j] / norm;
    });
    this.vectorCache = { ids, dim, data };
    return this.vectorCache;
  }

  /** Cosine similarity of the query's embedding against every stored vector (exact). */
  async rankDense(query: string, limit: number): Promise<Array<{ id: number; score: number }>> {
    if (!this.embedder) return [];
    const { ids, dim, data } = this.loadVectors();
    const [q] = await this.embedder([query]);
    if (!q || q.length !== dim) return [];
    let norm = 0;
    for (const x of q) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    const scored: Array<{ id: number; score: number }> = [];
    for (let i = 0; i < ids.length; i++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += data[i * dim + j] * q[j];
      scored.push({ id: ids[i], score: dot / norm });
    }
    return scored.sort((a, b) => b.score - a.score).slice(0, limit);
  }

  /** Bytes the library's file takes on disk. */
  diskBytes(): number {
    const pages = Number(this.db.get("PRAGMA page_count")?.page_count ?? 0);
    const size = Number(this.db.get("PRAGMA page_size")?.page_size ?? 0);
    return pages * size;
  }
}
