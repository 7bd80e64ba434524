/**
 * Search over the inverted index's segments (invertedIndex.ts): per segment, the query terms' posting
 * lists go through MaxScore with block-max bounds (postings.ts) into one top k, or, with pruning off,
 * every posting is scored (the exhaustive reference the tests compare with). Pure: postings come from
 * the caller; no vscode.
 */
import { bm25TermScore, idf } from "./bm25";
import { END, PostingCursor, TopK, topKMaxScore, type ScoredList, type SearchCounters, type TopKHit } from "./postings";

/** A segment as search sees it: its number, live document count and deleted documents. */
export interface SearchedSegment {
  seg: number;
  live: number;
  dead: ReadonlySet<number>;
}

export interface SegmentQuery {
  /** The query's distinct terms, in query order. */
  queryTerms: readonly string[];
  k: number;
  docCount: number;
  avgLength: number;
  df: (term: string) => number;
  /** A document's length in terms. */
  length: (id: number) => number;
  /** Filters (year, type). */
  accept: (id: number) => boolean;
  pruning: boolean;
  counters?: SearchCounters;
}

/** The exact top `k` documents by Lucene BM25; `postings(seg, term)`: that segment's encoded list, if any. */
export function searchSegments(segments: readonly SearchedSegment[], postings: (seg: number, term: string) => Uint8Array | undefined, query: SegmentQuery): TopKHit[] {
  const { queryTerms, docCount, avgLength, length, accept } = query;
  const top = new TopK(query.k);
  const weights = queryTerms.map((t) => {
    const f = query.df(t);
    return f > 0 ? idf(docCount, f) : 0;
  });
  for (const segment of [...segments].sort((a, b) => b.live - a.live)) {
    if (segment.live === 0) continue;
    const lists: ScoredList[] = [];
    queryTerms.forEach((term, queryIndex) => {
      if (weights[queryIndex] <= 0) return;
      const data = postings(segment.seg, term);
      if (data) lists.push({ queryIndex, idf: weights[queryIndex], cursor: new PostingCursor(data) });
    });
    const live = segment.dead.size === 0 ? accept : (id: number) => !segment.dead.has(id) && accept(id);
    if (query.pruning) topKMaxScore(lists, queryTerms.length, top, length, avgLength, live, query.counters);
    else exhaustive(lists, queryTerms.length, top, length, avgLength, live);
  }
  return top.sorted();
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
