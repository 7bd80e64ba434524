/**
 * Guidelines and notes as markdown or plain text: one record per section of at most ~2,000
 * characters (split at headings, then paragraphs), so a long guideline is cited by the part that
 * answers. Pure.
 */
import { createHash } from "node:crypto";
import type { LiteratureRecord } from "../library";
import { cleanText, parseYear } from "./records";

const MAX_SECTION = 2000;

export interface TextDocumentOptions {
  /** The document's title when the file says it elsewhere (a PDF's metadata); else its first heading or line. */
  title?: string;
}

/** A paragraph longer than a section, cut at sentence ends (or, for one endless sentence, anywhere). */
function splitLongBlock(block: string): string[] {
  if (block.length <= MAX_SECTION) return [block];
  const pieces: string[] = [];
  let piece = "";
  for (const sentence of block.match(/[^.!?]*[.!?]+["')\]]*\s*|[^.!?]+$/g) ?? [block]) {
    if (piece && piece.length + sentence.length > MAX_SECTION) {
      pieces.push(piece);
      piece = "";
    }
    piece += sentence;
    while (piece.length > MAX_SECTION) {
      pieces.push(piece.slice(0, MAX_SECTION));
      piece = piece.slice(MAX_SECTION);
    }
  }
  if (piece.trim()) pieces.push(piece);
  return pieces;
}

export function textToRecords(text: string, origin: string, fileName: string, options: TextDocumentOptions = {}): LiteratureRecord[] {
  const body = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const heading = /^#\s+(.+)$/m.exec(body)?.[1];
  const firstLine = body
    .split("\n")
    .find((l) => l.trim())
    ?.trim();
  const docTitle = cleanText(options.title ?? heading ?? (firstLine && firstLine.length <= 200 ? firstLine : fileName.replace(/\.[^.]+$/, "")));
  const year = parseYear(/\b(?:19|20)\d\d\b/.exec(body.slice(0, 2000))?.[0]);
  // Sections: split at markdown headings; long sections at paragraph breaks.
  const sections: Array<{ title: string; text: string }> = [];
  let current = { title: docTitle, text: "" };
  for (const block of body.split(/\n{2,}/).flatMap(splitLongBlock)) {
    const h = /^#{1,6}\s+(.+)$/.exec(block.trim());
    if (h && current.text.trim()) {
      sections.push(current);
      current = { title: cleanText(h[1]) === docTitle ? docTitle : `${docTitle} — ${cleanText(h[1])}`, text: "" };
      const rest = block.trim().split("\n").slice(1).join("\n");
      if (rest) current.text = rest;
      continue;
    }
    if (h) {
      const title = cleanText(h[1]);
      current.title = title === docTitle ? docTitle : `${docTitle} — ${title}`;
      const rest = block.trim().split("\n").slice(1).join("\n");
      if (rest) current.text += `${rest}\n\n`;
      continue;
    }
    if (current.text.length + block.length > MAX_SECTION && current.text.trim()) {
      sections.push(current);
      current = { title: current.title, text: "" };
    }
    current.text += `${block}\n\n`;
  }
  if (current.text.trim()) sections.push(current);
  const hash = createHash("sha256").update(origin).digest("hex").slice(0, 12);
  return sections
    .map((section, index): LiteratureRecord => {
      const record: LiteratureRecord = {
        key: `file:${hash}:${index}`,
        title: section.title,
        abstract: cleanText(section.text.replace(/^#+\s*/gm, "").replace(/[*_`>]/g, "")).slice(0, MAX_SECTION * 2),
        authors: [],
        publicationTypes: ["Guideline"],
        origin,
      };
      if (year !== undefined) record.year = year;
      return record;
    })
    .filter((r) => r.abstract.length > 0);
}
