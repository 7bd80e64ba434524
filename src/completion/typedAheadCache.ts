/**
 * Keeps the last suggestions per document, so that typing the characters of a shown suggestion keeps showing
 * the rest without a new request. Bounded; pure.
 */
interface Entry {
  prefix: string;
  suggestion: string;
}

export class TypedAheadCache {
  private readonly documents = new Map<string, Entry[]>();

  constructor(
    private readonly perDocument = 8,
    private readonly maxDocuments = 32,
  ) {}

  remember(documentKey: string, prefix: string, suggestion: string): void {
    const entries = (this.documents.get(documentKey) ?? []).filter((e) => e.prefix !== prefix);
    entries.unshift({ prefix, suggestion });
    entries.length = Math.min(entries.length, this.perDocument);
    this.documents.delete(documentKey);
    this.documents.set(documentKey, entries);
    while (this.documents.size > this.maxDocuments) this.documents.delete(this.documents.keys().next().value!);
  }

  /** The rest of a remembered suggestion when `prefix` is a remembered prefix plus a start of its suggestion. */
  lookup(documentKey: string, prefix: string): string | undefined {
    for (const entry of this.documents.get(documentKey) ?? []) {
      if (prefix.length < entry.prefix.length || !prefix.startsWith(entry.prefix)) continue;
      const typed = prefix.slice(entry.prefix.length);
      if (typed.length < entry.suggestion.length && entry.suggestion.startsWith(typed)) return entry.suggestion.slice(typed.length);
    }
    return undefined;
  }

  forget(documentKey: string): void {
    this.documents.delete(documentKey);
  }
}
