/**
 * The literature library's interface. `LiteratureSearch` is the one interface its consumers (Ask the
 * Literature, chat's `@library`, the differential's citations) search it through: the composition root
 * (extension.ts) hands each of them the same library when it registers them. Pure: no vscode, no engine.
 */
import type { Ranking, RankingDecision } from "./embedding/hybridStatus";

/** One record as imported: a PubMed abstract, a reference-manager entry or a guideline file. */
export interface LiteratureRecord {
  /** Stable key: `pmid:<PMID>`, else `doi:<lower-case DOI>`, else `file:<path>` or `ref:<hash>`. */
  key: string;
  pmid?: string;
  doi?: string;
  title: string;
  /** Abstract, or the text of a guideline file. */
  abstract: string;
  journal?: string;
  year?: number;
  authors: string[];
  /** PubMed publication types, e.g. "Randomized Controlled Trial", "Review", "Guideline". */
  publicationTypes: string[];
  /** Where it came from (a file path), for re-import and removal. */
  origin?: string;
}

/** A search hit: the record's facts and the passage that matched, ready to cite. */
export interface LiteratureSource {
  key: string;
  pmid?: string;
  doi?: string;
  title: string;
  journal?: string;
  year?: number;
  authors: string[];
  publicationTypes: string[];
  /** The part of the abstract that matched the query best (whole sentences). */
  passage: string;
  /** 1-based rank in this result list. */
  rank: number;
  /** The ranking's score (higher is better); BM25, or RRF when ranking is hybrid. */
  score: number;
  /** BM25 relevance normalised to 0..1 against the query's own best possible match; used for the "no relevant source" threshold. */
  relevance: number;
}

export interface LiteratureSearchOptions {
  yearFrom?: number;
  yearTo?: number;
  /** Keep only records with one of these publication types (case-insensitive). */
  publicationTypes?: readonly string[];
  /** "bm25" (default when no embedding model is configured) or "hybrid" (BM25 + dense vectors, RRF). */
  ranking?: "bm25" | "hybrid";
  /** Longest passage per source, in characters (default 1,200). */
  passageChars?: number;
}

/** What the library's consumers search it through. */
export interface LiteratureSearch {
  /** The `k` best sources for `query`, best first; empty when nothing matches. */
  search(query: string, k: number, options?: LiteratureSearchOptions): Promise<LiteratureSource[]>;
  /** How many records the library holds. */
  count(): number;
  /**
   * The ranking a search asking for `wanted` gets now, and why it is BM25 when hybrid was asked for (no
   * embedding model, or records not embedded yet). Absent: the ranking asked for.
   */
  rankingDecision?(wanted: Ranking): RankingDecision;
}

/** The library itself: its search, and the full records behind the sources (to open and cite them). */
export interface LiteratureLibrary extends LiteratureSearch {
  /** The full record behind a source key. */
  get(key: string): LiteratureRecord | undefined;
}

export type { Ranking, RankingDecision };

/** The PubMed page of a PMID. */
export function pubmedUrl(pmid: string): string {
  return `https://pubmed.ncbi.nlm.nih.gov/${encodeURIComponent(pmid)}/`;
}
