/**
 * The phrases of a note a differential may quote. Generation is constrained to pick findings from this list
 * (a JSON-schema enum), so the model can only quote words the note has; the grounding matcher then checks
 * each quote and finds its exact range. Phrases are clauses of the history, exam and results: split at
 * sentence ends, semicolons, list items and long comma lists, folded to plain ASCII (the grammar bans
 * non-ASCII bytes; the matcher ignores the punctuation this changes). The note's own assessment and plan
 * are left out: the differential must rest on findings, not on a previous conclusion. Pure.
 */
import { findSections } from "../notes/noteSections";
import { foldChar, type NoteRange } from "./grounding";

export interface CandidatePhrase {
  /** The phrase as offered to the model: ASCII, no quotes or backslashes, single spaces. */
  text: string;
  /** The section it comes from ("HPI"), or "" before the first header. */
  section: string;
  range: NoteRange;
}

export interface NoteChunk {
  section: string;
  /** The section's text (header excluded). */
  text: string;
  range: NoteRange;
}

/** Sections whose content is a conclusion rather than a finding. */
const CONCLUSION_SECTIONS = /^(ASSESSMENT|PLAN|ASSESSMENT AND PLAN|A\/P|IMPRESSION|DIAGNOSIS|DIAGNOSES|DISCHARGE DIAGNOSES|DIFFERENTIAL)/;

export const MAX_PHRASE_CHARS = 90;
const MIN_PHRASE_LETTERS = 3;

/** Plain ASCII for the grammar: accents dropped, other characters become spaces. */
export function asciiFold(text: string): string {
  return [...text]
    .map(foldChar)
    .join("")
    .replace(/[^\x20-\x7e]/g, " ")
    .replace(/["\\]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** The note split into its sections (the text before the first header counts as one, named ""). */
export function noteChunks(note: string, options: { includeConclusions?: boolean } = {}): NoteChunk[] {
  const lines = note.split("\n");
  const lineStarts: number[] = [];
  let offset = 0;
  for (const line of lines) {
    lineStarts.push(offset);
    offset += line.length + 1;
  }
  const lineEnd = (line: number): number => lineStarts[line]! + lines[line]!.length;
  const sections = findSections(lines);
  const chunks: NoteChunk[] = [];
  const firstHeader = sections[0]?.line ?? lines.length;
  if (firstHeader > 0) chunks.push({ section: "", text: "", range: { start: 0, end: lineEnd(firstHeader - 1) } });
  for (const section of sections) {
    // "ASSESSMENT: Stable." keeps the text after the colon as part of the section.
    const header = lines[section.line]!;
    const colon = header.indexOf(":");
    const start = colon >= 0 && header.slice(colon + 1).trim() ? lineStarts[section.line]! + colon + 1 : lineEnd(section.line) + 1;
    const end = Math.max(start, lineEnd(section.endLine));
    chunks.push({ section: section.name, text: "", range: { start: Math.min(start, note.length), end: Math.min(end, note.length) } });
  }
  return chunks
    .map((c) => ({ ...c, text: note.slice(c.range.start, c.range.end) }))
    .filter((c) => c.text.trim().length > 0)
    .filter((c) => options.includeConclusions || !CONCLUSION_SECTIONS.test(c.section));
}

/**
 * Clause boundaries: sentence ends, semicolons, and line breaks that start a list item or a labelled line
 * ("Neck: ...") or follow punctuation. Other line breaks are soft wraps inside a sentence.
 */
const CLAUSE_BREAK = /(?<=[.!?])\s+(?=[A-Z0-9(])|;\s*|\s*\n\s*(?=[-*\u2022]\s|\d+[.)]\s|[A-Z][A-Za-z /]{0,30}:)|(?<=[.:!?])\s*\n\s*|\n\s*\n\s*/g;
const LIST_MARKER = /^(?:[-*\u2022]|\d+[.)])\s+/;

function splitLong(text: string, start: number, out: Array<{ text: string; start: number }>): void {
  if (text.length <= MAX_PHRASE_CHARS) {
    out.push({ text, start });
    return;
  }
  // Long clauses break at commas first, then at the last space that fits.
  const comma = text.lastIndexOf(",", MAX_PHRASE_CHARS);
  const space = text.lastIndexOf(" ", MAX_PHRASE_CHARS);
  const cut = comma > 20 ? comma : space > 20 ? space : MAX_PHRASE_CHARS;
  out.push({ text: text.slice(0, cut), start });
  const rest = text.slice(cut);
  const skipped = rest.length - rest.replace(/^[,\s]+/, "").length;
  splitLong(rest.slice(skipped), start + cut + skipped, out);
}

/** The quotable phrases of one chunk of the note, in note order, without duplicates. */
export function chunkPhrases(note: string, chunk: NoteChunk, seen = new Set<string>()): CandidatePhrase[] {
  const pieces: Array<{ text: string; start: number }> = [];
  let last = 0;
  const text = chunk.text;
  const push = (start: number, to: number): void => {
    let from = start;
    let raw = text.slice(from, to);
    const marker = LIST_MARKER.exec(raw.trimStart());
    if (marker) {
      const at = raw.length - raw.trimStart().length + marker[0].length;
      from += at;
      raw = raw.slice(at);
    }
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim().replace(/[.,:]+$/, "");
    if (trimmed) splitLong(trimmed, chunk.range.start + from + lead, pieces);
  };
  for (const match of text.matchAll(CLAUSE_BREAK)) {
    push(last, match.index);
    last = match.index + match[0].length;
  }
  push(last, text.length);
  const phrases: CandidatePhrase[] = [];
  for (const piece of pieces) {
    const folded = asciiFold(piece.text);
    if ((folded.match(/[A-Za-z]/g) ?? []).length < MIN_PHRASE_LETTERS) continue;
    // A line that is itself a header ("Vital signs:") says nothing on its own.
    const key = folded.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const end = piece.start + piece.text.length;
    phrases.push({ text: folded, section: chunk.section, range: { start: piece.start, end: Math.min(end, note.length) } });
  }
  return phrases;
}

/** Every quotable phrase of the note. Falls back to the conclusions when the note has nothing else. */
export function notePhrases(note: string): CandidatePhrase[] {
  const seen = new Set<string>();
  let chunks = noteChunks(note);
  if (chunks.length === 0) chunks = noteChunks(note, { includeConclusions: true });
  return chunks.flatMap((chunk) => chunkPhrases(note, chunk, seen));
}
