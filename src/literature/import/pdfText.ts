/**
 * PDF guidelines and articles: the text layer, read with pdf.js (pdfjs-dist, see pdfjsBundle.ts), laid out
 * into lines and paragraphs from the glyphs' positions, then split into sections as markdown and text
 * files are (textDocument.ts). The title is the PDF's own Title when it is a real one, else the first
 * line. Node only; no vscode.
 */
import { promises as fs } from "node:fs";
import { basename } from "node:path";
import type { LiteratureRecord } from "../library";
import { ImportFormatError, cleanText } from "./records";
import { textToRecords } from "./textDocument";

/** Larger PDFs are refused with a message rather than read into memory. */
export const MAX_PDF_BYTES = 200 * 1024 * 1024;

export interface PdfText {
  /** The Title from the PDF's Info dictionary, when it looks like a title (not "Microsoft Word - x.docx"). */
  title?: string;
  /** Each page's text: paragraphs separated by blank lines. */
  pages: string[];
}

interface PositionedItem {
  str: string;
  transform: number[];
  height: number;
  hasEOL: boolean;
}

interface Line {
  text: string;
  y: number;
  height: number;
}

/** A metadata Title worth showing: not empty, not a file name or a word processor's placeholder. */
export function usableTitle(title: unknown): string | undefined {
  if (typeof title !== "string") return undefined;
  const t = cleanText(title);
  if (t.length < 3 || t.length > 300) return undefined;
  if (/^(untitled|document\d*|microsoft (word|powerpoint) - .*|slide \d+)$/i.test(t) || /\.(docx?|pdf|tex|indd|rtf|pptx?|odt)$/i.test(t)) return undefined;
  return t;
}

/** Lines from pdf.js text items: an item ends a line at hasEOL or when the next one sits on another baseline. */
export function itemsToLines(items: readonly PositionedItem[]): Line[] {
  const lines: Line[] = [];
  let current: Line | undefined;
  for (const item of items) {
    const y = item.transform[5] ?? 0;
    const height = Math.abs(item.height) || Math.abs(item.transform[3] ?? 0) || 10;
    if (current && Math.abs(current.y - y) > height / 2 && current.text.trim()) {
      lines.push(current);
      current = undefined;
    }
    current ??= { text: "", y, height };
    current.text += item.str;
    if (item.hasEOL) {
      if (current.text.trim()) lines.push(current);
      current = undefined;
    }
  }
  if (current?.text.trim()) lines.push(current);
  return lines.map((l) => ({ ...l, text: cleanText(l.text) })).filter((l) => l.text);
}

/** Paragraphs: a gap between baselines well over the usual line spacing (or a jump up: a new column) starts one. */
export function linesToParagraphs(lines: readonly Line[]): string {
  const gaps = lines
    .slice(1)
    .map((l, i) => lines[i]!.y - l.y)
    .filter((g) => g > 0)
    .sort((a, b) => a - b);
  const spacing = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0;
  const paragraphs: string[] = [];
  let paragraph = "";
  lines.forEach((line, i) => {
    const gap = i === 0 ? 0 : lines[i - 1]!.y - line.y;
    if (i > 0 && (gap <= 0 || (spacing > 0 && gap > spacing * 1.5) || gap > line.height * 2.5)) {
      paragraphs.push(paragraph);
      paragraph = "";
    }
    // A word broken at the end of a line ("treat-" / "ment") keeps its hyphen but no space.
    paragraph += paragraph && !/[A-Za-z]-$/.test(paragraph) ? ` ${line.text}` : line.text;
  });
  if (paragraph) paragraphs.push(paragraph);
  return paragraphs.join("\n\n");
}

function isPositioned(item: unknown): item is PositionedItem {
  return typeof item === "object" && item !== null && typeof (item as { str?: unknown }).str === "string" && Array.isArray((item as { transform?: unknown }).transform);
}

/** The text of a PDF. Throws ImportFormatError for a file that is not a readable PDF (corrupt, encrypted). */
export async function extractPdfText(data: Uint8Array, name: string, signal?: AbortSignal): Promise<PdfText> {
  const { getDocument, VerbosityLevel } = await import("./pdfjsBundle");
  const task = getDocument({ data, disableFontFace: true, useSystemFonts: false, stopAtErrors: false, verbosity: VerbosityLevel.ERRORS });
  try {
    const doc = await task.promise.catch((error: unknown) => {
      const e = error as { name?: string; message?: string };
      if (e.name === "PasswordException") throw new ImportFormatError(`${name} is password-protected; Bedside cannot read it.`);
      throw new ImportFormatError(`${name} is not a readable PDF (${e.message ?? String(error)}).`);
    });
    const meta = await doc.getMetadata().catch(() => undefined);
    const pages: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      if (signal?.aborted) break;
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const items: PositionedItem[] = [];
      for (const item of content.items as unknown[]) if (isPositioned(item)) items.push(item);
      pages.push(linesToParagraphs(itemsToLines(items)));
      page.cleanup();
      // pdf.js works in promise callbacks on this thread (the extension host's): let the editor's other
      // work run between pages, so a long PDF holds it for a page at a time, not the whole document.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const title = usableTitle((meta?.info as { Title?: unknown } | undefined)?.Title);
    return title ? { title, pages } : { pages };
  } finally {
    await task.destroy();
  }
}

/** Records of a PDF file, one per section, keyed and titled as text files are. */
export async function pdfToRecords(path: string, signal?: AbortSignal): Promise<LiteratureRecord[]> {
  const name = basename(path);
  const stat = await fs.stat(path);
  if (stat.size > MAX_PDF_BYTES) throw new ImportFormatError(`${name} is ${Math.round(stat.size / 1024 / 1024)} MB; Bedside reads PDFs up to ${MAX_PDF_BYTES / 1024 / 1024} MB.`);
  const pdf = await extractPdfText(new Uint8Array(await fs.readFile(path)), name, signal);
  const text = pdf.pages.filter((p) => p.trim()).join("\n\n");
  if (!text.trim()) throw new ImportFormatError(`${name} has no text layer (a scan?); run it through OCR first.`);
  return textToRecords(text, path, name, pdf.title ? { title: pdf.title } : {});
}
