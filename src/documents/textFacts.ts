/**
 * The facts a text states, found by position: numbers with their units (doses among them), dates, words and
 * sentences. The no-new-facts check (newFacts.ts) compares a draft's facts with its note's. Pure.
 */

export interface Span {
  start: number;
  end: number;
  text: string;
}

export interface Quantity extends Span {
  /** The value, normalised: "5", "0.5", "124/78", "1000". */
  value: string;
  /** The unit, normalised ("mg", "ml", "day"), when one follows the number. */
  unit?: string;
  kind: "dose" | "number";
}

export interface DateFact extends Span {
  month?: number;
  day?: number;
  year?: number;
  weekday?: string;
}

/** Number words below twenty and the tens, in English, by value (also what the documents eval writes numbers with). */
export const SMALL_NUMBERS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
export const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
const NUMBER_WORD_VALUE = new Map<string, number>([...SMALL_NUMBERS.map((w, i) => [w, i] as const), ...TENS.map((w, i) => [w, i * 10] as const).filter(([w]) => w)]);
const NUMBER_WORD = `(?:${[...NUMBER_WORD_VALUE.keys()].sort((a, b) => b.length - a.length).join("|")})`;

/** Unit spellings, to one canonical name each. Dose units are marked. */
const UNITS: ReadonlyArray<[RegExp, string, boolean]> = [
  [/^(?:mg|milligrams?|mgs)$/i, "mg", true],
  [/^(?:mcg|µg|ug|micrograms?)$/i, "mcg", true],
  [/^(?:g|gm|gms|grams?)$/i, "g", true],
  [/^(?:ml|mls|cc|milliliters?|millilitres?)$/i, "ml", true],
  [/^(?:l|liters?|litres?)$/i, "l", true],
  [/^(?:units?|u|iu)$/i, "unit", true],
  [/^(?:meq|mmol)$/i, "meq", true],
  [/^(?:tablets?|tabs?|pills?)$/i, "tablet", true],
  [/^(?:capsules?|caps?)$/i, "capsule", true],
  [/^(?:puffs?|inhalations?)$/i, "puff", true],
  [/^(?:sprays?)$/i, "spray", true],
  [/^(?:drops?|gtts?)$/i, "drop", true],
  [/^(?:patch(?:es)?)$/i, "patch", true],
  [/^(?:mg\/kg|mg\/dl|g\/dl|mmol\/l|meq\/l|mg\/day|mcg\/kg|units\/kg)$/i, "", true],
  [/^(?:mmhg|mm\s?hg)$/i, "mmhg", false],
  [/^(?:bpm|beats)$/i, "bpm", false],
  [/^(?:%|percent)$/i, "%", false],
  [/^(?:cm|centimeters?)$/i, "cm", false],
  [/^(?:mm|millimeters?)$/i, "mm", false],
  [/^(?:kg|kgs|kilograms?|kilos?)$/i, "kg", false],
  [/^(?:lb|lbs|pounds?)$/i, "lb", false],
  [/^(?:oz|ounces?)$/i, "oz", false],
  [/^(?:degrees?|°|°f|°c|f|c)$/i, "degree", false],
  [/^(?:hours?|hrs?|h)$/i, "hour", false],
  [/^(?:minutes?|mins?)$/i, "minute", false],
  [/^(?:seconds?|secs?)$/i, "second", false],
  [/^(?:days?)$/i, "day", false],
  [/^(?:weeks?|wks?)$/i, "week", false],
  [/^(?:months?|mos?)$/i, "month", false],
  [/^(?:years?|yrs?|y)$/i, "year", false],
  [/^(?:times?|x)$/i, "time", false],
];
const UNIT_WORD = String.raw`(?:mg\/kg|mg\/dl|g\/dl|mmol\/l|meq\/l|mg\/day|mcg\/kg|units\/kg|mm\s?hg|%|°[fc]?|[a-zµ]+)`;

export function unitOf(word: string): { unit: string; dose: boolean } | undefined {
  for (const [pattern, name, dose] of UNITS) if (pattern.test(word)) return { unit: name || word.toLowerCase(), dose };
  return undefined;
}

/** "1,000" -> "1000", ".5" -> "0.5", "124/78" stays; the value a number states. */
export function normaliseValue(text: string): string {
  return text
    .split("/")
    .map((part) => {
      const n = Number(part.replace(/,/g, ""));
      return Number.isFinite(n) ? String(n) : part;
    })
    .join("/");
}

function numberWordsValue(text: string): number | undefined {
  let total = 0;
  for (const word of text.toLowerCase().split(/[\s-]+/)) {
    const v = NUMBER_WORD_VALUE.get(word);
    if (v === undefined) return undefined;
    total += v;
  }
  return total;
}

const DIGITS = String.raw`(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+`;
const QUANTITY = new RegExp(
  String.raw`(?<![\w.,/])(?:(?<digits>(?:${DIGITS})(?:\/(?:${DIGITS}))?)|(?<words>${NUMBER_WORD}(?:[\s-]${NUMBER_WORD})?))` +
    String.raw`(?:(?<gap>\s*-?\s*)(?<unit>${UNIT_WORD})(?![\w]))?`,
  "gi",
);

/** Numbers in the text, each with the unit after it if any. Number words count only with a unit ("two weeks"). */
export function findQuantities(text: string): Quantity[] {
  const found: Quantity[] = [];
  for (const m of text.matchAll(QUANTITY)) {
    const groups = m.groups ?? {};
    // "5 x 3 cm" is a size, not five times.
    const dimension = groups.unit?.toLowerCase() === "x" && /^\s*\d/.test(text.slice(m.index + m[0].length));
    const unitInfo = groups.unit && !dimension ? unitOf(groups.unit) : undefined;
    let value: string | undefined;
    if (groups.digits) value = normaliseValue(groups.digits);
    else if (groups.words && unitInfo) {
      const v = numberWordsValue(groups.words);
      if (v !== undefined) value = String(v);
    }
    if (value === undefined) continue;
    const start = m.index;
    const numberText = groups.digits ?? groups.words ?? "";
    const end = unitInfo ? start + m[0].length : start + numberText.length;
    const q: Quantity = { start, end, text: text.slice(start, end), value, kind: unitInfo?.dose ? "dose" : "number" };
    if (unitInfo) q.unit = unitInfo.unit;
    found.push(q);
  }
  // A range shares its unit: "5-10 mg" states 5 mg and 10 mg.
  for (let i = 0; i + 1 < found.length; i++) {
    const a = found[i]!;
    const b = found[i + 1]!;
    if (a.unit === undefined && b.unit !== undefined && /^\s*(?:-|–|to)\s*$/.test(text.slice(a.end, b.start))) {
      a.unit = b.unit;
      a.kind = b.kind;
    }
  }
  return found;
}

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const MONTH = String.raw`(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?`;
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const monthNumber = (name: string): number => MONTHS.findIndex((m) => m.startsWith(name.toLowerCase().replace(/\.$/, "").slice(0, 3))) + 1;
const year = (text: string | undefined): number | undefined => {
  if (!text) return undefined;
  const n = Number(text);
  return text.length === 2 ? (n < 50 ? 2000 + n : 1900 + n) : n;
};

const DATE_PATTERNS: ReadonlyArray<[RegExp, (m: RegExpMatchArray) => Omit<DateFact, keyof Span>]> = [
  [/\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g, (m) => ({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) })],
  [/\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b/g, (m) => ({ month: Number(m[1]), day: Number(m[2]), ...optionalYear(m[3]) })],
  [new RegExp(String.raw`\b(${MONTH})\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?`, "gi"), (m) => ({ month: monthNumber(m[1]!), day: Number(m[2]), ...optionalYear(m[3]) })],
  [
    new RegExp(String.raw`\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(${MONTH})(?:,?\s+(\d{4})\b)?`, "gi"),
    (m) => ({ day: Number(m[1]), month: monthNumber(m[2]!), ...optionalYear(m[3]) }),
  ],
  [new RegExp(String.raw`\b(${MONTH})\s+(?:of\s+)?(\d{4})\b`, "gi"), (m) => ({ month: monthNumber(m[1]!), year: Number(m[2]) })],
  [new RegExp(String.raw`\b(${WEEKDAYS.join("|")})\b`, "gi"), (m) => ({ weekday: m[1]!.toLowerCase() })],
];

function optionalYear(text: string | undefined): { year?: number } {
  const y = year(text);
  return y === undefined ? {} : { year: y };
}

/** Dates in the text (numeric, with a month's name, or a weekday), without overlaps, in text order. */
export function findDates(text: string): DateFact[] {
  const found: DateFact[] = [];
  for (const [pattern, read] of DATE_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (found.some((d) => start < d.end && end > d.start)) continue;
      const facts = read(m);
      if (facts.month !== undefined && (facts.month < 1 || facts.month > 12)) continue;
      if (facts.day !== undefined && (facts.day < 1 || facts.day > 31)) continue;
      found.push({ start, end, text: m[0], ...facts });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/**
 * Whether the draft's date is the note's: the same weekday, or the same day and month wherever the draft states
 * them, and the same year when both state one ("March 3" is the note's "March 3, 2026"; "December 27" is not
 * its "December 2007").
 */
export function sameDate(note: DateFact, draft: DateFact): boolean {
  if (note.weekday || draft.weekday) return note.weekday === draft.weekday;
  if (draft.day !== undefined && note.day !== draft.day) return false;
  if (draft.month !== undefined && note.month !== draft.month) return false;
  if (draft.year !== undefined && note.year !== undefined && note.year !== draft.year) return false;
  return draft.day !== undefined || draft.month !== undefined || note.year === draft.year;
}

export function dateText(d: DateFact): string {
  return d.text;
}

/** Words (letters, with inner apostrophes or hyphens split off) with their positions. */
export function findWords(text: string): Span[] {
  return [...text.matchAll(/\p{L}[\p{L}']*/gu)].map((m) => ({ start: m.index, end: m.index + m[0].length, text: m[0].replace(/'s$/i, "") }));
}

/** Sentences: split at sentence ends followed by a space and a capital or digit, and at line breaks. */
export function findSentences(text: string): Span[] {
  const out: Span[] = [];
  const pattern = /[^\n.!?]+(?:[.!?]+(?![^\s])|\n|$)/g;
  let start = -1;
  let end = 0;
  const push = (): void => {
    if (start < 0) return;
    const raw = text.slice(start, end);
    const trimmed = raw.trim();
    if (/\p{L}|\d/u.test(trimmed)) {
      const s = start + raw.indexOf(trimmed);
      out.push({ start: s, end: s + trimmed.length, text: trimmed });
    }
    start = -1;
  };
  for (const m of text.matchAll(pattern)) {
    if (start < 0) start = m.index;
    end = m.index + m[0].length;
    const piece = m[0];
    const next = text.slice(end).match(/^\s*(\S)/)?.[1] ?? "";
    // "Dr. Smith", "b.i.d. with": a period after a short lower-case abbreviation or before a lower-case word goes on.
    const endsAbbreviation = /\b(?:dr|mr|mrs|ms|st|vs|e\.g|i\.e|[a-z])\.$/i.test(piece.trimEnd());
    if (piece.endsWith("\n") || end >= text.length || (/[.!?]$/.test(piece) && !endsAbbreviation && !/^[a-z,;]/.test(next))) push();
  }
  push();
  return out;
}

/** Flesch-Kincaid grade level of a text (0.39 words/sentence + 11.8 syllables/word - 15.59). */
export function readingGrade(text: string, syllables: (word: string) => number): number | undefined {
  const words = findWords(text).filter((w) => /\p{L}{1,}/u.test(w.text));
  const sentences = findSentences(text).length;
  if (words.length === 0 || sentences === 0) return undefined;
  const syllableCount = words.reduce((sum, w) => sum + Math.max(1, syllables(w.text)), 0);
  const grade = 0.39 * (words.length / sentences) + 11.8 * (syllableCount / words.length) - 15.59;
  return Math.round(grade * 10) / 10;
}
