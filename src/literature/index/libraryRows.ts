/**
 * The records table of the library file: its schema, a row as SQLite returns it and as a record, how an
 * incoming record merges into the one already there, and the search filters (year, publication type)
 * applied to a row. Pure apart from the SQL text; no vscode.
 */
import type { LiteratureRecord, LiteratureSearchOptions } from "../library";
import type { SqlRow } from "./sqlDatabase";

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  pmid TEXT,
  doi TEXT,
  title TEXT NOT NULL,
  abstract TEXT NOT NULL,
  journal TEXT,
  year INTEGER,
  authors TEXT NOT NULL,
  pubtypes TEXT NOT NULL,
  origin TEXT
);
CREATE INDEX IF NOT EXISTS docs_pmid ON docs(pmid) WHERE pmid IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_doi ON docs(doi) WHERE doi IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_origin ON docs(origin) WHERE origin IS NOT NULL;
CREATE TABLE IF NOT EXISTS vectors (id INTEGER PRIMARY KEY, dim INTEGER NOT NULL, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export interface DocRow {
  id: number;
  key: string;
  pmid: string | null;
  doi: string | null;
  title: string;
  abstract: string;
  journal: string | null;
  year: number | null;
  authors: string;
  pubtypes: string;
  origin: string | null;
}

export const asDoc = (row: SqlRow): DocRow => row as unknown as DocRow;

export function toRecord(row: DocRow): LiteratureRecord {
  const record: LiteratureRecord = {
    key: row.key,
    title: row.title,
    abstract: row.abstract,
    authors: JSON.parse(row.authors) as string[],
    publicationTypes: JSON.parse(row.pubtypes) as string[],
  };
  if (row.pmid) record.pmid = row.pmid;
  if (row.doi) record.doi = row.doi;
  if (row.journal) record.journal = row.journal;
  if (row.year !== null) record.year = row.year;
  if (row.origin) record.origin = row.origin;
  return record;
}

/** Newer fields win, but an empty field never erases a known one; identifiers are kept from both. */
export function mergeRecords(old: LiteratureRecord, incoming: LiteratureRecord): LiteratureRecord {
  const merged: LiteratureRecord = {
    key: incoming.pmid || old.pmid ? `pmid:${incoming.pmid ?? old.pmid}` : incoming.key,
    title: incoming.title || old.title,
    abstract: incoming.abstract.length >= 40 || !old.abstract ? incoming.abstract || old.abstract : old.abstract,
    authors: incoming.authors.length ? incoming.authors : old.authors,
    publicationTypes: [...new Set([...old.publicationTypes, ...incoming.publicationTypes])],
  };
  const pmid = incoming.pmid ?? old.pmid;
  const doi = incoming.doi ?? old.doi;
  const journal = incoming.journal ?? old.journal;
  const year = incoming.year ?? old.year;
  const origin = incoming.origin ?? old.origin;
  if (pmid) merged.pmid = pmid;
  if (doi) merged.doi = doi;
  if (journal) merged.journal = journal;
  if (year !== undefined) merged.year = year;
  if (origin) merged.origin = origin;
  return merged;
}

/** Whether a row passes the search's year and publication-type filters. */
export function passesFilters(row: DocRow, options: LiteratureSearchOptions): boolean {
  if (options.yearFrom !== undefined && (row.year === null || row.year < options.yearFrom)) return false;
  if (options.yearTo !== undefined && (row.year === null || row.year > options.yearTo)) return false;
  if (options.publicationTypes?.length) {
    const types = (JSON.parse(row.pubtypes) as string[]).map((t) => t.toLowerCase());
    if (!options.publicationTypes.some((t) => types.includes(t.toLowerCase()))) return false;
  }
  return true;
}
