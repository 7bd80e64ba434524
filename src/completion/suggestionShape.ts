/**
 * The shape of a suggestion: finish the line or the sentence, never run into a new section, several lines
 * only inside a list, never repeat what is already there, and by default never write a digit (doses, vitals
 * and lab values come from the clinician). Pure.
 */
import { INLINE_HEADER, isListItem, isSectionHeader } from "../notes/noteSections";

export interface ShapeInput {
  linePrefix: string;
  lineSuffix: string;
  /** Text before and after the cursor nearby, to refuse repetitions. */
  before: string;
  after: string;
  inList: boolean;
  allowDigits: boolean;
}

const DIGIT = /[0-9]/;

/** Stop strings the engine can use so it does not generate what shaping would cut anyway. */
export function stopStrings(inList: boolean): string[] {
  return inList ? ["\n\n"] : ["\n"];
}

export const DIGIT_TEXTS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

function cutFirstLine(line: string, atLineStart: boolean): string {
  // Before a header written inline ("... ASSESSMENT: ...").
  const header = INLINE_HEADER.exec(line);
  if (header && !(atLineStart && header.index === 0)) line = line.slice(0, header.index);
  // After the first sentence end.
  // Stryker disable next-line Regex: a mark at the very end cuts nothing, so "$" may go without changing the result
  const sentence = /[.!?](?=\s|$)/.exec(line);
  if (sentence) line = line.slice(0, sentence.index + 1);
  return line;
}

export function shapeSuggestion(raw: string, input: ShapeInput): string | undefined {
  let text = raw.replace(/\r/g, "");
  if (!input.allowDigits) {
    const digit = DIGIT.exec(text);
    if (digit) text = text.slice(0, digit.index);
  }
  // Stryker disable next-line StringLiteral: split always returns a first element; the default never applies
  const [first = "", ...rest] = text.split("\n");
  const atLineStart = input.linePrefix.trim().length === 0;
  if (atLineStart && isSectionHeader(first)) return undefined;
  let shaped = cutFirstLine(first, atLineStart);
  const firstWasCut = shaped.length < first.length;
  if (input.inList && !firstWasCut) {
    for (const line of rest) {
      if (!isListItem(line) || isSectionHeader(line)) break;
      shaped += `\n${line.replace(/\s+$/, "")}`;
    }
  }
  shaped = shaped.replace(/\s+$/, "");
  if (/\s$/.test(input.linePrefix)) shaped = shaped.replace(/^[ \t]+/, "");
  // What is already after the cursor on this line need not be suggested again.
  const tail = input.lineSuffix.trim();
  if (tail && shaped.endsWith(tail)) shaped = shaped.slice(0, shaped.length - tail.length).replace(/\s+$/, "");
  // Stryker disable next-line MethodExpression: the end was trimmed above, so a blank suggestion is already empty
  if (shaped.trim().length === 0) return undefined;
  const probe = shaped.trim();
  if (probe.length >= 8 && (input.before.includes(probe) || input.after.includes(probe))) return undefined;
  return shaped;
}
