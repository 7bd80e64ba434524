/**
 * Keeps the last suggestions per document, so that typing the characters of a shown suggestion keeps showing
 * the rest without a new request. Bounded; pure.
 *
 * Positions are document offsets and only the text just before a suggestion is kept, so a lookup compares a
 * few hundred characters, not the note: the editor passes only the text before the cursor it has read.
 */
interface Entry {
  /** Document offset of the cursor the suggestion was made for. */
  end: number;
  /** The text just before `end`, to tell that the note there is still what it was. */
  tail: string;
  suggestion: string;
}

/** Characters before the cursor compared on a lookup. */
const TAIL_CHARS = 256;

export class TypedAheadCache {
  private readonly documents = new Map<string, Entry[]>();

  constructor(
    private readonly perDocument = 8,
    private readonly maxDocuments = 32,
  ) {}

  /** `prefix` is the document's text from offset `prefixStart` to the cursor. */
  remember(documentKey: string, prefix: string, suggestion: string, prefixStart = 0): void {
    const end = prefixStart + prefix.length;
    const tail = prefix.slice(-TAIL_CHARS);
    const entries = (this.documents.get(documentKey) ?? []).filter((e) => e.end !== end || e.tail !== tail);
    entries.unshift({ end, tail, suggestion });
    entries.length = Math.min(entries.length, this.perDocument);
    this.documents.delete(documentKey);
    this.documents.set(documentKey, entries);
    while (this.documents.size > this.maxDocuments) this.documents.delete(this.documents.keys().next().value!);
  }

  /** The rest of a remembered suggestion when the text before the cursor is a remembered one plus a start of its suggestion. */
  lookup(documentKey: string, prefix: string, prefixStart = 0): string | undefined {
    const end = prefixStart + prefix.length;
    for (const entry of this.documents.get(documentKey) ?? []) {
      const at = entry.end - prefixStart;
      // The remembered cursor must lie within what was read, with its tail there too (or the note's start).
      if (end < entry.end || at < Math.min(entry.tail.length, entry.end)) continue;
      if (prefix.slice(at - entry.tail.length, at) !== entry.tail) continue;
      const typed = prefix.slice(at);
      if (typed.length < entry.suggestion.length && entry.suggestion.startsWith(typed)) return entry.suggestion.slice(typed.length);
    }
    return undefined;
  }

  forget(documentKey: string): void {
    this.documents.delete(documentKey);
  }
}
