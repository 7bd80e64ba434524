/**
 * Grounding: a finding the differential quotes must be words of the note. Matching ignores case,
 * whitespace and punctuation ("BP 150/90." matches "bp 150 90"), but only at word boundaries ("pain" does
 * not match inside "painful"), and answers with the exact range of the note's own text, so the editor can
 * select it. Pure: no vscode.
 */

export interface NoteRange {
  /** Offset of the first character of the matched words in the note. */
  start: number;
  /** Offset just after the last matched character. */
  end: number;
}

/** Letters and digits of any script; everything else separates words. */
const WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * The note reduced to lower-case words separated by single spaces, and for each character of the
 * result the note range it came from (separators map to the gap they replaced).
 */
export interface NormalisedText {
  text: string;
  starts: number[];
  ends: number[];
}

/** ASCII spellings clinicians use for symbols the grammar cannot write (it is limited to ASCII). */
const ASCII_SPELLING: Readonly<Record<string, string>> = {
  "\u00b5": "u", // micro sign: 5 µg -> 5 ug
  "\u03bc": "u", // Greek mu: /μL -> /uL
  "\u00d7": "x",
  "\u2265": ">=",
  "\u2264": "<=",
  "\u00b1": "+/-",
  "\u2013": "-",
  "\u2014": "-",
  "\u2212": "-",
  "\u2018": "'",
  "\u2019": "'",
  "\u201c": '"',
  "\u201d": '"',
  "\u03b1": "alpha",
  "\u03b2": "beta",
  "\u03b3": "gamma",
  "\u03b4": "delta",
};

/** One character as plain ASCII: a known spelling, else without accents, else a space. */
export function foldChar(char: string): string {
  const known = ASCII_SPELLING[char];
  if (known !== undefined) return known;
  if (char.charCodeAt(0) < 0x80) return char;
  const stripped = char.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  // eslint-disable-next-line no-control-regex -- an ASCII test: \x00-\x7f is the whole range
  return /^[\x00-\x7f]+$/.test(stripped) ? stripped : " ";
}

/**
 * `fold` reads the text as its ASCII spelling first (see foldChar), so a phrase the model could write in
 * ASCII ("WBC 6,200 /uL") still finds the note's own text ("WBC 6,200 /μL").
 */
export function normalise(source: string, fold = false): NormalisedText {
  let text = "";
  const starts: number[] = [];
  const ends: number[] = [];
  let pendingGap: number | undefined;
  let offset = 0;
  for (const sourceChar of source) {
    const width = sourceChar.length;
    for (const char of fold ? foldChar(sourceChar) : sourceChar) {
      if (WORD_CHAR.test(char)) {
        if (pendingGap !== undefined && text.length > 0) {
          text += " ";
          starts.push(pendingGap);
          ends.push(offset);
        }
        pendingGap = undefined;
        // Lower-casing may lengthen a character ("İ" -> "i̇"); every piece maps back to the same source char.
        for (const piece of char.toLowerCase()) {
          text += piece;
          for (let i = 0; i < piece.length; i++) {
            starts.push(offset);
            ends.push(offset + width);
          }
        }
      } else if (pendingGap === undefined) {
        pendingGap = offset;
      }
    }
    offset += width;
  }
  return { text, starts, ends };
}

/** A note prepared for many look-ups: as written, and (made when first needed) in its ASCII spelling. */
export class NoteIndex {
  readonly plain: NormalisedText;
  private foldedText: NormalisedText | undefined;
  constructor(readonly source: string) {
    this.plain = normalise(source);
  }
  get folded(): NormalisedText {
    this.foldedText ??= normalise(this.source, true);
    return this.foldedText;
  }
}

/** The comparison key of a quote: what `normalise` makes of it. */
export function normaliseQuote(quote: string): string {
  return normalise(quote).text;
}

/** Where a normalised needle occurs on word boundaries of a normalised haystack; -1 when nowhere. */
function indexOnWordBoundaries(haystack: string, needle: string, from = 0): number {
  for (let at = haystack.indexOf(needle, from); at >= 0; at = haystack.indexOf(needle, at + 1)) {
    const before = at === 0 || haystack[at - 1] === " ";
    const afterIndex = at + needle.length;
    const after = afterIndex === haystack.length || haystack[afterIndex] === " ";
    if (before && after) return at;
  }
  return -1;
}

/**
 * The range in `note` where `quote` occurs, tolerant of case, whitespace and punctuation; undefined when
 * the note does not contain it (or the quote has no words). With several occurrences the first one at or
 * after `preferFrom` (a note offset) wins, else the first.
 */
export function findInNote(note: string | NoteIndex, quote: string, preferFrom = 0): NoteRange | undefined {
  const index = typeof note === "string" ? new NoteIndex(note) : note;
  const found = findIn(index.plain, normaliseQuote(quote), preferFrom);
  // eslint-disable-next-line no-control-regex -- an ASCII test: \x00-\x7f is the whole range
  if (found || /^[\x00-\x7f]*$/.test(index.source)) return found;
  return findIn(index.folded, normalise(quote, true).text, preferFrom);
}

function findIn(haystack: NormalisedText, needle: string, preferFrom: number): NoteRange | undefined {
  if (needle.length === 0) return undefined;
  let from = 0;
  if (preferFrom > 0) {
    const firstAfter = haystack.starts.findIndex((s) => s >= preferFrom);
    from = firstAfter < 0 ? haystack.text.length : firstAfter;
  }
  let at = indexOnWordBoundaries(haystack.text, needle, from);
  if (at < 0 && from > 0) at = indexOnWordBoundaries(haystack.text, needle, 0);
  if (at < 0) return undefined;
  return { start: haystack.starts[at]!, end: haystack.ends[at + needle.length - 1]! };
}

export interface GroundedFinding {
  /** The words as the model quoted them. */
  quote: string;
  /** Where the note says it; absent when the note does not contain it. */
  range?: NoteRange;
  /** The note's own text at the range (what the panel shows and the editor selects). */
  noteText?: string;
}

/** Looks up each quoted finding in the note; `grounded` keeps those found, `dropped` counts the rest. */
export function groundFindings(note: string | NoteIndex, quotes: readonly string[]): { grounded: GroundedFinding[]; dropped: string[] } {
  const normalised = typeof note === "string" ? new NoteIndex(note) : note;
  const text = normalised.source;
  const grounded: GroundedFinding[] = [];
  const dropped: string[] = [];
  const seen = new Set<string>();
  for (const quote of quotes) {
    const range = findInNote(normalised, quote);
    if (!range) {
      dropped.push(quote);
      continue;
    }
    const key = `${range.start}:${range.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    grounded.push({ quote, range, noteText: text.slice(range.start, range.end) });
  }
  return { grounded, dropped };
}
