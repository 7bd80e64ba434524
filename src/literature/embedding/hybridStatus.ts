/**
 * Whether `hybrid` ranking can run now, and what to tell the clinician when it cannot: which setting to set,
 * or how far the library's embedding has got. Hybrid ranking fuses BM25 with the cosine ranking of every
 * record's vector, so it waits until every record has one from the configured model; until then sources are
 * ranked by BM25 and the answer or search says so. Pure: no vscode.
 */

export type Ranking = "bm25" | "hybrid";

/** Where the library's embedding stands. */
export interface EmbeddingProgress {
  /** bedside.literature.embeddingModel is set (a path; the file may still fail to load). */
  modelConfigured: boolean;
  /** Records in the library. */
  total: number;
  /** Records with a vector from the configured model. */
  embedded: number;
  /** Embedding is running now. */
  running: boolean;
  /** Why the last embedding run failed (the model would not load, or cannot embed). */
  error?: string;
}

export interface RankingDecision {
  /** The ranking the search uses. */
  ranking: Ranking;
  /**
   * Said beside the sources when the setting asked for hybrid: how they were ranked, and when BM25 ranked
   * them instead, why.
   */
  note?: string;
}

/** Said beside the sources when hybrid ranking ran, so it can be told from BM25 alone. */
export const HYBRID_RAN_NOTE = "Ranked by BM25 and the embedding model together (hybrid).";

export const NO_EMBEDDING_MODEL_NOTE =
  'Ranked by BM25 only: hybrid ranking needs an embedding model. Set bedside.literature.embeddingModel to a GGUF embedding model (for example bge-small-en-v1.5, from "Bedside: Download Model").';

/** The share of records embedded, in whole percent, rounded down (99% until the last record is done). */
export function percentEmbedded(progress: Pick<EmbeddingProgress, "total" | "embedded">): number {
  if (progress.total <= 0) return 100;
  return Math.floor((100 * Math.min(progress.embedded, progress.total)) / progress.total);
}

/** Which ranking a search asked for `wanted` gets, and the note that explains a fallback to BM25. */
export function decideRanking(wanted: Ranking, progress: EmbeddingProgress): RankingDecision {
  if (wanted === "bm25") return { ranking: "bm25" };
  if (!progress.modelConfigured) return { ranking: "bm25", note: NO_EMBEDDING_MODEL_NOTE };
  if (progress.error)
    return { ranking: "bm25", note: `Ranked by BM25 only: the embedding model could not embed the library (${progress.error}). Check bedside.literature.embeddingModel.` };
  if (progress.total > 0 && progress.embedded >= progress.total) return { ranking: "hybrid", note: HYBRID_RAN_NOTE };
  if (progress.total === 0) return { ranking: "bm25" };
  const count = `${progress.embedded.toLocaleString("en-US")} of ${progress.total.toLocaleString("en-US")} records`;
  return progress.running
    ? { ranking: "bm25", note: `Ranked by BM25 only while Bedside embeds the library for hybrid ranking: ${percentEmbedded(progress)}% done (${count}).` }
    : {
        ranking: "bm25",
        note: `Ranked by BM25 only: the library is ${percentEmbedded(progress)}% embedded (${count}). Run "Bedside: Embed Literature for Hybrid Ranking" to finish.`,
      };
}

/**
 * The name stored with the vectors: the model file (path, size, modification time) and the prefixes put
 * before questions and records. A different name means other vectors: those stored are deleted.
 */
export function vectorModelKey(file: { path: string; size: number; mtimeMs: number }, prefixes: { query?: string; document?: string } = {}): string {
  return JSON.stringify([file.path, file.size, Math.round(file.mtimeMs), prefixes.query ?? "", prefixes.document ?? ""]);
}
