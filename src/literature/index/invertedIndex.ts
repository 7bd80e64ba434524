/**
 * The library's inverted index in its SQLite file, laid out as Lucene lays out an index: each write adds a
 * segment (its documents' ids and lengths, and one posting list per term, built in segmentBuild.ts and
 * encoded as postings.ts says); a removed or
 * re-imported document is marked deleted in its old segment; segments of about the same size are merged
 * ten at a time (dropping deleted postings), so a library of N documents has O(log N) segments. Document
 * frequencies and the total length are kept exact, so BM25 scores equal an exhaustive computation.
 * Search runs MaxScore with block-max bounds per segment into one top-k (segmentSearch.ts, postings.ts).
 * This file keeps the segments, their merging and the in-memory state in step with the file. Node only;
 * no vscode.
 */
import { decodePostings, encodePostings, type SearchCounters, type TopKHit } from "./postings";
import { buildSegment, compareTerms, IndexChanges } from "./segmentBuild";
import { searchSegments } from "./segmentSearch";
import type { SqlDatabase, SqlStatement } from "./sqlDatabase";

export const INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS postings (seg INTEGER NOT NULL, term TEXT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (seg, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (seg INTEGER PRIMARY KEY, ids BLOB NOT NULL, lengths BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS deleted (seg INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (seg, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Version of the index layout stored in `meta`; a file without it is indexed again from its records. */
export const INDEX_VERSION = "postings-1";

/** Segments smaller than this are merged ten of the same size class at a time. */
const MERGE_BELOW = 100_000;
const MERGE_FACTOR = 10;

interface Segment {
  seg: number;
  ids: Int32Array;
  live: number;
  dead: Set<number>;
}

interface State {
  segments: Map<number, Segment>;
  /** Segment holding each document's live postings (-1: none). */
  docSegment: Int32Array;
  docLength: Int32Array;
  totalLength: number;
  nextSegment: number;
}

export { IndexChanges };

const bytesOf = (array: Int32Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
const int32Of = (bytes: Uint8Array): Int32Array => new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

export class InvertedIndex {
  private state: State | undefined;
  private readonly statements = new Map<string, SqlStatement>();

  /** `text(id)`: the title and abstract stored for a document (what was indexed for it). */
  constructor(
    private readonly db: SqlDatabase,
    private readonly text: (id: number) => { title: string; abstract: string } | undefined,
  ) {
    db.exec(INDEX_SCHEMA);
  }

  private statement(sql: string): SqlStatement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    for (const s of this.statements.values()) s.finalize();
    this.statements.clear();
  }

  /** Whether the file's index was built by this layout (else `rebuild` indexes its records). */
  isCurrent(): boolean {
    return this.db.get("SELECT value FROM meta WHERE name = 'index'")?.value === INDEX_VERSION;
  }

  /**
   * Forgets the in-memory state after a failed write (it is read again from the file), and the prepared
   * statements (one that failed mid-write, on a full disk, is prepared afresh).
   */
  invalidate(): void {
    this.state = undefined;
    for (const statement of this.statements.values()) {
      try {
        statement.finalize();
      } catch {
        // already finalized
      }
    }
    this.statements.clear();
  }

  private load(): State {
    if (this.state) return this.state;
    const segments = new Map<number, Segment>();
    let maxId = 0;
    const rows = this.db.all("SELECT seg, ids, lengths FROM segments ORDER BY seg");
    const parsed = rows.map((row) => ({ seg: Number(row.seg), ids: int32Of(row.ids as Uint8Array), lengths: int32Of(row.lengths as Uint8Array) }));
    for (const p of parsed) for (const id of p.ids) if (id > maxId) maxId = id;
    const docSegment = new Int32Array(maxId + 1).fill(-1);
    const docLength = new Int32Array(maxId + 1);
    for (const p of parsed) {
      segments.set(p.seg, { seg: p.seg, ids: p.ids, live: p.ids.length, dead: new Set() });
      p.ids.forEach((id, i) => {
        docSegment[id] = p.seg;
        docLength[id] = p.lengths[i];
      });
    }
    for (const row of this.db.all("SELECT seg, id FROM deleted")) {
      const segment = segments.get(Number(row.seg));
      const id = Number(row.id);
      if (!segment || segment.dead.has(id)) continue;
      segment.dead.add(id);
      segment.live--;
      if (docSegment[id] === segment.seg) docSegment[id] = -1;
    }
    const meta = (name: string): number => Number(this.db.get("SELECT value FROM meta WHERE name = ?", name)?.value ?? 0);
    this.state = { segments, docSegment, docLength, totalLength: meta("totalLength"), nextSegment: Math.max(meta("nextSegment"), ...[...segments.keys()].map((s) => s + 1), 1) };
    return this.state;
  }

  /** Where document `id` is indexed now, with its text. */
  indexedText(id: number): { seg: number; title: string; abstract: string } | undefined {
    const state = this.load();
    const seg = id < state.docSegment.length ? state.docSegment[id] : -1;
    if (seg < 0) return undefined;
    const text = this.text(id);
    return text ? { seg, ...text } : undefined;
  }

  /** Sum of the indexed documents' lengths (terms, stop words excluded). */
  totalLength(): number {
    return this.load().totalLength;
  }

  df(term: string): number {
    return Number(this.statement("SELECT df FROM terms WHERE term = ?").get(term)?.df ?? 0);
  }

  changes(): IndexChanges {
    this.load();
    return new IndexChanges(this);
  }

  /** Writes a transaction's changes (inside it): marks, a new segment, frequencies, total length. */
  write(changes: IndexChanges): void {
    const state = this.load();
    for (const d of changes.dead) this.statement("INSERT OR IGNORE INTO deleted VALUES (?, ?)").run([d.seg, d.id]);
    const dfDelta = new Map(changes.dfDelta);
    let lengthDelta = -changes.dead.reduce((sum, d) => sum + d.length, 0);
    if (changes.pending.size > 0) {
      const { ids, lengths, length, lists } = buildSegment(changes.pending);
      lengthDelta += length;
      const seg = state.nextSegment;
      const insert = this.statement("INSERT INTO postings VALUES (?, ?, ?)");
      for (const list of lists) {
        insert.run([seg, list.term, list.data]);
        dfDelta.set(list.term, (dfDelta.get(list.term) ?? 0) + list.count);
      }
      this.statement("INSERT INTO segments VALUES (?, ?, ?)").run([seg, bytesOf(ids), bytesOf(lengths)]);
      this.setMeta("nextSegment", seg + 1);
    }
    const upsert = this.statement("INSERT INTO terms VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df");
    const drop = this.statement("DELETE FROM terms WHERE term = ? AND df <= 0");
    for (const term of [...dfDelta.keys()].sort(compareTerms)) {
      const delta = dfDelta.get(term)!;
      if (delta === 0) continue;
      upsert.run([term, delta]);
      if (delta < 0) drop.run(term);
    }
    this.setMeta("totalLength", state.totalLength + lengthDelta);
  }

  /** After the transaction committed: the in-memory state follows. */
  applied(changes: IndexChanges): void {
    const state = this.state;
    if (!state) return;
    for (const d of changes.dead) {
      const segment = state.segments.get(d.seg);
      if (segment && !segment.dead.has(d.id)) {
        segment.dead.add(d.id);
        segment.live--;
      }
      if (state.docSegment[d.id] === d.seg) state.docSegment[d.id] = -1;
      state.totalLength -= d.length;
    }
    if (changes.pending.size > 0) {
      const ids = Int32Array.from(changes.pending.keys()).sort();
      const seg = state.nextSegment++;
      this.ensureCapacity(ids[ids.length - 1]);
      for (const id of ids) {
        const doc = changes.pending.get(id)!;
        state.docSegment[id] = seg;
        state.docLength[id] = doc.length;
        state.totalLength += doc.length;
      }
      state.segments.set(seg, { seg, ids, live: ids.length, dead: new Set() });
    }
    try {
      for (const segment of [...state.segments.values()]) if (segment.live === 0) this.dropEmpty(segment);
    } catch {
      // Left for a later write (a full disk): an empty segment only costs a lookup.
    }
  }

  private ensureCapacity(maxId: number): void {
    const state = this.state!;
    if (maxId < state.docSegment.length) return;
    const size = Math.max(maxId + 1, state.docSegment.length * 2);
    const docSegment = new Int32Array(size).fill(-1);
    docSegment.set(state.docSegment);
    const docLength = new Int32Array(size);
    docLength.set(state.docLength);
    state.docSegment = docSegment;
    state.docLength = docLength;
  }

  private setMeta(name: string, value: number): void {
    this.statement("INSERT OR REPLACE INTO meta VALUES (?, ?)").run([name, String(value)]);
  }

  /** A segment whose documents are all deleted goes (its own transaction). */
  private dropEmpty(segment: Segment): void {
    this.transaction(() => {
      this.db.run("DELETE FROM postings WHERE seg = ?", segment.seg);
      this.db.run("DELETE FROM segments WHERE seg = ?", segment.seg);
      this.db.run("DELETE FROM deleted WHERE seg = ?", segment.seg);
    });
    this.state?.segments.delete(segment.seg);
  }

  private transaction(work: () => void): void {
    this.db.exec("BEGIN");
    try {
      work();
      this.db.exec("COMMIT");
    } catch (error) {
      try {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
      } catch {
        // already rolled back
      }
      this.invalidate();
      throw error;
    }
  }

  /**
   * Merges segments of the same size class, ten at a time, until none has ten (each merge one transaction).
   * A merge that fails (a full disk) is rolled back and left for the next write: the records are already
   * committed and searchable without it, so the write that triggered it still succeeded.
   */
  mergeSegments(): void {
    try {
      this.mergeAll();
    } catch {
      this.invalidate();
    }
  }

  private mergeAll(): void {
    for (;;) {
      const state = this.load();
      const classes = new Map<number, Segment[]>();
      for (const segment of state.segments.values()) {
        if (segment.live >= MERGE_BELOW) continue;
        const size = Math.floor(Math.log10(Math.max(1, segment.live)));
        const group = classes.get(size) ?? [];
        group.push(segment);
        classes.set(size, group);
      }
      const group = [...classes.values()].find((g) => g.length >= MERGE_FACTOR);
      if (!group) return;
      this.merge(group.slice(0, MERGE_FACTOR));
    }
  }

  private merge(group: Segment[]): void {
    const state = this.load();
    const seg = state.nextSegment;
    const ids = Int32Array.from(group.flatMap((s) => [...s.ids].filter((id) => !s.dead.has(id)))).sort();
    const lengths = ids.map((id) => state.docLength[id]);
    this.transaction(() => {
      const page = this.statement("SELECT term, data FROM postings WHERE seg = ? AND term > ? ORDER BY term LIMIT 256");
      const cursors = group.map((segment) => ({ segment, rows: [] as Array<{ term: string; data: Uint8Array }>, at: 0, last: "", done: false }));
      const head = (c: (typeof cursors)[number]): { term: string; data: Uint8Array } | undefined => {
        if (c.at >= c.rows.length && !c.done) {
          c.rows = page.all([c.segment.seg, c.last]).map((r) => ({ term: String(r.term), data: r.data as Uint8Array }));
          c.at = 0;
          if (c.rows.length === 0) c.done = true;
          else c.last = c.rows[c.rows.length - 1].term;
        }
        return c.at < c.rows.length ? c.rows[c.at] : undefined;
      };
      const insert = this.statement("INSERT INTO postings VALUES (?, ?, ?)");
      for (;;) {
        let term: string | undefined;
        for (const c of cursors) {
          const h = head(c);
          if (h && (term === undefined || compareTerms(h.term, term) < 0)) term = h.term;
        }
        if (term === undefined) break;
        const merged: Array<[number, number]> = [];
        for (const c of cursors) {
          const h = head(c);
          if (!h || h.term !== term) continue;
          c.at++;
          const { ids: docs, tfs } = decodePostings(h.data);
          for (let i = 0; i < docs.length; i++) if (!c.segment.dead.has(docs[i])) merged.push([docs[i], tfs[i]]);
        }
        if (merged.length === 0) continue;
        merged.sort((a, b) => a[0] - b[0]);
        insert.run([
          seg,
          term,
          encodePostings(
            merged.map((m) => m[0]),
            merged.map((m) => m[1]),
            merged.map((m) => state.docLength[m[0]]),
          ),
        ]);
      }
      for (const segment of group) {
        this.db.run("DELETE FROM postings WHERE seg = ?", segment.seg);
        this.db.run("DELETE FROM segments WHERE seg = ?", segment.seg);
        this.db.run("DELETE FROM deleted WHERE seg = ?", segment.seg);
      }
      this.statement("INSERT INTO segments VALUES (?, ?, ?)").run([seg, bytesOf(ids), bytesOf(lengths)]);
      this.setMeta("nextSegment", seg + 1);
    });
    for (const segment of group) state.segments.delete(segment.seg);
    state.segments.set(seg, { seg, ids, live: ids.length, dead: new Set() });
    for (const id of ids) state.docSegment[id] = seg;
    state.nextSegment = seg + 1;
  }

  /** Empties the index (before indexing every record again). Inside the caller's transaction. */
  clear(): void {
    this.db.exec("DELETE FROM postings; DELETE FROM segments; DELETE FROM deleted; DELETE FROM terms; DELETE FROM meta WHERE name IN ('totalLength', 'nextSegment', 'index');");
    this.state = { segments: new Map(), docSegment: new Int32Array(0), docLength: new Int32Array(0), totalLength: 0, nextSegment: 1 };
  }

  markCurrent(): void {
    this.db.run("INSERT OR REPLACE INTO meta VALUES ('index', ?)", INDEX_VERSION);
  }

  /** Segments, live documents and postings rows (for tests and the benchmark). */
  describe(): { segments: number; live: number; deleted: number } {
    const state = this.load();
    let live = 0;
    let deleted = 0;
    for (const s of state.segments.values()) {
      live += s.live;
      deleted += s.dead.size;
    }
    return { segments: state.segments.size, live, deleted };
  }

  /**
   * The exact top `k` documents for the query's distinct terms (in query order) by Lucene BM25 with
   * `docCount` and `avgLength`; `accept` filters (year, type). `pruning: false` scores every posting
   * (the exhaustive reference the tests compare with). See segmentSearch.ts.
   */
  search(
    queryTerms: readonly string[],
    k: number,
    docCount: number,
    avgLength: number,
    df: (term: string) => number,
    accept: (id: number) => boolean = () => true,
    pruning = true,
    counters?: SearchCounters,
  ): TopKHit[] {
    const state = this.load();
    const fetch = this.statement("SELECT data FROM postings WHERE seg = ? AND term = ?");
    const postings = (seg: number, term: string): Uint8Array | undefined => fetch.get([seg, term])?.data as Uint8Array | undefined;
    return searchSegments([...state.segments.values()], postings, { queryTerms, k, docCount, avgLength, df, length: (id) => state.docLength[id], accept, pruning, counters });
  }
}
