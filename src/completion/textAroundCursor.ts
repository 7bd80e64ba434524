/**
 * What a suggestion needs from the note around the cursor, read through a small line interface so that the
 * editor (a vscode.TextDocument, in noteCompletionProvider.ts) and the benchmarks (a string) take the same
 * path. Pure: no vscode.
 */
import { budgetCharsFor, findHeaderAbove, prefixReadStart, type SectionHeaderLine } from "./contextWindow";

export interface TextAroundCursor {
  prefix: string;
  prefixStart: number;
  header?: SectionHeaderLine;
  suffix: string;
}

/** The few things read from a document; `getText` takes offsets. */
export interface LineReader {
  readonly lineCount: number;
  positionAt(offset: number): { line: number; character: number };
  offsetAt(position: { line: number; character: number }): number;
  lineText(line: number): string;
  getText(start: number, end: number): string;
}

/** Lines after the cursor read for fill-in-the-middle (the pure side keeps those of the current section). */
const SUFFIX_LINES = 40;

/**
 * Reads only what the context window can use: from the line start before `prefixReadStart` to the cursor, a
 * few lines after it, and the section header above. A 200,000-line note costs what the window holds; the
 * whole text is never copied on a keystroke.
 */
export function textAroundCursor(document: LineReader, offset: number, budgetTokens: number): TextAroundCursor {
  const position = document.positionAt(offset);
  const readFrom = document.positionAt(prefixReadStart(offset, budgetTokens));
  // From the start of that line, unless the line itself is huge (then from the offset: no line start to keep).
  const start = readFrom.character > 4 * budgetCharsFor(budgetTokens) ? readFrom : { line: readFrom.line, character: 0 };
  const prefixStart = document.offsetAt(start);
  const prefix = document.getText(prefixStart, offset);
  const endLine = Math.min(document.lineCount - 1, position.line + SUFFIX_LINES);
  const endOffset = document.offsetAt({ line: endLine, character: document.lineText(endLine).length });
  const suffix = document.getText(offset, endOffset).slice(0, 4 * budgetCharsFor(budgetTokens));
  const around: TextAroundCursor = { prefix, prefixStart, suffix };
  if (start.line > 0) {
    const found = findHeaderAbove((line) => document.lineText(line), start.line - 1);
    if (found) around.header = { text: found.text, offset: document.offsetAt({ line: found.line, character: 0 }) };
  }
  return around;
}

/** A LineReader over a string (benchmarks and tests; "\n" and "\r\n" line ends). */
export function stringLineReader(text: string): LineReader {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  const lineEnd = (line: number): number => {
    const next = line + 1 < starts.length ? starts[line + 1]! - 1 : text.length;
    return next > starts[line]! && text[next - 1] === "\r" ? next - 1 : next;
  };
  return {
    lineCount: starts.length,
    positionAt(offset) {
      const at = Math.max(0, Math.min(offset, text.length));
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (starts[mid]! <= at) lo = mid;
        else hi = mid - 1;
      }
      return { line: lo, character: at - starts[lo]! };
    },
    offsetAt({ line, character }) {
      const l = Math.max(0, Math.min(line, starts.length - 1));
      return Math.min(starts[l]! + character, lineEnd(l));
    },
    lineText: (line) => text.slice(starts[line]!, lineEnd(line)),
    getText: (start, end) => text.slice(start, end),
  };
}
