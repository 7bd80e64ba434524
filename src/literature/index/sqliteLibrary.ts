/**
 * The library on disk: one SQLite file (Node's built-in SQLite where the runtime has it, else SQLite in
 * WebAssembly: see sqlDatabase.ts; no native module to rebuild per Electron) with the records (their table,
 * merging and filters: libraryRows.ts), the library's own inverted index over title and abstract
 * (invertedIndex.ts: segments of block posting lists, exact document frequencies and lengths), and
 * optional embedding vectors (vectorStore.ts). This file keeps them consistent in one transaction per
 * change, and ranks. Ranking: the exact top k by
 * Lucene BM25 (MaxScore with block-max bounds, which skips only documents that cannot enter the top k);
 * with vectors, BM25 and cosine rankings are fused by RRF. Node only; no vscode.
 */
import { utimesSync } from "node:fs";
import { openSqlDatabase, type SqlDatabase, type SqliteDriver, type SqlRow, type SqlStatement } from "./sqlDatabase";
import type { LiteratureLibrary, LiteratureRecord, LiteratureSearchOptions, LiteratureSource } from "../library";
import { asDoc, mergeRecords, passesFilters, SCHEMA, toRecord, type DocRow } from "./libraryRows";
import { VectorStore, type Embedder } from "./vectorStore";
import { queryTerms, terms } from "./analyzer";
import { coverage, idf, reciprocalRankFusion, termCounts, type CorpusStats } from "./bm25";
import { InvertedIndex } from "./invertedIndex";
import type { SearchCounters } from "./postings";
import { selectPassage } from "./passage";

export type { Embedder };
export { mergeRecords };

export interface UpsertResult {
  added: number;
  updated: number;
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
  private readonly vectors: VectorStore;
  private readonly pruning: boolean;
  readonly index: InvertedIndex;
  /** Documents fully scored by the last ranking (how much the pruning left to do). */
  lastScored = 0;

  constructor(
    readonly path: string,
    options: SqliteLibraryOptions = {},
  ) {
    this.db = openSqlDatabase(path);
    this.vectors = new VectorStore(this.db);
    this.pruning = options.pruning ?? true;
    // 16 KiB pages for a new library (an existing file keeps its own): a quarter of the page reads and
    // writes through node-sqlite3-wasm's JavaScript file layer (import CPU and file size: `npm run bench --
    // retrieval`, docs/retrieval.md).
    this.db.exec(
      "PRAGMA page_size=16384; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;",
    );
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
    for (let last = -1; ;) {
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
    this.vectors.invalidate();
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
        const values = [
          record.key,
          record.pmid ?? null,
          record.doi ?? null,
          record.title,
          record.abstract,
          record.journal ?? null,
          record.year ?? null,
          JSON.stringify(record.authors),
          JSON.stringify(record.publicationTypes),
          record.origin ?? null,
        ];
        if (existing) {
          // Before the row changes: the index reads the text it indexed for it.
          changes.put(existing.id, record.title, record.abstract);
          this.db.run("UPDATE docs SET key = ?, pmid = ?, doi = ?, title = ?, abstract = ?, journal = ?, year = ?, authors = ?, pubtypes = ?, origin = ? WHERE id = ?", [
            ...values,
            existing.id,
          ]);
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
    return this.db
      .all("SELECT origin, count(*) AS n FROM docs WHERE origin IS NOT NULL GROUP BY origin ORDER BY origin")
      .map((r) => ({ origin: String(r.origin), count: Number(r.n) }));
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
    const accept = filtered
      ? (id: number): boolean => {
          const r = row(id);
          return r !== undefined && passesFilters(r, options);
        }
      : () => true;
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
      order = order.filter((o) => passesFilters(o.row, options));
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

  // ---- dense vectors (vectorStore.ts) --------------------------------------------------------

  /** The embedding function (through the engine); hybrid ranking needs it and stored vectors. */
  embedder: Embedder | undefined;

  vectorCount(): number {
    return this.vectors.count();
  }

  /** Records that have no vector yet. */
  missingVectors(): number {
    return this.vectors.missingCount();
  }

  /** The embedding model that made the stored vectors, as `useVectorModel` named it. */
  vectorModel(): string | undefined {
    return this.vectors.model();
  }

  /** Vectors come from `model` from now on; those another model made are deleted (returns how many). */
  useVectorModel(model: string): number {
    return this.vectors.useModel(model);
  }

  /** Embeds records that have no vector yet, `batch` at a time; returns how many were embedded. */
  embedMissing(embed: Embedder, options: { batch?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<number> {
    return this.vectors.embedMissing(embed, options);
  }

  /** Cosine similarity of the query's embedding against every stored vector (exact). */
  async rankDense(query: string, limit: number): Promise<Array<{ id: number; score: number }>> {
    if (!this.embedder) return [];
    const [q] = await this.embedder([query]);
    return this.vectors.rank(q, limit);
  }

  /** Bytes the library's file takes on disk. */
  diskBytes(): number {
    const pages = Number(this.db.get("PRAGMA page_count")?.page_count ?? 0);
    const size = Number(this.db.get("PRAGMA page_size")?.page_size ?? 0);
    return pages * size;
  }
}
