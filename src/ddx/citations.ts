/**
 * Citations from the literature library, when there is one. The differential depends only on this small
 * interface: the literature feature (or anything else that can find sources) supplies an implementation,
 * and without one, or when it fails, the differential simply has no citations. Pure.
 */
import { pubmedUrl, type LiteratureSearch } from "../literature/library";

export interface SourceReference {
  /** A stable id: "PMID:12345678", a DOI or a library key. */
  id: string;
  title: string;
  /** Where a click on the citation may go (https://pubmed.ncbi.nlm.nih.gov/...), if anywhere. */
  url?: string;
}

export interface CitationSource {
  /** Up to `limit` sources relevant to the query, best first; [] when none match. */
  findSources(query: string, limit: number, signal?: AbortSignal): Promise<readonly SourceReference[]>;
  /** Whether there is anything to cite from (a library with records); absent: assume so. */
  available?(): boolean;
}

/** The query for a diagnosis: its name and the findings that support it. */
export function citationQuery(diagnosis: string, findings: readonly string[]): string {
  return [diagnosis, ...findings.slice(0, 2)].join(" ").slice(0, 300);
}

/** Sources for a diagnosis, or [] when there is no library, it has nothing, or it fails. */
export async function citationsFor(
  source: CitationSource | undefined,
  diagnosis: string,
  findings: readonly string[],
  limit: number,
  signal?: AbortSignal,
): Promise<SourceReference[]> {
  if (!source) return [];
  try {
    const found = await source.findSources(citationQuery(diagnosis, findings), limit, signal);
    return found
      .filter((s) => typeof s?.id === "string" && typeof s.title === "string")
      .slice(0, limit)
      .map((s) => ({ id: s.id, title: s.title, ...(typeof s.url === "string" && /^https:\/\//.test(s.url) ? { url: s.url } : {}) }));
  } catch {
    return [];
  }
}

/** Below this BM25 relevance (0..1 against the query's best possible match) a source is not cited. */
export const MIN_CITATION_RELEVANCE = 0.2;

/** The literature library as a citation source: relevant hits only, PubMed links where there is a PMID. */
export function citationSourceFromLibrary(library: LiteratureSearch, minRelevance = MIN_CITATION_RELEVANCE): CitationSource {
  return {
    available: () => library.count() > 0,
    async findSources(query, limit) {
      if (library.count() === 0) return [];
      const hits = await library.search(query, limit);
      return hits.filter((h) => h.relevance >= minRelevance).map((h) => ({ id: h.pmid ? `PMID ${h.pmid}` : h.key, title: h.title, ...(h.pmid ? { url: pubmedUrl(h.pmid) } : {}) }));
    },
  };
}
