/**
 * RIS (Zotero, EndNote, Mendeley, PubMed "citation manager" exports): `TY  - ` opens a record,
 * `ER  - ` closes it. Streamed. Pure.
 */
import type { LiteratureRecord } from "../library";
import { ImportFormatError, lines, toRecord } from "./records";

const RIS_TYPES: Record<string, string> = {
  JOUR: "Journal Article",
  BOOK: "Book",
  CHAP: "Book Chapter",
  RPRT: "Report",
  CONF: "Conference Paper",
  GEN: "Generic",
  ELEC: "Web Page",
  THES: "Thesis",
};

function finish(fields: Map<string, string[]>, origin: string | undefined): LiteratureRecord | undefined {
  const first = (...tags: string[]): string | undefined => tags.map((t) => fields.get(t)?.[0]).find((v) => v);
  const urls = fields.get("UR") ?? [];
  const pubmedUrl = urls.map((u) => /pubmed(?:\.ncbi\.nlm\.nih\.gov\/|\/)(\d+)/.exec(u)?.[1]).find(Boolean);
  const an = first("AN", "C2");
  const type = first("TY");
  return toRecord({
    pmid: pubmedUrl ?? (an && /^\s*(?:PMID:\s*)?\d{1,9}\s*$/i.test(an) ? an : undefined),
    doi: first("DO", "DI") ?? urls.find((u) => u.includes("doi.org/")),
    title: first("TI", "T1", "CT", "BT"),
    abstract: (fields.get("AB") ?? fields.get("N2") ?? []).join(" "),
    journal: first("T2", "JO", "JF", "JA", "J2"),
    year: first("PY", "Y1", "DA"),
    authors: [...(fields.get("AU") ?? []), ...(fields.get("A1") ?? [])],
    publicationTypes: type ? [RIS_TYPES[type] ?? type] : [],
    origin,
  });
}

export async function* parseRis(chunks: AsyncIterable<string>, origin?: string): AsyncGenerator<LiteratureRecord> {
  let fields: Map<string, string[]> | undefined;
  let last: string | undefined;
  let sawRecord = false;
  let lineNumber = 0;
  for await (const raw of lines(chunks)) {
    lineNumber++;
    const line = raw.replace(/^\uFEFF/, "");
    const tagged = /^([A-Z][A-Z0-9]) {2}-(?: (.*))?$/.exec(line);
    if (!tagged) {
      if (fields && last && line.trim()) {
        const list = fields.get(last)!;
        list[list.length - 1] = `${list[list.length - 1]} ${line.trim()}`;
      } else if (!sawRecord && line.trim() && lineNumber > 5) {
        throw new ImportFormatError(`This is not RIS: line ${lineNumber} is not a "TY  - " record.`);
      }
      continue;
    }
    const [, tag, value = ""] = tagged;
    if (tag === "TY") {
      sawRecord = true;
      fields = new Map([["TY", [value.trim()]]]);
      last = "TY";
    } else if (tag === "ER") {
      if (fields) {
        const record = finish(fields, origin);
        if (record) yield record;
      }
      fields = undefined;
      last = undefined;
    } else if (fields) {
      const list = fields.get(tag) ?? [];
      list.push(value.trim());
      fields.set(tag, list);
      last = tag;
    }
  }
  if (fields) {
    const record = finish(fields, origin);
    if (record) yield record;
  }
  if (!sawRecord) throw new ImportFormatError('This is not RIS: no record starts with "TY  - ".');
}
