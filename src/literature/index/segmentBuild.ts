/**
 * What one write adds to the inverted index (invertedIndex.ts): the documents of a transaction analysed
 * into term frequencies, the postings they remove from older segments, and the new segment's posting
 * lists built from them (one per term, in SQLite's key order). Pure: no SQL; no vscode.
 */
import { terms } from "./analyzer";
import { encodePostings } from "./postings";

export interface Analyzed {
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

/** Where a document is indexed now, with the text indexed for it (the index answers this). */
export interface IndexedText {
  indexedText(id: number): { seg: number; title: string; abstract: string } | undefined;
}

/** Changes of one write transaction, applied to the in-memory state once it commits. */
export class IndexChanges {
  readonly pending = new Map<number, Analyzed>();
  readonly dfDelta = new Map<string, number>();
  readonly dead: Array<{ seg: number; id: number; length: number }> = [];
  private readonly deadIds = new Set<number>();

  constructor(private readonly index: IndexedText) {}

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

/** A new segment: its documents (ascending ids) and lengths, their total length, and one encoded posting list per term, in key order. */
export interface BuiltSegment {
  ids: Int32Array;
  lengths: Int32Array;
  length: number;
  /** Encoded one at a time as the caller writes them (a batch holds 10,000 documents). */
  lists: Iterable<{ term: string; data: Uint8Array; count: number }>;
}

/** The posting lists of a batch of analysed documents (`pending`: document id to its analysis). */
export function buildSegment(pending: ReadonlyMap<number, Analyzed>): BuiltSegment {
  const ids = Int32Array.from(pending.keys()).sort();
  const lengths = new Int32Array(ids.length);
  let length = 0;
  // Every (term, document, tf) of the batch in flat arrays, then grouped by term (counting sort,
  // documents stay in id order): far less garbage than a list per term.
  const termIds = new Map<string, number>();
  const names: string[] = [];
  let size = 0;
  for (const id of ids) size += pending.get(id)!.tf.size;
  const postTerm = new Int32Array(size);
  const postDoc = new Int32Array(size);
  const postTf = new Int32Array(size);
  let n = 0;
  ids.forEach((id, i) => {
    const doc = pending.get(id)!;
    lengths[i] = doc.length;
    length += doc.length;
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
  // In key order: the rows append to the table's B-tree.
  const order = names.map((_, t) => t).sort((a, b) => compareTerms(names[a], names[b]));
  function* lists(): Generator<{ term: string; data: Uint8Array; count: number }> {
    for (const t of order) {
      const from = start[t];
      const to = start[t + 1];
      yield { term: names[t], data: encodePostings(groupedId.subarray(from, to), groupedTf.subarray(from, to), groupedLength.subarray(from, to)), count: to - from };
    }
  }
  return { ids, lengths, length, lists: lists() };
}
