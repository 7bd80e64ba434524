/**
 * The library's inverted index in its SQLite file, laid out as Lucene lays out an index: each write adds a
 * segment (its documents' ids and lengths, and one posting list per term, see postings.ts); a removed or
 * re-imported document is marked deleted in its old segment; segments of about the same size are merged
 * ten at a time (dropping deleted postings), so a library of N documents has O(log N) segments. Document
 * frequencies and the total length are kept exact, so BM25 scores equal an exhaustive computation.
 * Search runs MaxScore with block-max bounds per segment into one top-k (postings.ts). Node only; no vscode.
 */
import { terms } from "./analyzer";
import { bm25TermScore, idf } from "./bm25";
import { decodePostings, encodePostings, END, PostingCursor, TopK, topKMaxScore, type ScoredList, type SearchCounters, type TopKHit } from "./postings";
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

interface Analyzed {
  length: number;
  tf: Map<string, number>;
}

export function analyzeDocument(title: string, abstract: string): Analyzed {
  const all = terms(`${title} ${abstract}`);
  const tf = new Map<string, number>();
  for (const t of all) tf.set(t, (tf.get(t) ?? 0) + 1);
  return { length: all.length, tf };
}

/** Code point order, which is SQLite's order of UTF-8 text (UTF-16 order differs above U+D7FF). */
export function compareTerms(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      const fx = x >= 0xd800 && x <= 0xdfff ? x + 0x2000 : x >= 0xe000 ? x - 0x800 : x;
      const fy = y >= 0xd800 && y <= 0xdfff ? y + 0x2000 : y >= 0xe000 ? y - 0x800 : y;
      return fx - fy;
    }
  }
  return a.length - b.length;
}

const bytesOf = (array: Int32Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
const int32Of = (bytes: Uint8Array): Int32Array => new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

/** Changes of one write transaction, applied to the in-memory state once it commits. */
export class IndexChanges {
  readonly pending = new Map<number, Analyzed>();
  readonly dfDelta = new Map<string, number>();
  readonly dead: Array<{ seg: number; id: number; length: number }> = [];
  private readonly deadIds = new Set<number>();

  constructor(private readonly index: InvertedIndex) {}

  /** Indexes document `id` (new, or replacing what was indexed for it). */
  put(id: number, title: string, abstract: string): void {
    if (!this.pending.has(id)) this.drop(id);
    this.pending.set(id, analyzeDocument(title, abstract));
  }

  /** Removes document `id` from the index (its indexed text is needed for the document frequencies). */
  delete(id: number): void {
    this.pending.delete(id);
    this.drop(id);
  }

  private drop(id: number): void {
    if (this.deadIds.has(id)) return;
    const indexed = this.index.indexedText(id);
    if (!indexed) return;
    this.deadIds.add(id);
    const old = analyzeDocument(indexed.title, indexed.abstract);
    for (const term of old.tf.keys()) this.dfDelta.set(term, (this.dfDelta.get(term) ?? 0) - 1);
    this.dead.push({ seg: indexed.seg, id, length: old.length });
  }
}

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
      const ids = Int32Array.from(changes.pending.keys()).sort();
      const lengths = new Int32Array(ids.length);
      // Every (term, document, tf) of the batch in flat arrays, then grouped by term (counting sort,
      // documents stay in id order): far less garbage than a list per term.
      const termIds = new Map<string, number>();
      const names: string[] = [];
      let size = 0;
      for (const id of ids) size += changes.pending.get(id)!.tf.size;
      const postTerm = new Int32Array(size);
      const postDoc = new Int32Array(size);
      const postTf = new Int32Array(size);
      let n = 0;
      ids.forEach((id, i) => {
        const doc = changes.pending.get(id)!;
        lengths[i] = doc.length;
        lengthDelta += doc.length;
        for (const [term, tf] of doc.tf) {
          let t = termIds.get(term);
          if (t === undefined) {
            t = names.length;
            termIds.set(term, t);
            names.push(term);
          }
          postTerm[n] = t;
          postDoc[n] = i;
          postTf[n++] = tf;
        }
      });
      const start = new Int32Array(names.length + 1);
      for (let p = 0; p < n; p++) start[postTerm[p] + 1]++;
      for (let t = 0; t < names.length; t++) start[t + 1] += start[t];
      const fill = start.slice(0, names.length);
      const groupedId = new Int32Array(n);
      const groupedTf = new Int32Array(n);
      const groupedLength = new Int32Array(n);
      for (let p = 0; p < n; p++) {
        const at = fill[postTerm[p]]++;
        groupedId[at] = ids[postDoc[p]];
        groupedTf[at] = postTf[p];
        groupedLength[at] = lengths[postDoc[p]];
      }
      const seg = state.nextSegment;
      const insert = this.statement("INSERT INTO postings VALUES (?, ?, ?)");
      // In key order: the rows append to the table's B-tree.
      const order = names.map((_, t) => t).sort((a, b) => compareTerms(names[a], names[b]));
      for (const t of order) {
        const from = start[t];
        const to = start[t + 1];
        insert.run([seg, names[t], encodePostings(groupedId.subarray(from, to), groupedTf.subarray(from, to), groupedLength.subarray(from, to))]);
        dfDelta.set(names[t], (dfDelta.get(names[t]) ?? 0) + (to - from));
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
        insert.run([seg, term, encodePostings(merged.map((m) => m[0]), merged.map((m) => m[1]), merged.map((m) => state.docLength[m[0]]))]);
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
   * (the exhaustive reference the tests compare with).
   */
  search(queryTerms: readonly string[], k: number, docCount: number, avgLength: number, df: (term: string) => number, accept: (id: number) => boolean = () => true, pruning = true, counters?: SearchCounters): TopKHit[] {
    const state = this.load();
    const top = new TopK(k);
    const weights = queryTerms.map((t) => {
      const f = df(t);
      return f > 0 ? idf(docCount, f) : 0;
    });
    const fetch = this.statement("SELECT data FROM postings WHERE seg = ? AND term = ?");
    const segments = [...state.segments.values()].sort((a, b) => b.live - a.live);
    for (const segment of segments) {
      if (segment.live === 0) continue;
      const lists: ScoredList[] = [];
      queryTerms.forEach((term, queryIndex) => {
        if (weights[queryIndex] <= 0) return;
        const row = fetch.get([segment.seg, term]);
        if (row) lists.push({ queryIndex, idf: weights[queryIndex], cursor: new PostingCursor(row.data as Uint8Array) });
      });
      const live = segment.dead.size === 0 ? accept : (id: number) => !segment.dead.has(id) && accept(id);
      const length = (id: number): number => state.docLength[id];
      if (pruning) topKMaxScore(lists, queryTerms.length, top, length, avgLength, live, counters);
      else exhaustive(lists, queryTerms.length, top, length, avgLength, live);
    }
    return top.sorted();
  }
}

/** Every posting scored (term at a time), the reference for the pruned search. */
function exhaustive(lists: readonly ScoredList[], queryLength: number, top: TopK, length: (id: number) => number, avgLength: number, accept: (id: number) => boolean): void {
  const perDoc = new Map<number, Float64Array>();
  for (const list of lists) {
    for (const c = list.cursor; c.doc !== END; c.next()) {
      let row = perDoc.get(c.doc);
      if (!row) perDoc.set(c.doc, (row = new Float64Array(queryLength).fill(Number.NaN)));
      row[list.queryIndex] = bm25TermScore(list.idf, c.tf, length(c.doc), avgLength);
    }
  }
  for (const [id, row] of perDoc) {
    let score = 0;
    for (const c of row) if (!Number.isNaN(c)) score += c;
    if (accept(id)) top.offer({ id, score });
  }
}
