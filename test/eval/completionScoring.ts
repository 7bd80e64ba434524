/**
 * Scoring of the completion replay (completion.eval.ts): what a clinician gets from the ghost text shown at
 * each word start of a note being typed. Pure.
 *
 * Definitions (the replay's header repeats them):
 * - A word start is an offset of the typed text whose character is not whitespace and whose previous
 *   character is: the cursor right after a space or a line break, where the next word is to be typed.
 * - A word unit is leading whitespace plus a run of non-whitespace characters (`/\s*\S+/`): what one
 *   word-accept (VS Code's "Accept Next Word", llama.vscode's insertNextWord) inserts.
 * - Next-word match: the suggestion's first word unit is the note's next word unit exactly (punctuation too).
 * - Characters accepted: the longest common prefix of the suggestion and the note's text after the cursor.
 * - Whole matching words: the suggestion's leading word units that are exactly the note's next text and
 *   end where a note word ends (the note's next character is not a letter or digit). A suggestion "pain"
 *   before "pain." counts one word; "hyperten" before "hypertension" counts none.
 * - Characters saved (word-accept): a simulated clinician goes through the word starts in order and, where
 *   the shown suggestion begins with whole matching words, accepts them, one keystroke per word, and goes
 *   on typing after them (word starts inside the accepted text are skipped). Saved = characters inserted
 *   minus accept keystrokes; `chars_saved_per_100` = 100 * saved / characters of the replayed text.
 */

/** Offsets of `text` where a word starts (see above); offset 0 counts when `text` does not start with whitespace. */
export function wordStarts(text: string, previous = " "): number[] {
  const starts: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const before = i === 0 ? previous : text[i - 1]!;
    if (/\s/.test(before) && !/\s/.test(text[i]!)) starts.push(i);
  }
  return starts;
}

export function wordUnits(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Longest common prefix of the suggestion and the note's text after the cursor. */
export function charsAccepted(suggestion: string, actual: string): number {
  let n = 0;
  while (n < suggestion.length && n < actual.length && suggestion[n] === actual[n]) n++;
  return n;
}

export function nextWordMatches(suggestion: string, actual: string): boolean {
  const first = wordUnits(suggestion)[0];
  return first !== undefined && first === wordUnits(actual)[0];
}

/** The suggestion's leading whole matching words: how many and their characters (leading whitespace included). */
export function matchingWords(suggestion: string, actual: string): { words: number; chars: number } {
  let chars = 0;
  let words = 0;
  for (const unit of wordUnits(suggestion)) {
    if (!actual.startsWith(unit, chars)) break;
    const next = actual[chars + unit.length];
    if (next !== undefined && /[\p{L}\p{N}]/u.test(next) && /[\p{L}\p{N}]$/u.test(unit)) break;
    chars += unit.length;
    words++;
  }
  return { words, chars };
}

/** The ghost text visible at one word start of the replayed text (undefined: none). */
export interface ShownAt {
  offset: number;
  text: string | undefined;
}

export interface WordAcceptResult {
  /** Characters inserted by accepting, minus one keystroke per accepted word. */
  savedChars: number;
  acceptedWords: number;
  /** Word starts where the clinician accepted something. */
  accepts: number;
}

/** The simulated clinician of the header: accepts whole matching words and types on after them. */
export function simulateWordAccept(text: string, shown: readonly ShownAt[]): WordAcceptResult {
  let next = 0;
  let savedChars = 0;
  let acceptedWords = 0;
  let accepts = 0;
  for (const point of [...shown].sort((a, b) => a.offset - b.offset)) {
    if (point.offset < next || point.text === undefined) continue;
    const { words, chars } = matchingWords(point.text, text.slice(point.offset));
    if (words === 0) continue;
    savedChars += chars - words;
    acceptedWords += words;
    accepts++;
    next = point.offset + chars;
  }
  return { savedChars, acceptedWords, accepts };
}

/** Per 100 characters of `typedChars`. */
export function per100(value: number, typedChars: number): number {
  return typedChars > 0 ? (100 * value) / typedChars : 0;
}
