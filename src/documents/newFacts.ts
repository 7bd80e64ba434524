/**
 * The no-new-facts check: everything a draft states that its note does not. Found by position in the
 * draft, each with a readable message ("50 mg is not in the note") and, where the note has something close,
 * that near match's place in the note (5 mg). Four kinds of fact:
 * - numbers with their units (doses apart), matched by value and unit ("two weeks" = "2 weeks");
 * - dates, matched by the parts both state;
 * - words that are neither in the note (by stem: "allergies" = "allergy") nor plain English (plainWords.ts),
 *   nor an expansion of one of the note's abbreviations ("congestive heart failure" for CHF); medicine names
 *   always count, even common ones;
 * - flipped negations about the note's allergies and medications ("no penicillin allergy" where the note
 *   lists one; "stop lisinopril" where the note has it as a current medication).
 * Pure.
 */
import { stemmer } from "stemmer";
import { isMedicineWord } from "./drugWords";
import { PLAIN_WORDS } from "./plainWords";
import { findDates, findQuantities, findSentences, findWords, sameDate, unitOf, type DateFact, type Quantity, type Span } from "./textFacts";

export type FactKind = "number" | "dose" | "date" | "word" | "negation";

export interface NewFact {
  kind: FactKind;
  /** Where in the checked text, and what it says there. */
  start: number;
  end: number;
  text: string;
  /** For the clinician: "50 mg is not in the note". */
  message: string;
  /** The closest thing the note has, with its place in the note (offsets into the note). */
  near?: Span;
}

interface PlainWords {
  /** Written in lower case in the list: plain wherever they stand. */
  lower: Set<string>;
  /** Written capitalised in the list ("No", "Dr", and names): plain only in lower case or at a sentence's start. */
  capitalised: Set<string>;
}
let plainWords: PlainWords | undefined;
/** Capitalised everywhere, yet plain: titles before a name (the name itself is checked). */
const TITLES = new Set(["dr", "mr", "mrs", "ms", "mx", "i"]);
function plain(): PlainWords {
  if (!plainWords) {
    const all = PLAIN_WORDS.split(" ");
    const lower = all.filter((w) => w === w.toLowerCase());
    const capitalised = all.filter((w) => w !== w.toLowerCase()).map((w) => w.toLowerCase());
    plainWords = { lower: new Set([...lower, ...lower.map((w) => stemmer(w))]), capitalised: new Set([...capitalised, ...capitalised.map((w) => stemmer(w))]) };
  }
  return plainWords;
}

/**
 * Whether a word is plain English (and not a medicine's name). A capitalised word inside a sentence is taken
 * for a name: only words the list has in lower case count then.
 */
export function isPlainWord(word: string, options: { name?: boolean } = {}): boolean {
  const w = word.toLowerCase();
  if (isMedicineWord(w)) return false;
  const p = plain();
  const stem = stemmer(w);
  if (p.lower.has(w) || p.lower.has(stem) || TITLES.has(w)) return true;
  return !options.name && (p.capitalised.has(w) || p.capitalised.has(stem));
}

const STOP = new Set([
  "a",
  "an",
  "the",
  "of",
  "and",
  "or",
  "to",
  "in",
  "on",
  "for",
  "with",
  "at",
  "by",
  "is",
  "was",
  "are",
  "be",
  "has",
  "have",
  "had",
  "she",
  "he",
  "they",
  "her",
  "his",
  "their",
  "it",
  "this",
  "that",
  "as",
  "from",
  "your",
  "you",
  "patient",
  "also",
  "will",
]);
const NEGATION = /\b(?:no|not|never|without|denies|denied|deny|negative|none|neither|nor|nkda|nka)\b|n't\b/i;
const STOPPING = /\b(?:stop|stopped|stopping|discontinue|discontinued|discontinuing|hold|held|holding|quit|avoid|off)\b|\bno longer\b/i;
const ALLERGY = /\ballerg/i;
const MEDICATION_SECTION = /MEDICATION|MEDS|PRESCRIPTION/i;
const ALLERGY_SECTION = /ALLERG/i;

/** The note's shorthand for "no known (drug) allergies", spelled out so its negation can be read. */
export function expandAllergyShorthand(text: string): string {
  return text.replace(/\bNKDA\b/gi, "no known drug allergies").replace(/\bNKA\b/gi, "no known allergies");
}

/** A word's stem; "allergy", "allergies" and "allergic" share one. */
const stemOf = (word: string): string => {
  const w = word.toLowerCase().replace(/'/g, "");
  return /^allerg/.test(w) ? "allerg" : stemmer(w);
};

interface NoteSentence extends Span {
  section: string;
  stems: Set<string>;
  negated: boolean;
  stopping: boolean;
}

/** What the check needs of a note; build it once and check many drafts against it. */
export class NoteFacts {
  readonly quantities: Quantity[];
  readonly dates: DateFact[];
  readonly stems = new Set<string>();
  readonly words = new Set<string>();
  /** Upper-case shorthand in the note (CHF, HTN, SOB), for expansions of it. */
  readonly abbreviations = new Set<string>();
  readonly sentences: NoteSentence[];
  /** Stems of what the note says the patient is allergic to ("allergic to sulfa", "ALLERGIES: Penicillin."). */
  readonly allergens = new Map<string, NoteSentence>();
  /** Stems of the medicines the note lists (in a medications section, or medicine names anywhere). */
  readonly medicines = new Set<string>();

  constructor(readonly text: string) {
    this.dates = findDates(text);
    // The numbers of a date ("March 3") are the date's, not a count of anything.
    this.quantities = findQuantities(text).filter((q) => !this.dates.some((d) => q.start < d.end && q.end > d.start));
    for (const w of findWords(text)) {
      this.words.add(w.text.toLowerCase());
      this.stems.add(stemOf(w.text));
      if (/^[A-Z][A-Za-z]{1,6}$/.test(w.text) && /[A-Z].*[A-Z]/.test(w.text)) this.abbreviations.add(w.text.replace(/s$/, "").toLowerCase());
      else if (/^[a-z]{2,5}$/.test(w.text) && !isPlainWord(w.text, { name: true })) this.abbreviations.add(w.text);
    }
    for (const m of text.matchAll(/\b((?:[a-zA-Z]\.){2,5})/g)) this.abbreviations.add(m[1]!.replace(/\./g, "").toLowerCase());
    this.sentences = [];
    let section = "";
    for (const s of findSentences(text)) {
      const header = /^([A-Z][A-Z /&()-]{1,60}):/.exec(s.text);
      if (header) section = header[1]!;
      const expanded = expandAllergyShorthand(header ? s.text.slice(header[0].length) : s.text);
      // A header on its own line says nothing of its own.
      if (!/\p{L}|\d/u.test(expanded)) continue;
      const stems = new Set(contentStems(`${expanded} ${section}`));
      const sentence: NoteSentence = { ...s, section, stems, negated: NEGATION.test(expanded), stopping: STOPPING.test(expanded) };
      this.sentences.push(sentence);
      if (!sentence.negated) for (const allergen of allergensIn(expanded, ALLERGY_SECTION.test(section))) this.allergens.set(allergen, sentence);
      for (const w of findWords(s.text)) {
        const lower = w.text.toLowerCase();
        if (lower.length < 3 || STOP.has(lower)) continue;
        if (isMedicineWord(lower) || (MEDICATION_SECTION.test(section) && !isPlainWord(lower))) this.medicines.add(stemOf(lower));
      }
    }
  }

  hasWord(word: string): boolean {
    return this.words.has(word.toLowerCase()) || this.stems.has(stemOf(word));
  }
}

/** Stems of the allergens a statement names: after "allergic to", before "allergy", or a whole line under ALLERGIES. */
function allergensIn(text: string, inAllergySection: boolean): string[] {
  const named: string[] = [];
  for (const m of text.matchAll(/\ballerg\w*\s+to\s+([\w ,/-]{2,60})/gi))
    named.push(
      ...findWords(m[1]!)
        .slice(0, 4)
        .map((w) => w.text),
    );
  for (const m of text.matchAll(/\b([A-Za-z][\w-]{2,})\s+allerg/gi)) named.push(m[1]!);
  if (inAllergySection && !ALLERGY.test(text)) named.push(...findWords(text).map((w) => w.text));
  return named
    .map((w) => w.toLowerCase())
    .filter((w) => !STOP.has(w) && !NEGATION.test(w) && (!isPlainWord(w) || isMedicineWord(w)))
    .map(stemOf);
}

function contentStems(text: string): string[] {
  return findWords(text)
    .map((w) => w.text.toLowerCase())
    .filter((w) => !STOP.has(w) && !NEGATION.test(w) && w.length > 1)
    .map(stemOf);
}

export interface CheckOptions {
  /** Words the draft may use besides the note's and plain English (the template's own text). */
  allowedText?: string;
}

/** Every fact in `draft` that `note` does not hold, in draft order. */
export function findNewFacts(note: NoteFacts | string, draft: string, options: CheckOptions = {}): NewFact[] {
  const facts = typeof note === "string" ? new NoteFacts(note) : note;
  const allowed = new Set(options.allowedText ? findWords(options.allowedText).map((w) => stemOf(w.text)) : []);
  const out: NewFact[] = [];
  const dates = findDates(draft);
  const inDate = (start: number, end: number): boolean => dates.some((d) => start < d.end && end > d.start);

  for (const date of dates) {
    if (facts.dates.some((d) => sameDate(d, date))) continue;
    const near = facts.dates.find((d) => (d.weekday === undefined) === (date.weekday === undefined));
    out.push({ kind: "date", start: date.start, end: date.end, text: date.text, message: `${date.text} is not in the note`, ...(near ? { near: span(near) } : {}) });
  }

  for (const q of findQuantities(draft)) {
    if (inDate(q.start, q.end)) continue;
    if (noteHasQuantity(facts, q)) continue;
    const near = nearQuantity(facts, q);
    out.push({ kind: q.kind, start: q.start, end: q.end, text: q.text, message: `${q.text} is not in the note`, ...(near ? { near: span(near) } : {}) });
  }

  const words = findWords(draft);
  const quantities = findQuantities(draft).filter((q) => q.unit !== undefined);
  const sentenceStarts = new Set(findSentences(draft).map((s) => s.start));
  for (const [i, w] of words.entries()) {
    const lower = w.text.toLowerCase();
    if (lower.length < 2 || inDate(w.start, w.end) || quantities.some((q) => w.start < q.end && w.end > q.start)) continue;
    if (facts.hasWord(lower) || allowed.has(stemOf(lower)) || unitOf(lower)) continue;
    const before = draft.slice(Math.max(0, w.start - 6), w.start);
    const startsSentence = sentenceStarts.has(w.start) || /(?:^|[\n:;#*-]\s*|[.!?]\s+)$/.test(before.slice(-3));
    const name = /^\p{Lu}/u.test(w.text) && (!startsSentence || /\b(?:Dr|Mr|Mrs|Ms|Mx)\.\s+$/.test(before));
    if (isPlainWord(lower, { name })) continue;
    if (expandsAbbreviation(words, i, facts.abbreviations)) continue;
    const near = nearWord(facts.text, lower);
    const what = isMedicineWord(lower) ? "medicine" : "word";
    out.push({
      kind: "word",
      start: w.start,
      end: w.end,
      text: w.text,
      message: `"${w.text}" is not in the note${what === "medicine" ? " (a medicine's name)" : ""}`,
      ...(near ? { near } : {}),
    });
  }

  out.push(...flippedNegations(facts, draft));
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

const span = (s: Span): Span => ({ start: s.start, end: s.end, text: s.text });

function noteHasQuantity(facts: NoteFacts, q: Quantity): boolean {
  return facts.quantities.some((n) => n.value === q.value && (q.unit === undefined || n.unit === undefined || n.unit === q.unit));
}

/** The note's quantity most like `q`: the same unit and the closest digits, else the same value. */
function nearQuantity(facts: NoteFacts, q: Quantity): Quantity | undefined {
  let best: Quantity | undefined;
  let bestScore = Infinity;
  for (const n of facts.quantities) {
    const sameUnit = q.unit !== undefined && n.unit === q.unit;
    if (!sameUnit && n.value !== q.value) continue;
    const score = (sameUnit ? 0 : 100) + editDistance(n.value, q.value);
    if (score < bestScore) {
      best = n;
      bestScore = score;
    }
  }
  return best;
}

/** The note's word closest in spelling to `word` (a misspelling, a changed ending), when one is close. */
function nearWord(note: string, word: string): Span | undefined {
  if (word.length < 4) return undefined;
  let best: Span | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 4));
  for (const w of findWords(note)) {
    const lower = w.text.toLowerCase();
    if (Math.abs(lower.length - word.length) > limit || lower[0] !== word[0]) continue;
    const d = editDistance(lower, word);
    if (d <= limit && d < bestDistance) {
      best = w;
      bestDistance = d;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * Whether the word at `index` spells out one of the note's abbreviations: its words' initials ("shortness of
 * breath" for SOB, with or without the small words), or, for one word of three or more letters, the
 * abbreviation's letters in order from its first ("hypertension" for HTN).
 */
function expandsAbbreviation(words: readonly Span[], index: number, abbreviations: ReadonlySet<string>): boolean {
  if (abbreviations.size === 0) return false;
  const word = words[index]!.text.toLowerCase();
  // A medicine's name is never excused as an expansion: "morphine" holds the letters of MRI.
  if (isMedicineWord(word)) return false;
  for (const abbreviation of abbreviations) {
    const long = abbreviation.length >= 3 || word.length >= 8;
    if (long && word[0] === abbreviation[0] && isSubsequence(abbreviation, word)) return true;
  }
  for (let from = Math.max(0, index - 5); from <= index; from++) {
    for (let to = index; to < Math.min(words.length, from + 7); to++) {
      const run = words.slice(from, to + 1).map((w) => w.text.toLowerCase());
      if (run.length < 2) continue;
      const all = run.map((w) => w[0]).join("");
      const content = run
        .filter((w) => !STOP.has(w))
        .map((w) => w[0])
        .join("");
      if (abbreviations.has(all) || (content.length >= 2 && abbreviations.has(content))) return true;
    }
  }
  return false;
}

function isSubsequence(short: string, long: string): boolean {
  let at = 0;
  for (const ch of long) if (ch === short[at]) at++;
  return at === short.length;
}

/**
 * Negations that flip what the note says about allergies and medications. A draft sentence about an allergy
 * is compared with the note's sentence most like it (shared content words, the section's name counting);
 * a draft sentence that names one of the note's medicines, with what the note says of that medicine.
 */
function flippedNegations(facts: NoteFacts, draft: string): NewFact[] {
  const out: NewFact[] = [];
  for (const sentence of findSentences(draft)) {
    const text = expandAllergyShorthand(sentence.text);
    const negated = NEGATION.test(text);
    if (ALLERGY.test(text)) {
      const stems = new Set(contentStems(text));
      if (stems.size === 0) continue;
      // A named allergen the note records, said here not to be one.
      const denied = negated ? [...stems].map((s) => facts.allergens.get(s)).find((n) => n !== undefined) : undefined;
      if (denied) {
        out.push({
          kind: "negation",
          start: sentence.start,
          end: sentence.end,
          text: sentence.text,
          message: "The note does not say this: it records this allergy",
          near: span(denied),
        });
        continue;
      }
      let best = 0;
      let matches: NoteSentence[] = [];
      for (const n of facts.sentences) {
        if (!ALLERGY.test(expandAllergyShorthand(n.text)) && !ALLERGY_SECTION.test(n.section)) continue;
        const common = [...stems].filter((s) => n.stems.has(s)).length;
        // Jaccard similarity: the note's sentence most like this one, not any that contains its words.
        const shared = common / (stems.size + n.stems.size - common);
        if (shared > best + 1e-9) {
          best = shared;
          matches = [n];
        } else if (shared > 0 && Math.abs(shared - best) < 1e-9) matches.push(n);
      }
      if (best >= 0.3 && matches.length > 0 && matches.every((n) => n.negated !== negated)) {
        const n = matches[0]!;
        out.push({
          kind: "negation",
          start: sentence.start,
          end: sentence.end,
          text: sentence.text,
          message: negated ? "The note does not say this: it records an allergy here" : "The note does not say this: it records no such allergy",
          near: span(n),
        });
      }
      continue;
    }
    const stopping = negated || STOPPING.test(text);
    for (const w of findWords(text)) {
      const stem = stemOf(w.text);
      if (!facts.medicines.has(stem)) continue;
      const mentions = facts.sentences.filter((n) => findWords(n.text).some((x) => stemOf(x.text) === stem));
      if (mentions.length === 0) continue;
      const noteStopping = (n: NoteSentence): boolean => n.negated || n.stopping;
      if (mentions.every((n) => noteStopping(n) !== stopping)) {
        out.push({
          kind: "negation",
          start: sentence.start,
          end: sentence.end,
          text: sentence.text,
          message: stopping ? `The note has ${w.text} as a medicine the patient takes` : `The note says ${w.text} is not taken or was stopped`,
          near: span(mentions[0]!),
        });
        break;
      }
    }
  }
  return out;
}
