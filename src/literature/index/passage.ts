/**
 * The passage of a source to show and cite: whole sentences around the ones that match the query
 * best, at most `maxChars`. Pure.
 */
import { terms } from "./analyzer";

export function splitSentences(text: string): string[] {
  return (
    text
      .match(/[^.!?]+(?:[.!?]+(?=\s|$)|$)\s*/g)
      ?.map((s) => s.trim())
      .filter(Boolean) ?? (text.trim() ? [text.trim()] : [])
  );
}

export function selectPassage(text: string, queryTerms: readonly string[], maxChars: number, weight: (term: string) => number = () => 1): string {
  if (text.length <= maxChars) return text;
  const sentences = splitSentences(text);
  if (sentences.length === 0) return text.slice(0, maxChars);
  const wanted = new Set(queryTerms);
  const scores = sentences.map((s) => {
    let score = 0;
    for (const t of new Set(terms(s))) if (wanted.has(t)) score += weight(t);
    return score;
  });
  let best = 0;
  scores.forEach((s, i) => (best = s > scores[best] ? i : best));
  let start = best;
  let end = best + 1;
  let length = sentences[best].length;
  // Grow towards the better-scoring neighbour while it fits.
  for (;;) {
    const before = start > 0 ? sentences[start - 1].length + 1 : Infinity;
    const after = end < sentences.length ? sentences[end].length + 1 : Infinity;
    const preferBefore = start > 0 && (end >= sentences.length || scores[start - 1] > scores[end]);
    if (preferBefore && length + before <= maxChars) {
      start--;
      length += before;
    } else if (end < sentences.length && length + after <= maxChars) {
      end++;
      length += after;
    } else if (start > 0 && length + before <= maxChars) {
      start--;
      length += before;
    } else break;
  }
  const passage = sentences.slice(start, end).join(" ");
  const clipped = passage.length > maxChars ? `${passage.slice(0, maxChars - 1)}…` : passage;
  return `${start > 0 ? "… " : ""}${clipped}${end < sentences.length && !clipped.endsWith("…") ? " …" : ""}`;
}
