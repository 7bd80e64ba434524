/**
 * The library on disk: one SQLite file (Node's built-in SQLite where the runtime has it, else SQLite in
 * WebAssembly: see sqlDatabase.ts; no native module to rebuild per Electron) with the records, the
 * library's own inverted index over title and abstract (invertedIndex.ts: segments of block posting lists,
 * exact document frequencies and lengths), and optional embedding vectors. Ranking: the exact top k by
 * Lucene BM25 (MaxScore with block-max bounds, which skips only documents that cannot enter the top k);
 * with vectors, BM25 and cosine rankings are fused by RRF. Node only; no vscode.
 */
import { utimesSync } from "node:fs";
import { openSqlDatabase, type SqlDatabase, type SqliteDriver, type SqlRow, type SqlStatement } from "./sqlDatabase";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "../library";
import { queryTerms, terms } from "./analyzer";
import { coverage, idf, reciprocalRankFusion, termCounts, type CorpusStats } from "./bm25";
import { InvertedIndex } from "./invertedIndex";
import type { SearchCounters } from "./postings";
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
  /** false: score every posting instead of MaxScore pruning (the exhaustive reference in tests; same ranking). */
  pruning?: boolean;
}

export class SqliteLiteratureLibrary implements LiteratureLibrary {
  private readonly db: SqlDatabase;
  private docCount = 0;
  private avgLength = 0;
  private readonly dfCache = new Map<string, number>();
  private vectorCache: { ids: Int32Array; dim: number; data: Float32Array } | undefined;
  private readonly pruning: boolean;
  readonly index: InvertedIndex;
  /** Documents fully scored by the last ranking (how much the pruning left to do). */
  lastScored = 0;

  constructor(
    readonly path: string,
    options: SqliteLibraryOptions = {},
  ) {
    this.db = openSqlDatabase(path);
    this.pruning = options.pruning ?? true;
    // 16 KiB pages for a new library (an existing file keeps its own): a quarter of the page reads and
    // writes through node-sqlite3-wasm's JavaScript file layer; import ~10% less CPU, ~10% smaller at 100k.
    this.db.exec("PRAGMA page_size=16384; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;");
    this.db.exec(SCHEMA);
    this.index = new InvertedIndex(this.db, (id) => {
      const row = this.statement("SELECT title, abstract FROM docs WHERE id = ?").get(id);
      return row ? { title: String(row.title), abstract: String(row.abstract) } : undefined;
    });
    // Indexed again when made by an earlier version, or written by one since (its records not in the index).
    if (!this.index.isCurrent() || this.index.describe().live !== Number(this.db.get("SELECT count(*) AS n FROM docs")?.n ?? 0)) this.rebuildIndex();
    this.refreshStats();
  }

  /**
   * Indexes every record again (a library made before this index layout, which used SQLite FTS5): in
   * transactions of 10,000 records, then drops the FTS5 tables it no longer reads.
   */
  private rebuildIndex(): void {
    this.db.exec("BEGIN");
    this.index.clear();
    this.db.exec("COMMIT");
    const page = this.statement("SELECT id, title, abstract FROM docs WHERE id > ? ORDER BY id LIMIT 10000");
    for (let last = -1; ; ) {
      const rows = page.all(last);
      if (rows.length === 0) break;
      const changes = this.index.changes();
      for (const row of rows) changes.put(Number(row.id), String(row.title), String(row.abstract));
      this.writeIndex(changes);
      last = Number(rows[rows.length - 1].id);
    }
    this.index.mergeSegments();
    this.db.exec("BEGIN");
    this.db.exec("DROP TABLE IF EXISTS fts_vocab; DROP TABLE IF EXISTS fts;");
    this.db.run("DELETE FROM meta WHERE name IN ('avgLength', 'avgLengthCount')");
    this.index.markCurrent();
    this.db.exec("COMMIT");
  }

  private writeIndex(changes: ReturnType<InvertedIndex["changes"]>): void {
    this.db.exec("BEGIN");
    try {
      this.index.write(changes);
      this.db.exec("COMMIT");
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.index.applied(changes);
  }

  private rollback(): void {
    this.index.invalidate();
    // SQLite has already rolled back after some errors (a full disk): a second ROLLBACK would throw
    // "no transaction is active" and hide the cause.
    try {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
    } catch {
      // no transaction left to roll back
    }
  }

  close(): void {
    this.index.close();
    for (const statement of this.statements.values()) statement.finalize();
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  count(): number {
    return this.docCount;
  }

  /** Recounts documents and the average length (exact: the index keeps the total length). */
  refreshStats(): void {
    this.dfCache.clear();
    this.vectorCache = undefined;
    this.docCount = Number(this.db.get("SELECT count(*) AS n FROM docs")?.n ?? 0);
    this.avgLength = this.docCount ? this.index.totalLength() / this.docCount : 0;
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
    const changes = this.index.changes();
    this.db.exec("BEGIN");
    try {
      for (const incoming of records) {
        const existing = this.findExisting(incoming);
        const record = existing ? mergeRecords(toRecord(existing), incoming) : incoming;
        const values = [record.key, record.pmid ?? null, record.doi ?? null, record.title, record.abstract, record.journal ?? null, record.year ?? null, JSON.stringify(record.authors), JSON.stringify(record.publicationTypes), record.origin ?? null];
        if (existing) {
          // Before the row changes: the index reads the text it indexed for it.
          changes.put(existing.id, record.title, record.abstract);
          this.db.run("UPDATE docs SET key = ?, pmid = ?, doi = ?, title = ?, abstract = ?, journal = ?, year = ?, authors = ?, pubtypes = ?, origin = ? WHERE id = ?", [...values, existing.id]);
          this.db.run("DELETE FROM vectors WHERE id = ?", existing.id);
          updated++;
        } else {
          const id = Number(insert.run(values).lastInsertRowid);
          changes.put(id, record.title, record.abstract);
          added++;
        }
      }
      this.index.write(changes);
      this.db.exec("COMMIT");
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.index.applied(changes);
    if (added + updated > 0) this.dfCache.clear();
    this.index.mergeSegments();
    return { added, updated };
  }

  /** Removes records by key, or every record imported from `origin`. */
  remove(which: { keys?: readonly string[]; origin?: string }): number {
    const rows = [
      ...(which.keys ?? []).map((key) => this.db.get("SELECT * FROM docs WHERE key = ?", key)).filter((r): r is SqlRow => r !== null),
      ...(which.origin ? this.db.all("SELECT * FROM docs WHERE origin = ?", which.origin) : []),
    ].map(asDoc);
    const changes = this.index.changes();
    const seen = new Set<number>();
    this.db.exec("BEGIN");
    try {
      for (const row of rows) {
        if (seen.has(row.id)) continue;
        seen.add(row.id);
        changes.delete(row.id);
        this.db.run("DELETE FROM docs WHERE id = ?", row.id);
        this.db.run("DELETE FROM vectors WHERE id = ?", row.id);
      }
      this.index.write(changes);
      this.db.exec("COMMIT");
    } catch (error) {
      this.rollback();
      throw error;
    }
    this.index.applied(changes);
    this.dfCache.clear();
    this.index.mergeSegments();
    return seen.size;
  }

  /** The files records were imported from, with how many records each gave. */
  origins(): Array<{ origin: string; count: number }> {
    return this.db.all("SELECT origin, count(*) AS n FROM docs WHERE origin IS NOT NULL GROUP BY origin ORDER BY origin").map((r) => ({ origin: String(r.origin), count: Number(r.n) }));
  }

  get(key: string): LiteratureRecord | undefined {
    const row = this.db.get("SELECT * FROM docs WHERE key = ?", key);
    return row ? toRecord(asDoc(row)) : undefined;
  }

  /** Documents holding `term` (a Porter stem), kept exact by the index. */
  df(term: string): number {
    const cached = this.dfCache.get(term);
    if (cached !== undefined) return cached;
    const value = this.index.df(term);
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
    const termList = qTerms.map((t) => t.term);
    const filtered = options.yearFrom !== undefined || options.yearTo !== undefined || (options.publicationTypes?.length ?? 0) > 0;
    const fetch = this.statement("SELECT * FROM docs WHERE id = ?");
    const fetched = new Map<number, DocRow | undefined>();
    const row = (id: number): DocRow | undefined => {
      if (!fetched.has(id)) {
        const found = fetch.get(id);
        fetched.set(id, found ? asDoc(found) : undefined);
      }
      return fetched.get(id);
    };
    const accept = filtered ? (id: number): boolean => { const r = row(id); return r !== undefined && this.passesFilters(r, options); } : () => true;
    const counters: SearchCounters = { scored: 0 };
    const hits = this.index.search(termList, limit, stats.docCount, stats.avgLength, (t) => stats.df(t), accept, this.pruning, counters);
    this.lastScored = counters.scored;
    return hits.flatMap((hit) => {
      const r = row(hit.id);
      return r ? [{ row: r, score: hit.score, coverage: coverage(termList, termCounts(terms(`${r.title} ${r.abstract}`)), stats) }] : [];
    });
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
