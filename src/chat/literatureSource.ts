/**
 * The one seam between chat and the literature library (src/literature, built separately): chat asks
 * for passages relevant to a question and cites what it gets. Until a library is wired in, `@library`
 * says so in the reply and chat answers without it. Pure.
 */

export interface LiteraturePassage {
  /** The PMID, or another stable id for a guideline or file. */
  id: string;
  title: string;
  /** The passage the model may use (an abstract or a chunk of a guideline). */
  text: string;
  year?: number;
}

export interface LiteratureSource {
  /** Passages relevant to the question, best first; empty when the library holds nothing relevant. */
  search(question: string, options: { limit: number; signal?: AbortSignal }): Promise<LiteraturePassage[]>;
}

const MENTION = /(^|\s)@library\b/i;

/** Whether a message asks for the library, and the question without the mention. */
export function parseLibraryMention(text: string): { wantsLibrary: boolean; question: string } {
  if (!MENTION.test(text)) return { wantsLibrary: false, question: text };
  return { wantsLibrary: true, question: text.replace(new RegExp(MENTION.source, "gi"), " ").replace(/\s+/g, " ").trim() };
}

export const NO_LIBRARY_NOTICE = "No literature library is set up yet, so this reply does not use one.";
export const EMPTY_LIBRARY_NOTICE = "The literature library had nothing relevant to this question; the reply cites no source.";
