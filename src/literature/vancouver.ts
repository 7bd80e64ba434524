/**
 * Vancouver (ICMJE/NLM) citations: "Smith J, Doe A, Roe B, et al. Title. Journal. 2001. PMID: 123." Pure.
 */
import type { LiteratureRecord } from "./library";

export function vancouverCitation(record: Pick<LiteratureRecord, "authors" | "title" | "journal" | "year" | "pmid" | "doi">): string {
  const authors = record.authors.length > 6 ? `${record.authors.slice(0, 6).join(", ")}, et al` : record.authors.join(", ");
  const title = record.title.replace(/[.\s]+$/, "");
  const parts = [
    authors ? `${authors}.` : "",
    title ? `${title}.` : "",
    record.journal ? `${record.journal.replace(/[.\s]+$/, "")}.` : "",
    record.year ? `${record.year}.` : "",
    record.doi ? `doi:${record.doi}.` : "",
    record.pmid ? `PMID: ${record.pmid}.` : "",
  ];
  return parts.filter(Boolean).join(" ");
}
