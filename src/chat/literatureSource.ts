/**
 * Chat's use of the literature library (searched through `LiteratureSearch`, src/literature/library.ts):
 * `@library` asks it for passages relevant to a question, above the relevance threshold, and the reply
 * cites what it gets. Without a library, `@library` says so in the reply and chat answers without it. Pure.
 */
import type { LiteratureSearch } from "../literature/library";

export interface LiteraturePassage {
  /** The PMID, or another stable id for a guideline or file. */
  id: string;
  title: string;
  /** The passage the model may use (an abstract or a chunk of a guideline). */
  text: string;
  year?: number;
}

/** Longest passage chat gives the model per source, in characters. */
const PASSAGE_CHARS = 900;

/**
 * Up to `limit` passages relevant to the question, best first, keeping only sources whose relevance
 * (0..1) reaches `minRelevance`; empty when the library holds nothing relevant.
 */
export async function libraryPassages(library: LiteratureSearch, question: string, limit: number, minRelevance: number): Promise<LiteraturePassage[]> {
  if (library.count() === 0) return [];
  const found = await library.search(question, limit, { passageChars: PASSAGE_CHARS });
  return found
    .filter((s) => s.relevance >= minRelevance)
    .map((s): LiteraturePassage => ({ id: s.pmid ?? s.key, title: s.title, text: s.passage, ...(s.year !== undefined ? { year: s.year } : {}) }));
}

const MENTION = /(^|\s)@library\b/i;

/** Whether a message asks for the library, and the question without the mention. */
export function parseLibraryMention(text: string): { wantsLibrary: boolean; question: string } {
  if (!MENTION.test(text)) return { wantsLibrary: false, question: text };
  return { wantsLibrary: true, question: text.replace(new RegExp(MENTION.source, "gi"), " ").replace(/\s+/g, " ").trim() };
}

export const NO_LIBRARY_NOTICE = "No literature library is set up yet, so this reply does not use one.";
export const EMPTY_LIBRARY_NOTICE = "The literature library had nothing relevant to this question; the reply cites no source.";
