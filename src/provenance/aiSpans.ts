/**
 * Where a note holds text accepted from Bedside and not yet reviewed. Ranges are document offsets that follow
 * edits; when a stored range no longer holds its text (the file changed while closed), the text is looked
 * for nearby; text that is gone is forgotten. Pure.
 */
export interface AiSpan {
  start: number;
  end: number;
  text: string;
}

export interface TextChange {
  /** Offset where the replaced text started. */
  offset: number;
  /** Length of the replaced text. */
  removed: number;
  /** Length of the inserted text. */
  inserted: number;
}

/** Moves spans through one edit; a span the edit overlaps shrinks to what is left of it. */
export function shiftSpans(spans: readonly AiSpan[], change: TextChange, documentText: string): AiSpan[] {
  const editEnd = change.offset + change.removed;
  const delta = change.inserted - change.removed;
  const out: AiSpan[] = [];
  for (const span of spans) {
    let { start, end } = span;
    if (editEnd <= start) {
      start += delta;
      end += delta;
    } else if (change.offset >= end) {
      // after the span: unchanged
    } else {
      // Overlap: keep the parts of the span outside the edit.
      const keptBefore = Math.max(0, change.offset - start);
      const keptAfter = Math.max(0, end - editEnd);
      start = Math.min(start, change.offset);
      end = start + keptBefore + (keptAfter > 0 ? change.inserted + keptAfter : 0);
      if (keptAfter === 0) end = start + keptBefore;
    }
    if (end > start) out.push({ start, end, text: documentText.slice(start, end) });
  }
  return out;
}

/** Spans whose text is still where they say, or found again nearby; the rest is dropped. */
export function relocateSpans(spans: readonly AiSpan[], documentText: string): AiSpan[] {
  const out: AiSpan[] = [];
  for (const span of spans) {
    if (!span.text) continue;
    if (documentText.slice(span.start, span.end) === span.text) {
      out.push(span);
      continue;
    }
    const before = documentText.lastIndexOf(span.text, span.start);
    const after = documentText.indexOf(span.text, span.start);
    const candidates = [before, after].filter((i) => i >= 0);
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (Math.abs(a - span.start) <= Math.abs(b - span.start) ? a : b));
    out.push({ start: best, end: best + span.text.length, text: span.text });
  }
  return out;
}
