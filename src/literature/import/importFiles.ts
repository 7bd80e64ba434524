/**
 * Files to records: recognises the format from the name and first bytes, streams the file (gunzipping
 * `.gz`), and walks folders of PDF, markdown and text. Node only (fs, zlib); no vscode.
 */
import { createReadStream, promises as fs } from "node:fs";
import { basename, extname, join } from "node:path";
import { createGunzip } from "node:zlib";
import type { LiteratureRecord } from "../library";
import { parseBeirJsonl, parseCslJson } from "./json";
import { parseBibtex } from "./bibtex";
import { parseMedline } from "./medline";
import { pdfToRecords } from "./pdfText";
import { parsePubmedXml } from "./pubmedXml";
import { ImportFormatError } from "./records";
import { parseRis } from "./ris";
import { textToRecords } from "./textDocument";

export type LiteratureFormat = "pubmed-xml" | "medline" | "ris" | "bibtex" | "csl-json" | "beir-jsonl" | "text" | "pdf";

export const IMPORTABLE_EXTENSIONS = [".xml", ".gz", ".nbib", ".medline", ".ris", ".bib", ".json", ".jsonl", ".md", ".markdown", ".txt", ".pdf"];

/** The format from the file name, and from its first characters when the name does not say. */
export function detectFormat(fileName: string, head: string): LiteratureFormat | undefined {
  const name = fileName.toLowerCase().replace(/\.gz$/, "");
  const start = head.replace(/^\uFEFF/, "").trimStart();
  if (name.endsWith(".pdf") || head.startsWith("%PDF-")) return "pdf";
  if (name.endsWith(".xml") || start.startsWith("<?xml") || start.startsWith("<!DOCTYPE PubmedArticleSet") || start.startsWith("<PubmedArticleSet")) return "pubmed-xml";
  if (name.endsWith(".nbib") || name.endsWith(".medline") || /^PMID- /.test(start)) return "medline";
  if (name.endsWith(".ris") || /^TY {2}- /.test(start)) return "ris";
  if (name.endsWith(".bib") || /^@[A-Za-z]+\s*[{(]/.test(start)) return "bibtex";
  if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return "beir-jsonl";
  if (name.endsWith(".json")) return "csl-json";
  if (name.endsWith(".md") || name.endsWith(".markdown") || name.endsWith(".txt")) return "text";
  return undefined;
}

async function* textChunks(path: string, signal?: AbortSignal): AsyncGenerator<string> {
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const stream = path.toLowerCase().endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  stream.setEncoding("utf8");
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      if (signal?.aborted) return;
      yield chunk;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "Z_DATA_ERROR") throw new ImportFormatError(`${basename(path)} is not a valid gzip file.`);
    throw error;
  } finally {
    raw.destroy();
  }
}

async function readHead(path: string): Promise<string> {
  for await (const chunk of textChunks(path)) return chunk.slice(0, 512);
  return "";
}

/** Records of one file, streamed. Throws ImportFormatError when the file is not in a format Bedside reads. */
export async function* readLiteratureFile(path: string, signal?: AbortSignal): AsyncGenerator<LiteratureRecord> {
  const format = detectFormat(basename(path), await readHead(path));
  switch (format) {
    case "pubmed-xml":
      return yield* parsePubmedXml(textChunks(path, signal), path);
    case "medline":
      return yield* parseMedline(textChunks(path, signal), path);
    case "ris":
      return yield* parseRis(textChunks(path, signal), path);
    case "bibtex":
      return yield* parseBibtex(textChunks(path, signal), path);
    case "csl-json":
      return yield* parseCslJson(textChunks(path, signal), path);
    case "beir-jsonl":
      return yield* parseBeirJsonl(textChunks(path, signal), path);
    case "text": {
      let text = "";
      for await (const chunk of textChunks(path, signal)) text += chunk;
      return yield* textToRecords(text, path, basename(path));
    }
    case "pdf":
      return yield* await pdfToRecords(path, signal);
    default:
      throw new ImportFormatError(`${basename(path)}: Bedside reads PubMed XML (.xml, .xml.gz), MEDLINE (.nbib), RIS, BibTeX, CSL-JSON, JSON Lines, PDF and markdown/text.`);
  }
}

/** Importable files under a folder (recursively), in a stable order. */
export async function listImportableFiles(folder: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (IMPORTABLE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) found.push(full);
    }
  };
  await walk(folder);
  return found;
}
