/**
 * MEDLINE text (.nbib, .medline, .txt): PubMed's "Save as PubMed format". Lines `TAG - value`, with
 * continuation lines indented by six spaces; records separated by blank lines. Streamed. Pure.
 */
import type { LiteratureRecord } from "../library";
import { ImportFormatError, lines, toRecord } from "./records";

type Fields = Map<string, string[]>;

function finish(fields: Fields, origin: string | undefined): LiteratureRecord | undefined {
  const one = (tag: string): string | undefined => fields.get(tag)?.[0];
  // Stryker disable next-line ArrayDeclaration: an id that is not marked [doi] is never taken
  const ids = [...(fields.get("LID") ?? []), ...(fields.get("AID") ?? [])];
  const doi = ids.find((id) => /\[doi\]/i.test(id))?.replace(/\s*\[doi\]\s*$/i, "");
  return toRecord({
    pmid: one("PMID"),
    doi,
    title: one("TI") ?? one("BTI"),
    abstract: (fields.get("AB") ?? []).join(" "),
    journal: one("JT") ?? one("TA"),
    year: one("DP") ?? one("DEP"),
    authors: fields.get("AU") ?? fields.get("FAU") ?? [],
    publicationTypes: fields.get("PT") ?? [],
    origin,
  });
}

export async function* parseMedline(chunks: AsyncIterable<string>, origin?: string): AsyncGenerator<LiteratureRecord> {
  let fields: Fields = new Map();
  let last: { tag: string; index: number } | undefined;
  let sawTag = false;
  let lineNumber = 0;
  for await (const line of lines(chunks)) {
    lineNumber++;
    // Stryker disable next-line Regex: ".*" runs to the end of the line with or without "$"
    const tagged = /^([A-Z0-9]{2,4})\s*- ?(.*)$/.exec(line);
    if (tagged) {
      const [, tag, value] = tagged;
      // Stryker disable next-line ConditionalExpression,EqualityOperator: finishing no fields makes no record (toRecord needs text)
      if (tag === "PMID" && fields.size > 0) {
        const record = finish(fields, origin);
        if (record) yield record;
        fields = new Map();
      }
      sawTag = true;
      const list = fields.get(tag) ?? [];
      // Stryker disable next-line MethodExpression: toRecord and the identifier readers trim and collapse whitespace
      list.push(value.trim());
      fields.set(tag, list);
      last = { tag, index: list.length - 1 };
    } else if (/^\s+\S/.test(line) && last) {
      const list = fields.get(last.tag)!;
      // Stryker disable next-line MethodExpression: as above
      list[last.index] = `${list[last.index]} ${line.trim()}`;
    } else if (line.trim() === "") {
      if (fields.size > 0) {
        const record = finish(fields, origin);
        if (record) yield record;
        fields = new Map();
      }
      last = undefined;
    } else if (!sawTag && lineNumber > 5) {
      throw new ImportFormatError(`This is not MEDLINE/PubMed format: line ${lineNumber} has no "TAG - " field.`);
    }
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: finishing no fields makes no record
  if (fields.size > 0) {
    const record = finish(fields, origin);
    if (record) yield record;
  }
  if (!sawTag) throw new ImportFormatError('This is not MEDLINE/PubMed format: no line starts with a field tag such as "PMID- ".');
}
