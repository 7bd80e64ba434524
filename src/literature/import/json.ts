/**
 * CSL-JSON (Zotero "Export → CSL JSON", citation managers) and BEIR-style JSONL corpora
 * (`{"_id", "title", "text"}` per line). Pure.
 */
import type { LiteratureRecord } from "../library";
import { ImportFormatError, lines, toRecord } from "./records";

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined);

const CSL_TYPES: Record<string, string> = {
  "article-journal": "Journal Article",
  book: "Book",
  chapter: "Book Chapter",
  report: "Report",
  "paper-conference": "Conference Paper",
  webpage: "Web Page",
  thesis: "Thesis",
};

export function cslToRecord(item: unknown, origin?: string): LiteratureRecord | undefined {
  if (!isObject(item)) return undefined;
  const issued = isObject(item.issued) ? item.issued : undefined;
  const parts = issued && Array.isArray(issued["date-parts"]) && Array.isArray(issued["date-parts"][0]) ? (issued["date-parts"][0] as unknown[]) : [];
  const authors = Array.isArray(item.author)
    ? item.author.filter(isObject).map((a) => [str(a.family), str(a.given)?.replace(/[^A-Z]/g, "")].filter(Boolean).join(" ") || str(a.literal) || "")
    : [];
  const type = str(item.type);
  return toRecord({
    pmid: str(item.PMID) ?? str(item.pmid),
    doi: str(item.DOI) ?? str(item.doi),
    title: str(item.title),
    abstract: str(item.abstract),
    journal: str(item["container-title"]),
    year: str(parts[0]) ?? str(issued?.raw) ?? str(issued?.literal),
    authors,
    publicationTypes: type ? [CSL_TYPES[type] ?? type] : [],
    origin,
  });
}

export async function* parseCslJson(chunks: AsyncIterable<string>, origin?: string): AsyncGenerator<LiteratureRecord> {
  let text = "";
  for await (const chunk of chunks) text += chunk;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new ImportFormatError(`This is not CSL-JSON: ${(error as Error).message}`);
  }
  const items = Array.isArray(parsed) ? parsed : isObject(parsed) && Array.isArray(parsed.items) ? parsed.items : isObject(parsed) ? [parsed] : undefined;
  if (!items) throw new ImportFormatError("This is not CSL-JSON: expected an array of items.");
  for (const item of items) {
    const record = cslToRecord(item, origin);
    if (record) yield record;
  }
}

export interface BeirOptions {
  /** Treat numeric `_id` values as PMIDs (PubMed-derived corpora such as PubMedQA). Default true. */
  idsArePmids?: boolean;
}

export async function* parseBeirJsonl(chunks: AsyncIterable<string>, origin?: string, options: BeirOptions = {}): AsyncGenerator<LiteratureRecord> {
  let lineNumber = 0;
  let bad = 0;
  let good = 0;
  for await (const line of lines(chunks)) {
    lineNumber++;
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      bad++;
      if (good === 0 && bad >= 3) throw new ImportFormatError(`This is not JSON Lines: line ${lineNumber} is not JSON.`);
      continue;
    }
    if (!isObject(row)) continue;
    const id = str(row._id) ?? str(row.id);
    const metadata = isObject(row.metadata) ? row.metadata : {};
    const pmid = str(metadata.pmid) ?? (options.idsArePmids !== false && id && /^\d{1,9}$/.test(id) ? id : undefined);
    const record = toRecord({
      pmid,
      doi: str(metadata.doi) ?? str(row.doi),
      title: str(row.title),
      abstract: str(row.text) ?? str(row.abstract),
      journal: str(metadata.journal) ?? str(row.journal),
      year: str(metadata.year) ?? str(row.year),
      publicationTypes: [],
      origin,
    });
    if (record) {
      if (!pmid && id) record.key = `beir:${id}`;
      good++;
      yield record;
    }
  }
}
