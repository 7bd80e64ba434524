/**
 * What every importer shares: the controlled error they throw on input they cannot read, and the
 * normalising of identifiers, years and text into a LiteratureRecord. Pure.
 */
import { createHash } from "node:crypto";
import type { LiteratureRecord } from "../library";

/** The only error an importer throws: the file is not what its format says. Carries where, for the user. */
export class ImportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportFormatError";
  }
}

export interface RawRecord {
  pmid?: string;
  doi?: string;
  title?: string;
  abstract?: string;
  journal?: string;
  year?: number | string;
  authors?: string[];
  publicationTypes?: string[];
  origin?: string;
}

export function cleanText(text: string | undefined): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

export function normalisePmid(value: string | undefined): string | undefined {
  const match = /^\s*(?:pmid:\s*)?(\d{1,9})\s*$/i.exec(value ?? "");
  return match ? String(Number(match[1])) : undefined;
}

export function normaliseDoi(value: string | undefined): string | undefined {
  const match = /(10\.\d{4,9}\/\S+)/.exec(value ?? "");
  return match ? match[1].replace(/[.,;]+$/, "").toLowerCase() : undefined;
}

export function parseYear(value: number | string | undefined): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 1000 && value < 3000 ? value : undefined;
  const match = /\b(1[5-9]\d\d|2\d\d\d)\b/.exec(value ?? "");
  return match ? Number(match[1]) : undefined;
}

/** A record with a stable key: PMID, else DOI, else a hash of title and origin. Undefined when it has no text at all. */
export function toRecord(raw: RawRecord): LiteratureRecord | undefined {
  const title = cleanText(raw.title);
  const abstract = cleanText(raw.abstract);
  if (!title && !abstract) return undefined;
  const pmid = normalisePmid(raw.pmid);
  const doi = normaliseDoi(raw.doi);
  const key = pmid
    ? `pmid:${pmid}`
    : doi
      ? `doi:${doi}`
      : `ref:${createHash("sha256")
          .update(`${raw.origin ?? ""}\n${title}\n${abstract.slice(0, 200)}`)
          .digest("hex")
          .slice(0, 16)}`;
  const record: LiteratureRecord = {
    key,
    title,
    abstract,
    authors: (raw.authors ?? []).map(cleanText).filter(Boolean),
    publicationTypes: (raw.publicationTypes ?? []).map(cleanText).filter(Boolean),
  };
  if (pmid) record.pmid = pmid;
  if (doi) record.doi = doi;
  const journal = cleanText(raw.journal);
  if (journal) record.journal = journal;
  const year = parseYear(raw.year);
  if (year !== undefined) record.year = year;
  if (raw.origin) record.origin = raw.origin;
  return record;
}

/** Splits a stream of text chunks into lines (without their endings). */
export async function* lines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of chunks) {
    rest += chunk;
    const parts = rest.split(/\r?\n/);
    rest = parts.pop() ?? "";
    for (const part of parts) yield part;
  }
  if (rest) yield rest;
}
