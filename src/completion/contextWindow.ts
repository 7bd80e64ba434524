/**
 * What the model sees for one suggestion: the text before the cursor within a token budget, the text after
 * it when fill-in-the-middle helps, and the current section. Only the current document: other notes may be
 * other patients'. Pure: no vscode, no engine.
 *
 * The window's start is anchored: it moves forward only in jumps of half the budget, and always to a line
 * start. So while the clinician types, each prompt extends the previous one and the engine's completion lane
 * evaluates only the new tokens (a sliding window would change the first token each time and re-evaluate all).
 */
import { isListItem, sectionAt } from "../notes/noteSections";

/** A conservative characters-per-token for English clinical text with a Llama tokenizer. */
export const CHARS_PER_TOKEN = 3;

export interface ContextInput {
  /** The whole document text before the cursor. */
  prefix: string;
  /** The whole document text after the cursor. */
  suffix: string;
  /** Tokens the prefix part may use. */
  budgetTokens: number;
  infillSupported: boolean;
}

export interface CompletionContext {
  mode: "continue" | "infill";
  /** The prompt (continuation) or the infill prefix. */
  prompt: string;
  /** Infill only: the text after the cursor, trimmed to a budget. */
  suffix: string;
  /** Where the window starts in the document's prefix. */
  windowStart: number;
  section: string | undefined;
  /** The cursor's line is a list item, so a multi-line (list) suggestion is allowed. */
  inList: boolean;
  linePrefix: string;
  lineSuffix: string;
}

/** Start of the prompt window in `prefix`: stable while the prefix grows, jumping by half the budget. */
export function anchoredWindowStart(prefix: string, budgetChars: number): number {
  if (prefix.length <= budgetChars) return 0;
  const step = Math.max(1, Math.floor(budgetChars / 2));
  const target = Math.ceil((prefix.length - budgetChars) / step) * step;
  const lineStart = prefix.indexOf("\n", target - 1);
  // A line start inside the window keeps the prompt readable; a giant line falls back to the grid point.
  return lineStart >= 0 && lineStart + 1 < prefix.length - step / 2 ? lineStart + 1 : target;
}

/** Non-whitespace text after the cursor in the rest of its section: then fill-in-the-middle is worth it. */
function meaningfulSuffix(suffix: string, budgetChars: number): string {
  const lines = suffix.split("\n");
  const kept: string[] = [];
  let size = 0;
  for (const [i, line] of lines.entries()) {
    if (i > 0 && /^\s*[A-Z][A-Z &/()-]{1,60}:/.test(line)) break;
    if (size + line.length > budgetChars) break;
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join("\n");
}

export function buildContext(input: ContextInput): CompletionContext {
  const budgetChars = Math.max(64, Math.floor(input.budgetTokens * CHARS_PER_TOKEN));
  const windowStart = anchoredWindowStart(input.prefix, budgetChars);
  const lines = input.prefix.split("\n");
  const section = sectionAt(lines, lines.length - 1);
  let prompt = input.prefix.slice(windowStart);
  if (section && windowStart > 0) {
    // The header fell out of the window: keep it, so the model knows it is writing the PLAN, not the HPI.
    const headerOffset = lines.slice(0, section.line).reduce((n, l) => n + l.length + 1, 0);
    if (headerOffset < windowStart) prompt = `${lines[section.line]!.trim()}\n${prompt}`;
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
    section: section?.name,
    inList: isListItem(linePrefix),
    linePrefix,
    lineSuffix,
  };
}
