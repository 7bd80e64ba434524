/**
 * BibTeX (Zotero, JabRef, EndNote exports). A small brace-aware reader: entries are read one at a
 * time, a broken entry is skipped (counted) and the rest still imported; LaTeX markup in values is
 * reduced to plain text. (Library parsers were tried: citation-js drops `abstract` and `pmid`, and
 * @retorquere/bibtex-parser's CommonJS build does not load.) Pure.
 */
import type { LiteratureRecord } from "../library";
import { ImportFormatError, toRecord } from "./records";

export interface BibtexEntry {
  type: string;
  key: string;
  fields: Record<string, string>;
}

const ACCENTS: Record<string, string> = {
  "'": "\u0301",
  "`": "\u0300",
  "^": "\u0302",
  '"': "\u0308",
  "~": "\u0303",
  "=": "\u0304",
  ".": "\u0307",
  u: "\u0306",
  v: "\u030C",
  c: "\u0327",
  H: "\u030B",
};

/** LaTeX to plain text: accents composed, commands dropped (keeping their argument), braces removed. */
export function latexToText(value: string): string {
  return (
    value
      // A letter-named accent (\u, \v, \c, \H) is a one-letter command: "\url{...}" is no \u on "r".
      .replace(/\\([`'^"~=.]|[uvcH](?![A-Za-z]))\s*\{?\s*([A-Za-z])\}?/g, (_, accent: string, letter: string) => `${letter}${ACCENTS[accent] ?? ""}`.normalize("NFC"))
      .replace(/\\(?:textit|textbf|emph|textsc|textrm|mathrm|text|url)\s*\{/g, "{")
      .replace(/\\([%&$#_{}])/g, "$1")
      .replace(/\\[a-zA-Z]+\s*/g, "")
      .replace(/[{}]/g, "")
      .replace(/~/g, " ")
      .replace(/--/g, "–")
      .replace(/\s+/g, " ")
      .trim()
  );
}

/** Reads entries from BibTeX text; `skipped` counts entries that could not be read. */
export function readBibtex(text: string): { entries: BibtexEntry[]; skipped: number } {
  const entries: BibtexEntry[] = [];
  let skipped = 0;
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  /** A {...} or "..." value (nested braces), or a bare word; i is left after it. */
  const readValue = (): string | undefined => {
    skipSpace();
    const open = text[i];
    if (open === "{" || open === '"') {
      const close = open === "{" ? "}" : '"';
      let depth = 0;
      const start = ++i;
      while (i < n) {
        const c = text[i];
        if (c === "\\") i++;
        else if (c === "{") depth++;
        else if (c === "}" && depth > 0) depth--;
        else if (c === close && depth === 0) break;
        else if (c === "}" && depth === 0) return undefined;
        i++;
      }
      if (i >= n) return undefined;
      return text.slice(start, i++);
    }
    const bare = /^[^\s,}#)]+/.exec(text.slice(i, i + 200));
    if (!bare) return undefined;
    i += bare[0].length;
    return bare[0];
  };
  while (i < n) {
    const at = text.indexOf("@", i);
    if (at < 0) break;
    i = at + 1;
    const head = /^([A-Za-z]+)\s*([{(])/.exec(text.slice(i, i + 40));
    if (!head) continue;
    const type = head[1].toLowerCase();
    i += head[0].length;
    if (type === "comment" || type === "preamble" || type === "string") continue;
    const keyMatch = /^\s*([^,\s}]*)\s*,/.exec(text.slice(i, i + 300));
    if (!keyMatch) {
      skipped++;
      continue;
    }
    i += keyMatch[0].length;
    const fields: Record<string, string> = {};
    let ok = true;
    for (;;) {
      skipSpace();
      if (text[i] === "}" || text[i] === ")") {
        i++;
        break;
      }
      const name = /^([A-Za-z][\w:.-]*)\s*=/.exec(text.slice(i, i + 100));
      if (!name) {
        ok = false;
        break;
      }
      i += name[0].length;
      const parts: string[] = [];
      for (;;) {
        const value = readValue();
        if (value === undefined) break;
        parts.push(value);
        skipSpace();
        if (text[i] === "#") {
          i++;
          continue;
        }
        break;
      }
      if (parts.length === 0) {
        ok = false;
        break;
      }
      fields[name[1].toLowerCase()] = parts.join("");
      skipSpace();
      if (text[i] === ",") i++;
    }
    if (ok) entries.push({ type, key: keyMatch[1], fields });
    else skipped++;
  }
  return { entries, skipped };
}

const TYPES: Record<string, string> = {
  article: "Journal Article",
  book: "Book",
  inbook: "Book Chapter",
  incollection: "Book Chapter",
  inproceedings: "Conference Paper",
  techreport: "Report",
  phdthesis: "Thesis",
  mastersthesis: "Thesis",
  misc: "Generic",
  online: "Web Page",
};

export function bibtexToRecord(entry: BibtexEntry, origin?: string): LiteratureRecord | undefined {
  const f = (name: string): string | undefined => (entry.fields[name] !== undefined ? latexToText(entry.fields[name]) : undefined);
  const pmid = f("pmid") ?? (f("eprinttype")?.toLowerCase() === "pubmed" ? f("eprint") : undefined);
  return toRecord({
    pmid,
    doi: f("doi"),
    title: f("title"),
    abstract: f("abstract"),
    journal: f("journal") ?? f("journaltitle") ?? f("booktitle"),
    year: f("year") ?? f("date"),
    authors: (entry.fields.author ?? "")
      .split(/\s+and\s+/i)
      .map(latexToText)
      .filter(Boolean),
    publicationTypes: [TYPES[entry.type] ?? entry.type],
    origin,
  });
}

export async function* parseBibtex(chunks: AsyncIterable<string>, origin?: string): AsyncGenerator<LiteratureRecord> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  const { entries } = readBibtex(text);
  if (entries.length === 0 && /\S/.test(text)) throw new ImportFormatError("No BibTeX entry could be read (entries start with @article{key, ...).");
  for (const entry of entries) {
    const record = bibtexToRecord(entry, origin);
    if (record) yield record;
  }
}
