/**
 * The citation check of a literature answer: every sentence gets the sources it cites; citations to
 * sources that were not retrieved are dropped (they would point at nothing the user can check), and
 * sentences left without any citation are marked. Pure.
 */

export interface CheckedSentence {
  /** The sentence with its citation markers removed. */
  text: string;
  /** Valid source numbers (1-based), in order of first mention. */
  citations: number[];
  /** True when the sentence cites no retrieved source. */
  uncited: boolean;
}

export interface CheckedAnswer {
  sentences: CheckedSentence[];
  /** Source numbers the model cited that were not among the retrieved sources. */
  dropped: number[];
  /** Every valid source number cited anywhere, ascending. */
  cited: number[];
}

const CITATION = /\s*\[(\s*\d+(?:\s*[-–,]\s*\d+)*\s*)\]/g;

/** Numbers in a citation group such as "1", "1, 3" or "2-4" (ranges capped at 50 numbers). */
export function citationNumbers(group: string): number[] {
  const out: number[] = [];
  for (const part of group.split(",")) {
    const range = /^\s*(\d+)\s*[-–]\s*(\d+)\s*$/.exec(part);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      for (let n = Math.min(a, b); n <= Math.max(a, b) && out.length < 50; n++) out.push(n);
    } else if (/^\s*\d+\s*$/.test(part)) out.push(Number(part));
  }
  return out;
}

/** Splits prose into sentences, keeping a trailing citation with the sentence it follows. */
export function splitAnswerSentences(text: string): string[] {
  const out: string[] = [];
  const re = /[^.!?\n]+(?:[.!?]+(?:\s*\[[\d\s,–-]+\])*|$)|\n+/g;
  for (const match of text.matchAll(re)) {
    const sentence = match[0].trim();
    if (sentence) out.push(sentence);
  }
  return out;
}

/** Checks sentences against the number of sources retrieved (valid citations are 1..sourceCount). */
export function checkCitations(sentences: ReadonlyArray<{ text: string; citations?: readonly number[] }>, sourceCount: number): CheckedAnswer {
  const dropped = new Set<number>();
  const cited = new Set<number>();
  const checked = sentences
    .map(({ text, citations = [] }): CheckedSentence => {
      const numbers = [...citations];
      const clean = text
        .replace(CITATION, (_, group: string) => {
          numbers.push(...citationNumbers(group));
          return "";
        })
        .replace(/\s+([.,;:!?])/g, "$1")
        .trim();
      const valid: number[] = [];
      for (const n of numbers) {
        if (!Number.isInteger(n) || n < 1 || n > sourceCount) dropped.add(n);
        else if (!valid.includes(n)) valid.push(n);
      }
      valid.forEach((n) => cited.add(n));
      return { text: clean, citations: valid, uncited: valid.length === 0 };
    })
    .filter((s) => s.text.length > 0 || s.citations.length > 0);
  return { sentences: checked, dropped: [...dropped].sort((a, b) => a - b), cited: [...cited].sort((a, b) => a - b) };
}

/** Checks free text (citations written inline as [n]). */
export function checkAnswerText(text: string, sourceCount: number): CheckedAnswer {
  return checkCitations(
    splitAnswerSentences(text).map((s) => ({ text: s })),
    sourceCount,
  );
}
