/**
 * What the model sees for one suggestion: the text before the cursor within a token budget, the text after
 * it when fill-in-the-middle helps, and the current section. Only the current document: other notes may be
 * other patients'. Pure: no vscode, no engine.
 *
 * The window's start is anchored: it moves forward only in jumps of half the budget, and always to a line
 * start. So while the clinician types, each prompt extends the previous one and the engine's completion lane
 * evaluates only the new tokens (a sliding window would change the first token each time and re-evaluate all).
 */
import { isListItem, isSectionHeader, sectionAt, sectionHeaderName } from "../notes/noteSections";

/** A header line kept in front of the window is kept whole up to this length, else by its name alone. */
const MAX_HEADER_CHARS = 80;

/** A conservative characters-per-token for English clinical text with a Llama tokenizer. */
export const CHARS_PER_TOKEN = 3;

export interface ContextInput {
  /**
   * The text before the cursor, from offset `prefixStart` of the document (a line start) to the cursor. The
   * editor reads only what the window can use (see `prefixReadStart`), never the whole of a long note.
   */
  prefix: string;
  /** Document offset where `prefix` starts; 0 when it is the whole text before the cursor. */
  prefixStart?: number;
  /** The current section's header when it lies before `prefixStart` (see `findHeaderAbove`). */
  header?: SectionHeaderLine;
  /** Text after the cursor; only its first few lines matter. */
  suffix: string;
  /** Tokens the prefix part may use. */
  budgetTokens: number;
  infillSupported: boolean;
}

/** A section header line and the document offset where it starts. */
export interface SectionHeaderLine {
  text: string;
  offset: number;
}

export interface CompletionContext {
  mode: "continue" | "infill";
  /** The prompt (continuation) or the infill prefix. */
  prompt: string;
  /** Infill only: the text after the cursor, trimmed to a budget. */
  suffix: string;
  /** Document offset where the window starts. */
  windowStart: number;
  section: string | undefined;
  /** The cursor's line is a list item, so a multi-line (list) suggestion is allowed. */
  inList: boolean;
  linePrefix: string;
  lineSuffix: string;
}

/**
 * The prompt window's token budget: the bedside.completion.contextTokens setting, but never more than the
 * model's context can hold. A prompt that does not fit is cut at its start by node-llama-cpp on every
 * request (a moving start: the completion lane's KV cache is never reused) and the reply then shifts the
 * context. The window is estimated in characters (CHARS_PER_TOKEN) and can hold up to 1.25 budgets (the
 * prefix plus a quarter budget of suffix for fill-in-the-middle), so of the context minus the reply
 * (`maxTokens`) and node-llama-cpp's context-shift reserve (a tenth), 70% goes to the window. Meditron's
 * 2,048-token context leaves the 384-token default untouched; a 384-token model gets 224.
 */
export function promptWindowTokens(settingTokens: number, modelContextTokens: number | undefined, maxTokens: number): number {
  if (modelContextTokens === undefined || modelContextTokens <= 0) return settingTokens;
  const room = modelContextTokens - Math.ceil(modelContextTokens / 10) - maxTokens;
  return Math.max(32, Math.min(settingTokens, Math.floor(room * 0.7)));
}

/** Characters of the budget for a token budget. */
export function budgetCharsFor(budgetTokens: number): number {
  return Math.max(64, Math.floor(budgetTokens * CHARS_PER_TOKEN));
}

/**
 * Start of the prompt window, as a document offset: stable while the text before the cursor grows, jumping
 * by half the budget. `prefix` starts at document offset `prefixStart` and must reach back to
 * `prefixReadStart(...)` or to a line start before it.
 */
export function anchoredWindowStart(prefix: string, budgetChars: number, prefixStart = 0): number {
  const length = prefixStart + prefix.length;
  if (length <= budgetChars) return 0;
  const step = Math.max(1, Math.floor(budgetChars / 2));
  const target = Math.ceil((length - budgetChars) / step) * step;
  const lineStart = prefix.indexOf("\n", Math.max(0, target - 1 - prefixStart));
  // A line start inside the window keeps the prompt readable; a giant line falls back to the grid point.
  return lineStart >= 0 && prefixStart + lineStart + 1 < length - step / 2 ? prefixStart + lineStart + 1 : target;
}

/**
 * The first document offset the window can need for a cursor at `cursorOffset`: the editor reads from the
 * start of this offset's line, so a 200,000-line note costs what the window holds, not the whole note.
 */
export function prefixReadStart(cursorOffset: number, budgetTokens: number): number {
  return Math.max(0, cursorOffset - budgetCharsFor(budgetTokens) - 2);
}

/**
 * The header of the section line `fromLine` belongs to, looking up at most `maxLines` lines (a note with no
 * header for that long has no section worth naming).
 */
export function findHeaderAbove(lineAt: (line: number) => string, fromLine: number, maxLines = 5_000): { line: number; text: string } | undefined {
  for (let line = fromLine; line >= 0 && fromLine - line < maxLines; line--) {
    const text = lineAt(line);
    if (isSectionHeader(text)) return { line, text };
  }
  return undefined;
}

/** Non-whitespace text after the cursor in the rest of its section: then fill-in-the-middle is worth it. */
function meaningfulSuffix(suffix: string, budgetChars: number): string {
  const lines = suffix.split("\n");
  const kept: string[] = [];
  let size = 0;
  for (const [i, line] of lines.entries()) {
    if (i > 0 && /^\s*[A-Z][A-Z &/()-]{1,60}:/.test(line)) break;
    if (size + line.length > budgetChars) {
      // The rest of the cursor's own line is what the middle must lead into: a line longer than the budget
      // (a paragraph written as one line) is cut at a word end within it, not dropped.
      if (i === 0) {
        const cut = line.lastIndexOf(" ", budgetChars);
        kept.push(line.slice(0, cut > 0 ? cut : budgetChars));
      }
      break;
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join("\n");
}

export function buildContext(input: ContextInput): CompletionContext {
  const budgetChars = budgetCharsFor(input.budgetTokens);
  const prefixStart = input.prefixStart ?? 0;
  const windowStart = anchoredWindowStart(input.prefix, budgetChars, prefixStart);
  const lines = input.prefix.split("\n");
  const inPrefix = sectionAt(lines, lines.length - 1);
  const header = inPrefix
    ? { name: inPrefix.name, text: lines[inPrefix.line]!, offset: prefixStart + lines.slice(0, inPrefix.line).reduce((n, l) => n + l.length + 1, 0) }
    : input.header && { name: sectionHeaderName(input.header.text)!, ...input.header };
  let prompt = input.prefix.slice(windowStart - prefixStart);
  // The header fell out of the window: keep it, so the model knows it is writing the PLAN, not the HPI. Only
  // its name when the header's line goes on with the section's text (one long paragraph after "HPI:"), which
  // would otherwise put the whole paragraph back in front of the window.
  if (header && windowStart > 0 && header.offset < windowStart) {
    const line = header.text.trim();
    prompt = `${line.length <= MAX_HEADER_CHARS ? line : `${header.name}:`}\n${prompt}`;
  }
  const linePrefix = lines[lines.length - 1] ?? "";
  const lineSuffix = input.suffix.split("\n", 1)[0] ?? "";
  const suffix = meaningfulSuffix(input.suffix, Math.floor(budgetChars / 4));
  const mode = input.infillSupported && suffix.trim().length > 0 ? "infill" : "continue";
  return {
    mode,
    prompt,
    suffix: mode === "infill" ? suffix : "",
    windowStart,
    section: header?.name,
    inList: isListItem(linePrefix),
    linePrefix,
    lineSuffix,
  };
}
