/**
 * BM25 as Lucene scores it (k1 0.9, b 0.4 as in the BEIR reference runs; idf = ln(1 + (N - df + 0.5) / (df + 0.5))),
 * the relevance share used for the "no relevant source" threshold, and reciprocal rank fusion. Pure.
 */
export interface Bm25Params {
  k1: number;
  b: number;
}

export const LUCENE_BM25: Bm25Params = { k1: 0.9, b: 0.4 };

export function idf(docCount: number, df: number): number {
  return Math.log(1 + (docCount - df + 0.5) / (df + 0.5));
}

export interface CorpusStats {
  docCount: number;
  avgLength: number;
  /** Documents holding the term (0 when none). */
  df(term: string): number;
}

/** Term frequencies and length of one document's terms. */
export function termCounts(docTerms: readonly string[]): { tf: Map<string, number>; length: number } {
  const tf = new Map<string, number>();
  for (const t of docTerms) tf.set(t, (tf.get(t) ?? 0) + 1);
  return { tf, length: docTerms.length };
}

/** One term's share of a document's score (what `bm25Score` adds up; the index's pruning bounds use it too). */
export function bm25TermScore(termIdf: number, f: number, length: number, avgLength: number, params: Bm25Params = LUCENE_BM25): number {
  const norm = params.k1 * (1 - params.b + (params.b * length) / Math.max(1, avgLength));
  return termIdf * ((f * (params.k1 + 1)) / (f + norm));
}

export function bm25Score(queryTerms: readonly string[], doc: { tf: Map<string, number>; length: number }, stats: CorpusStats, params: Bm25Params = LUCENE_BM25): number {
  let score = 0;
  for (const term of queryTerms) {
    const f = doc.tf.get(term);
    if (!f) continue;
    score += bm25TermScore(idf(stats.docCount, stats.df(term)), f, doc.length, stats.avgLength, params);
  }
  return score;
}

/**
 * How much of the query's meaning a document covers: the idf-weighted share of query terms it contains
 * (0..1). Terms the library has never seen weigh as the rarest. Used against the relevance threshold.
 */
export function coverage(queryTerms: readonly string[], doc: { tf: Map<string, number> }, stats: CorpusStats): number {
  let total = 0;
  let found = 0;
  for (const term of queryTerms) {
    const weight = idf(stats.docCount, stats.df(term));
    total += weight;
    if (doc.tf.has(term)) found += weight;
  }
  return total > 0 ? found / total : 0;
}

/** Reciprocal rank fusion of ranked key lists (Cormack et al. 2009; k = 60). */
export function reciprocalRankFusion(lists: ReadonlyArray<readonly string[]>, k = 60): Array<{ key: string; score: number }> {
  const scores = new Map<string, number>();
  for (const list of lists) list.forEach((key, index) => scores.set(key, (scores.get(key) ?? 0) + 1 / (k + index + 1)));
  return [...scores].map(([key, score]) => ({ key, score })).sort((a, b) => b.score - a.score || a.key.localeCompare(b.key));
}
