/**
 * The library as the other features' seams want it: chat's LiteratureSource (passages above the
 * relevance threshold). The differential adapts it itself (src/ddx/citations.ts). Pure.
 */
import type { LiteraturePassage, LiteratureSource as ChatLiteratureSource } from "../chat/literatureSource";
import type { LiteratureLibrary } from "./library";

export function chatLiteratureSource(library: LiteratureLibrary, minRelevance: () => number): ChatLiteratureSource {
  return {
    async search(question, options) {
      if (library.count() === 0) return [];
      const found = await library.search(question, options.limit, { passageChars: 900 });
      return found
        .filter((s) => s.relevance >= minRelevance())
        .map((s): LiteraturePassage => ({ id: s.pmid ?? s.key, title: s.title, text: s.passage, ...(s.year !== undefined ? { year: s.year } : {}) }));
    },
  };
}
