/**
 * Finds common identifiers (HIPAA Safe Harbor's most frequent ones) in note text: names with titles or
 * labels, dates (any element finer than the year), ages over 89, record and account numbers, phone and
 * fax numbers, email addresses, Social Security numbers, street addresses and URLs.
 *
 * Patterns, not a model: fast (a 200,000-line note in well under a second), explainable, and run before
 * any text leaves the machine (an online PubMed query) and by "Bedside: Check Note for Identifiers".
 * It errs towards flagging; it is a safety net, not de-identification.
 *
 * Pure: imports neither vscode nor node-llama-cpp.
 */

export type PhiCategory = "name" | "date" | "age" | "mrn" | "phone" | "email" | "ssn" | "address" | "url";

export const PHI_CATEGORIES: readonly PhiCategory[] = ["name", "date", "age", "mrn", "phone", "email", "ssn", "address", "url"];

export interface PhiSpan {
  category: PhiCategory;
  /** UTF-16 offsets into the text, end exclusive (the same offsets VS Code's positionAt uses). */
  start: number;
  end: number;
  text: string;
}

/** What a clinician reads in a diagnostic or a placeholder. */
export const PHI_LABELS: Readonly<Record<PhiCategory, string>> = {
  name: "name",
  date: "date",
  age: "age over 89",
  mrn: "record or account number",
  phone: "phone or fax number",
  email: "email address",
  ssn: "Social Security number",
  address: "street address",
  url: "web address",
};

/** When two findings overlap, the more specific one wins (an email is not also a URL or a name). */
const PRIORITY: readonly PhiCategory[] = ["email", "url", "ssn", "mrn", "phone", "address", "date", "age", "name"];

interface Candidate extends PhiSpan {
  /** Where the evidence starts (a title or label before a name), for overlap with addresses. */
  anchor: number;
}

const MONTH = String.raw`(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)`;
const DAY = String.raw`(?:0?[1-9]|[12]\d|3[01])`;
const ORDINAL = String.raw`(?:st|nd|rd|th)?`;

/** A capitalised name part: Smith, O'Neil, Smith-Jones, McDonald, DeLuca, or an initial "J.". */
const NAME_PART = String.raw`(?:[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:['\u2019][A-Z][a-z]+|-[A-Z][a-z]+)*|[A-Z]['\u2019][A-Z][a-z]+(?:-[A-Z][a-z]+)*|[A-Z]\.)`;

/** Capitalised words that follow a title or label without being a name ("Dr. On Call", "Patient: Alert"). */
const NOT_NAMES = new Set(
  (
    "On Call Note Notes Office Orders Order Aware Notified The A An To Will Was Is Has Had Recommends Recommended Visit Appointment Team " +
    "Service Services Clinic Hospital Patient Pt Unit Floor Department Dept Page Paged Said Says Agrees Called Note Review Reviewed " +
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday Today Tomorrow Yesterday Unknown None Not Declined Refused Same See " +
    "Alert Oriented Stable Male Female Adult Child Infant Inpatient Outpatient Admitted Discharged Deceased Self Home " +
    "January February March April May June July August September October November December " +
    "MD DO RN NP PA Cardiology Neurology Oncology Surgery Medicine Radiology Pathology Psychiatry Pediatrics Emergency " +
    "Internal Family General Primary Care Attending Resident Nursing Covering Coordinator Manager Worker Therapist Pharmacist Technician " +
    "Chaplain Case Social Caller Contact Acct MRN DOB SSN Phone Fax Email Address Room Bed Ward Dr Mr Mrs Ms Mx Miss Prof"
  ).split(/\s+/),
);

const TITLE = String.raw`(?:Dr|Mr|Mrs|Ms|Mx|Miss|Prof|Doctor|Nurse|Sister|Father)`;
const NAME_LABEL = String.raw`(?:Patient(?:'s)?(?: Name)?|Pt(?: Name)?|Name|Attending(?: Physician)?|Resident|Intern|Fellow|PCP|Primary Care(?: Physician| Provider)?|Provider|Physician|Surgeon|Assistant|Anesthesiologist|Anesthesia|Nurse|RN|Case Manager|Social Worker|(?:Electronically )?Signed(?: by)?|Co-?signed(?: by)?|Dictated by|Transcribed by|Referred by|Referring(?: Physician| Provider)?|Emergency Contact|Next of Kin|NOK|Guardian|Contact|Spouse|Wife|Husband|Mother|Father|Daughter|Son|Caregiver|Interpreter|Author|Seen with)`;
const CREDENTIAL = String.raw`(?:MD|DO|RN|NP|PA-C|PA|DNP|PhD|MBBS|CNM|CRNA|LPN|FNP|ARNP|FACP|FACS)\b`;

function isNameWord(word: string): boolean {
  return !NOT_NAMES.has(word.replace(/\.$/, ""));
}

/** Keeps the leading name parts that look like a name ("Smith", "J. Smith", "Smith, John"); returns their length. */
function nameLength(candidate: string, maxParts: number): number {
  const partRe = new RegExp(String.raw`^${NAME_PART}`);
  let pos = 0;
  let kept = 0;
  let parts = 0;
  while (parts < maxParts) {
    const m = partRe.exec(candidate.slice(pos));
    if (!m || !isNameWord(m[0])) break;
    parts++;
    pos += m[0].length;
    kept = pos;
    const sep = /^,? /.exec(candidate.slice(pos));
    // A comma may follow only the first part ("Smith, John"); a line break always ends a name.
    if (!sep || (sep[0].startsWith(",") && parts > 1)) break;
    pos += sep[0].length;
  }
  return kept;
}

function* matches(text: string, re: RegExp): Generator<RegExpExecArray> {
  const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
  for (let m = global.exec(text); m; m = global.exec(text)) {
    if (m[0].length === 0) global.lastIndex++;
    yield m;
  }
}

/** The offset of capture group `group` within the match (groups are written so the first occurrence is the right one). */
function groupStart(m: RegExpExecArray, group: number): number {
  const whole = m[0];
  const g = m[group] ?? "";
  return m.index + whole.lastIndexOf(g, whole.length - g.length);
}

function push(out: Candidate[], category: PhiCategory, text: string, start: number, end: number, anchor = start): void {
  if (end > start) out.push({ category, start, end, text: text.slice(start, end), anchor });
}

function findEmails(text: string, out: Candidate[]): void {
  for (const m of matches(text, /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/)) push(out, "email", text, m.index, m.index + m[0].length);
}

function findUrls(text: string, out: Candidate[]): void {
  for (const m of matches(text, /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/i)) {
    let end = m.index + m[0].length;
    // Sentence punctuation and closing brackets after a URL are not part of it.
    while (end > m.index && /[.,;:!?)\]]/.test(text[end - 1] ?? "")) end--;
    push(out, "url", text, m.index, end);
  }
}

function findSsns(text: string, out: Candidate[]): void {
  for (const m of matches(text, /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/)) push(out, "ssn", text, m.index, m.index + m[0].length);
  const labelled = /\b(?:SSN|SS#|SS No\.?|Social Security(?: Number| No\.?| #)?)\s*[:#]?\s*(\d{3}[ -]?\d{2}[ -]?\d{4})(?![\d-])/i;
  for (const m of matches(text, labelled)) {
    const start = groupStart(m, 1);
    push(out, "ssn", text, start, start + (m[1] ?? "").length);
  }
}

function findRecordNumbers(text: string, out: Candidate[]): void {
  const label = String.raw`(?:MRN|MR#|MR No\.?|Med(?:ical)? Rec(?:ord)?\.?(?: No\.?| Number| #)|Medical Record(?: Number| No\.?| #)?|Acct\.?(?: No\.?| Number| #)?|Account(?: Number| No\.?| #)?|Patient ID|Pt ID|Encounter(?: No\.?| Number| #| ID)|FIN|CSN|Visit(?: No\.?| #| Number)|Chart(?: No\.?| #| Number)|Accession(?: No\.?| #| Number)?|Member ID|Insurance ID|Subscriber ID|Policy(?: No\.?| #| Number)|Health Plan(?: ID| Number)|Medicaid(?: ID| #)|Medicare(?: ID| #| Number))`;
  const re = new RegExp(String.raw`\b${label}\s*[:#]?\s*(?:is\s+)?([A-Z]{0,4}-?\d[\dA-Z-]{3,}\d|[A-Z]{0,4}-?\d{4,})(?![\w-])`, "gi");
  for (const m of matches(text, re)) {
    const value = m[1] ?? "";
    if ((value.match(/\d/g) ?? []).length < 4) continue;
    const start = groupStart(m, 1);
    push(out, "mrn", text, start, start + value.length);
  }
}

function findPhones(text: string, out: Candidate[]): void {
  const re = /(?<![\d-/.])(?:\+?1[\s.-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.-])[2-9]\d{2}[\s.-]\d{4}(?![\d-/]|\.\d)/;
  for (const m of matches(text, re)) push(out, "phone", text, m.index, m.index + m[0].length);
}

function findAddresses(text: string, out: Candidate[]): void {
  const suffix = String.raw`(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Alley|Row)`;
  const unit = String.raw`(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|#)\.?\s*#?[A-Z0-9-]+)?`;
  const cityStateZip = String.raw`(?:,\s*[A-Z][a-zA-Z]+(?: [A-Z][a-zA-Z]+){0,2},?\s+[A-Z]{2}\.?\s+\d{5}(?:-\d{4})?)?`;
  const street = new RegExp(String.raw`\b\d{1,6}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-zA-Z'-]*\s+){0,3}[A-Z][a-zA-Z'-]*\s+${suffix}\b\.?${unit}${cityStateZip}`);
  for (const m of matches(text, street)) {
    let end = m.index + m[0].length;
    // "Dr." ending a sentence keeps its period only when it abbreviates the street type.
    if (text[end - 1] === "." && /\s[A-Z]{2}\.$/.test(m[0])) end--;
    push(out, "address", text, m.index, end);
  }
  const poBox = new RegExp(String.raw`\bP\.?\s?O\.?\s?Box\s+\d+${cityStateZip}`, "i");
  for (const m of matches(text, poBox)) push(out, "address", text, m.index, m.index + m[0].length);
  // A city, state and ZIP code on their own ("Springfield, IL 62704").
  for (const m of matches(text, /\b[A-Z][a-zA-Z]+(?: [A-Z][a-zA-Z]+){0,2},\s*[A-Z]{2}\s+\d{5}(?:-\d{4})?\b/)) push(out, "address", text, m.index, m.index + m[0].length);
}

function findDates(text: string, out: Candidate[]): void {
  const numeric = [
    // 03/14/2024, 3-14-24, 14.03.2024: a day and month with a year.
    /(?<![\d/.-])(?:0?[1-9]|1[0-2])([/-])(?:0?[1-9]|[12]\d|3[01])\1(?:19|20)?\d{2}(?![\d/-]|\.\d)/,
    /(?<![\d/.-])(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:19|20)\d{2}(?![\d.])/,
    // A month and year: 10/2024.
    /(?<![\d/.-])(?:0?[1-9]|1[0-2])\/(?:19|20)\d{2}(?![\d/-]|\.\d)/,
    // ISO 2024-03-14.
    /(?<![\d-])(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\d-])/,
  ];
  for (const re of numeric) for (const m of matches(text, re)) push(out, "date", text, m.index, m.index + m[0].length);
  const named = [
    // March 14, 2024 / Mar. 14th / March 2024
    new RegExp(String.raw`\b${MONTH}\.?\s+(?:${DAY}${ORDINAL}(?:,?\s+(?:19|20)\d{2})?|(?:19|20)\d{2})\b`),
    // 14 March 2024 / 14th of March
    new RegExp(String.raw`\b${DAY}${ORDINAL}\s+(?:of\s+)?${MONTH}\.?(?:,?\s+(?:19|20)\d{2})?\b`),
  ];
  for (const re of named) {
    for (const m of matches(text, re)) {
      // "May" is also a verb: "may 2 ..." is lower case, so only a capitalised May counts (the regex is case-sensitive).
      push(out, "date", text, m.index, m.index + m[0].length);
    }
  }
  // A day and month without a year only after words that make it a date ("seen on 3/14"), never "BP 120/80".
  const short =
    /\b(?:on|since|from|until|till|through|thru|dated|DOB|born|seen|admitted|discharged|last seen|due)\s*:?\s+((?:0?[1-9]|1[0-2])\/(?:0?[1-9]|[12]\d|3[01]))(?![\d/])/gi;
  for (const m of matches(text, short)) {
    const start = groupStart(m, 1);
    push(out, "date", text, start, start + (m[1] ?? "").length);
  }
}

function findAges(text: string, out: Candidate[]): void {
  const patterns = [
    /(?<![\d.])(\d{2,3})\s*-?\s*(?:years?|yrs?|y)\.?\s*-?\s*(?:old|o\.?)\b/gi,
    /(?<![\d.])(\d{2,3})\s*(?:y\/o|yo|y\.o\.?|yrs?\b|years?\b)/gi,
    /\b(?:age|aged|Age:)\s*:?\s*(\d{2,3})(?![\d.])/gi,
  ];
  for (const re of patterns) {
    for (const m of matches(text, re)) {
      const value = Number(m[1]);
      if (value < 90 || value > 125) continue;
      const start = groupStart(m, 1);
      push(out, "age", text, start, start + (m[1] ?? "").length);
    }
  }
}

function findNames(text: string, out: Candidate[]): void {
  // Titles: Dr. Smith, Mrs O'Neil, Prof. J. Chen. Case-sensitive, so "MS" (morphine, multiple sclerosis) is no title.
  const titled = new RegExp(String.raw`\b${TITLE}\.?[ \t]+(?=[A-Z])`, "g");
  for (const m of matches(text, titled)) {
    const start = m.index + m[0].length;
    const length = nameLength(text.slice(start, start + 80), 3);
    if (length > 0) push(out, "name", text, start, start + length, m.index);
  }
  // Labels: "Patient: Maria Gonzalez", "Signed by: Anna Lee, MD". Two parts at least, or one with a comma after it.
  const labelled = new RegExp(String.raw`(?:^|[\n;.(]|\b)${NAME_LABEL}\s*:[ \t]*(?=[A-Z])`, "gim");
  for (const m of matches(text, labelled)) {
    const start = m.index + m[0].length;
    const slice = text.slice(start, start + 80);
    const length = nameLength(slice, 3);
    if (length === 0) continue;
    const name = slice.slice(0, length);
    const twoParts = /\s|,/.test(name.trim());
    if (twoParts) push(out, "name", text, start, start + length, m.index);
  }
  // Relatives and phrases that introduce a name: "son Daniel Moss", "wife Helen", "name is Oliver Bennett".
  const introduced =
    /\b(?:[Ss]on|[Dd]aughter|[Ww]ife|[Hh]usband|[Ss]pouse|[Pp]artner|[Bb]rother|[Ss]ister|[Mm]other|[Ff]ather|[Gg]randson|[Gg]randdaughter|[Nn]iece|[Nn]ephew|[Cc]aregiver|name is|named) (?=[A-Z])/g;
  for (const m of matches(text, introduced)) {
    const start = m.index + m[0].length;
    const length = nameLength(text.slice(start, start + 80), 3);
    if (length > 0) push(out, "name", text, start, start + length, m.index);
  }
  // Credentials: "Anna Lee, MD", "John K. Park RN".
  const credentialed = new RegExp(String.raw`\b(${NAME_PART}(?: ${NAME_PART}){1,2}),? ${CREDENTIAL}`, "g");
  for (const m of matches(text, credentialed)) {
    const words = (m[1] ?? "").split(/\s+/);
    // Drop leading words that are not names ("Seen by Anna Lee, MD" keeps "Anna Lee").
    let skip = 0;
    while (skip < words.length && !isNameWord(words[skip] ?? "")) skip++;
    // Three words are a name only with an initial in the middle ("Walter P. Greene"); else the first is a role.
    if (words.length - skip === 3 && !/^[A-Z]\.$/.test(words[skip + 1] ?? "")) skip++;
    const kept = words.slice(skip);
    if (kept.length < 2 || !kept.every(isNameWord)) continue;
    const name = kept.join(" ");
    const start = text.indexOf(name, m.index);
    if (start >= 0) push(out, "name", text, start, start + name.length);
  }
}

/** Every identifier found, in text order, without overlaps. */
export function detectPhi(text: string): PhiSpan[] {
  const candidates: Candidate[] = [];
  findEmails(text, candidates);
  findUrls(text, candidates);
  findSsns(text, candidates);
  findRecordNumbers(text, candidates);
  findPhones(text, candidates);
  findAddresses(text, candidates);
  findDates(text, candidates);
  findAges(text, candidates);
  findNames(text, candidates);

  const rank = (c: Candidate): number => PRIORITY.indexOf(c.category);
  candidates.sort((a, b) => rank(a) - rank(b) || b.end - b.start - (a.end - a.start) || a.start - b.start);
  // Characters already claimed, and those inside an address: linear in the text, whatever the number of findings.
  const claimed = new Uint8Array(text.length);
  const inAddress = new Uint8Array(text.length);
  const accepted: Candidate[] = [];
  for (const c of candidates) {
    let free = true;
    for (let i = c.start; i < c.end && free; i++) if (claimed[i]) free = false;
    // A "Dr." that is the end of a street address ("12 Oak Dr. Smith called") is no title.
    if (!free || (c.category === "name" && inAddress[c.anchor])) continue;
    claimed.fill(1, c.start, c.end);
    if (c.category === "address") inAddress.fill(1, c.start, c.end);
    accepted.push(c);
  }
  return accepted.sort((a, b) => a.start - b.start).map(({ category, start, end, text: t }) => ({ category, start, end, text: t }));
}

/** The text with every identifier replaced by a placeholder such as [NAME] or [PHONE]. */
export function scrubPhi(text: string, spans: readonly PhiSpan[] = detectPhi(text)): string {
  let out = "";
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    out += text.slice(at, span.start) + `[${span.category.toUpperCase()}]`;
    at = span.end;
  }
  return out + text.slice(at);
}

/** Counts per category, for a summary line ("3 names, 2 dates"). */
export function countByCategory(spans: readonly PhiSpan[]): Partial<Record<PhiCategory, number>> {
  const counts: Partial<Record<PhiCategory, number>> = {};
  for (const s of spans) counts[s.category] = (counts[s.category] ?? 0) + 1;
  return counts;
}

/**
 * detectPhi in slices cut at line ends, pausing between them, so a huge note (200,000 lines) never blocks
 * the editor for seconds. Identifiers do not cross lines, so the result is the same as detectPhi's.
 * Returns undefined when cancelled.
 */
export async function detectPhiInSlices(
  text: string,
  options: { sliceChars?: number; pause?: () => Promise<void>; isCancelled?: () => boolean; onProgress?: (fraction: number) => void } = {},
): Promise<PhiSpan[] | undefined> {
  const sliceChars = options.sliceChars ?? 100_000;
  const pause = options.pause ?? (() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
  const spans: PhiSpan[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + sliceChars);
    if (end < text.length) {
      const lineEnd = text.lastIndexOf("\n", end);
      end = lineEnd > start ? lineEnd + 1 : end;
    }
    for (const s of detectPhi(text.slice(start, end))) spans.push({ ...s, start: s.start + start, end: s.end + start });
    start = end;
    options.onProgress?.(start / text.length);
    if (start < text.length) {
      await pause();
      if (options.isCancelled?.()) return undefined;
    }
  }
  return spans;
}
