/**
 * `npm run eval -- documents [--data DIR] [--limit N] [--seed N] [--examples N]`
 *
 * The no-new-facts check (src/documents/newFacts.ts) on drafts built from MTSamples notes
 * (../shared/data/mtsamples, the dev notes) by a scripted generator, so the truth of every sentence is known:
 * - faithful sentences: the note's own sentences rewritten as a drafting model would without adding facts:
 *   reordered (sentences shuffled, comma-separated parts swapped), abbreviations spelled out from the Medical
 *   Abbreviation Meta-Inventory (../shared/data/abbreviations, the most frequent long form of each upper-case
 *   short form), numbers with units written in words or in digits ("2 weeks" <-> "two weeks");
 * - planted inventions, one kind per sentence: a changed number (a value that is not a dose), a changed dose,
 *   a new date, a new drug's name, a flipped allergy (the negation dropped or added).
 * Each sentence is checked on its own against its note. Reported: the recall of each kind of invention
 * (an invention counts as found when a flag of its kind covers the planted words) and the false-flag rate
 * (faithful sentences with any flag, over all faithful sentences). Ends with one JSON line.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findNewFacts, isPlainWord, NoteFacts, type FactKind, type NewFact } from "../../src/documents/newFacts";
import { findDates, findQuantities, findSentences, findWords, SMALL_NUMBERS, TENS, type Quantity } from "../../src/documents/textFacts";
import { mulberry32 } from "../support/seededRandom";
import { readSampleNotes, sharedDataDir } from "../support/sharedData";

type PlantKind = "numbers" | "doses" | "dates" | "drugs" | "flipped_allergies";

/** Generic and brand names common in outpatient notes; one not in the note is planted. */
export const PLANTED_DRUGS = [
  "metoprolol",
  "lisinopril",
  "atorvastatin",
  "amlodipine",
  "metformin",
  "losartan",
  "omeprazole",
  "simvastatin",
  "levothyroxine",
  "gabapentin",
  "hydrochlorothiazide",
  "sertraline",
  "furosemide",
  "pantoprazole",
  "prednisone",
  "tramadol",
  "escitalopram",
  "montelukast",
  "rosuvastatin",
  "bupropion",
  "fluoxetine",
  "carvedilol",
  "trazodone",
  "meloxicam",
  "clopidogrel",
  "citalopram",
  "warfarin",
  "apixaban",
  "rivaroxaban",
  "glipizide",
  "spironolactone",
  "duloxetine",
  "venlafaxine",
  "tamsulosin",
  "allopurinol",
  "cyclobenzaprine",
  "oxycodone",
  "hydrocodone",
  "amoxicillin",
  "azithromycin",
  "ciprofloxacin",
  "doxycycline",
  "cephalexin",
  "clindamycin",
  "fluconazole",
  "ondansetron",
  "promethazine",
  "lorazepam",
  "alprazolam",
  "clonazepam",
  "insulin",
  "aspirin",
  "ibuprofen",
  "naproxen",
  "acetaminophen",
  "morphine",
  "penicillin",
  "Zyrtec",
  "Lipitor",
  "Xarelto",
];

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

function inWords(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 99) return undefined;
  if (n < 20) return SMALL_NUMBERS[n];
  return n % 10 === 0 ? TENS[n / 10] : `${TENS[Math.floor(n / 10)]}-${SMALL_NUMBERS[n % 10]}`;
}

/** Upper-case short form -> its most frequent long form, from the shared Meta-Inventory. */
export function readAbbreviations(dir: string): Map<string, string> {
  const best = new Map<string, { long: string; frequency: number }>();
  for (const line of readFileSync(join(dir, "abbreviations", "clinical_abbreviations_merged.tsv"), "utf8")
    .split("\n")
    .slice(1)) {
    const [short, long, , frequency] = line.split("\t");
    if (!short || !long || !/^[A-Z]{2,5}$/.test(short.toUpperCase()) || /[^a-z -]/i.test(long)) continue;
    const key = short.toUpperCase();
    const f = Number(frequency) || 0;
    const current = best.get(key);
    if (!current || f > current.frequency) best.set(key, { long: long.toLowerCase(), frequency: f });
  }
  return new Map([...best].map(([k, v]) => [k, v.long]));
}

interface Planted {
  kind: PlantKind;
  sentence: string;
  /** The planted words' range in the sentence. */
  start: number;
  end: number;
}

const FLAG_KINDS: Record<PlantKind, readonly FactKind[]> = {
  numbers: ["number", "dose"],
  doses: ["dose", "number"],
  dates: ["date", "number"],
  drugs: ["word"],
  flipped_allergies: ["negation"],
};

function found(flags: readonly NewFact[], plant: Planted): boolean {
  return flags.some((f) => FLAG_KINDS[plant.kind].includes(f.kind) && f.start < plant.end && f.end > plant.start);
}

/** A sentence worth drafting from: words, not just a section header. */
function usable(text: string): boolean {
  return findWords(text).length >= 3 && !/^[A-Z][A-Z /&()-]+:?$/.test(text.trim());
}

/** The sentence with its header ("ALLERGIES: ") dropped. */
function body(text: string): string {
  return text.replace(/^[A-Z][A-Z /&()-]{1,60}:\s*/, "").trim();
}

export function faithfulRewrite(sentence: string, abbreviations: ReadonlyMap<string, string>, random: () => number): string {
  let text = body(sentence);
  // Abbreviations spelled out (the note's own upper-case shorthand only).
  text = text.replace(/\b[A-Z]{2,5}\b/g, (short) => abbreviations.get(short) ?? short);
  // Numbers with units in words, or number words in digits.
  const quantities = findQuantities(text)
    .filter((q) => q.unit !== undefined)
    .reverse();
  for (const q of quantities) {
    const digits = /^\d/.test(q.text);
    const n = Number(q.value);
    let replacement: string | undefined;
    if (digits && random() < 0.7) {
      const words = inWords(n);
      if (words) replacement = q.text.replace(/^[\d.,]+/, words);
    } else if (!digits) replacement = q.text.replace(/^[a-z]+(?:[\s-][a-z]+)?(?=[\s-]*[^\s-]*$)/i, String(n));
    if (replacement) text = text.slice(0, q.start) + replacement + text.slice(q.end);
  }
  // Reordered: two comma-separated parts swapped.
  const parts = text.replace(/[.]$/, "").split(/,\s+/);
  if (parts.length >= 2 && random() < 0.5) {
    const i = Math.floor(random() * (parts.length - 1));
    [parts[i], parts[i + 1]] = [parts[i + 1]!, parts[i]!];
    text = `${parts.join(", ")}.`;
  }
  return text;
}

function changedValue(q: Quantity, noteValues: ReadonlySet<string>, random: () => number): string | undefined {
  const n = Number(q.value);
  if (!Number.isFinite(n)) return undefined;
  const options = [n * 10, n + 1 + Math.floor(random() * 9), n > 2 ? Math.round(n / 2) : n + 20, n * 2].map((v) => String(Math.round(v * 100) / 100));
  const fresh = options.filter((v) => v !== q.value && !noteValues.has(v));
  return fresh.length > 0 ? fresh[Math.floor(random() * fresh.length)] : undefined;
}

export function plant(note: string, facts: NoteFacts, random: () => number): Planted[] {
  const sentences = findSentences(note).filter((s) => usable(s.text));
  const out: Planted[] = [];
  const values = (unit: string | undefined): Set<string> =>
    new Set(facts.quantities.filter((q) => q.unit === unit || q.unit === undefined || unit === undefined).map((q) => q.value));
  const pick = <T>(items: readonly T[]): T | undefined => (items.length > 0 ? items[Math.floor(random() * items.length)] : undefined);

  // Changed numbers and doses: one value in a sentence, replaced.
  for (const kind of ["numbers", "doses"] as const) {
    const candidates = sentences.flatMap((s) => {
      const text = body(s.text);
      return findQuantities(text)
        .filter((q) => /^\d/.test(q.text) && !/\//.test(q.value) && (kind === "doses" ? q.kind === "dose" : q.kind === "number"))
        .filter((q) => !findDates(text).some((d) => q.start < d.end && q.end > d.start))
        .map((q) => ({ text, q }));
    });
    const chosen = pick(candidates);
    if (!chosen) continue;
    const value = changedValue(chosen.q, values(chosen.q.unit), random);
    if (!value) continue;
    const digits = chosen.q.text.match(/^[\d.,]+/)![0];
    const sentence = chosen.text.slice(0, chosen.q.start) + value + chosen.text.slice(chosen.q.start + digits.length);
    out.push({ kind, sentence, start: chosen.q.start, end: chosen.q.start + value.length });
  }

  // A new date, in one of the forms notes use.
  const year = 2000 + Math.floor(random() * 26);
  const month = 1 + Math.floor(random() * 12);
  const day = 1 + Math.floor(random() * 28);
  const forms = [`${MONTHS[month - 1]} ${day}, ${year}`, `${month}/${day}/${year}`, `${day} ${MONTHS[month - 1]} ${year}`, `${MONTHS[month - 1]} ${day}`];
  const date = forms[Math.floor(random() * forms.length)]!;
  const taken = findDates(date)[0];
  if (taken && !facts.dates.some((d) => d.month === month && d.day === day)) {
    const base = pick(sentences);
    const lead = random() < 0.5 ? "Follow up on " : "Return to clinic on ";
    const prefix = base ? `${body(base.text).replace(/[.]?$/, ".")} ` : "";
    const sentence = `${prefix}${lead}${date}.`;
    out.push({ kind: "dates", sentence, start: prefix.length + lead.length, end: prefix.length + lead.length + date.length });
  }

  // A new drug's name, in a sentence of the note about medicines or added to one.
  const drug = pick(PLANTED_DRUGS.filter((d) => !facts.hasWord(d)));
  if (drug) {
    const medicine = sentences.find((s) => /MEDICATION/i.test(s.text) || /\b(?:started|continue|take|taking|prescribed)\b/i.test(s.text));
    const base = body((medicine ?? pick(sentences))?.text ?? "");
    const lead = base ? `${base.replace(/[.]?$/, ".")} ` : "";
    const templates = [
      `She was also started on ${drug}.`,
      `Continue ${drug} as before.`,
      `${drug[0]!.toUpperCase()}${drug.slice(1)} was added.`,
      `He takes ${drug} every morning.`,
    ];
    const added = templates[Math.floor(random() * templates.length)]!;
    const at = added.toLowerCase().indexOf(drug.toLowerCase());
    out.push({ kind: "drugs", sentence: lead + added, start: lead.length + at, end: lead.length + at + drug.length });
  }

  // A flipped allergy: the note's allergy statement with its negation dropped or added.
  const allergyLines = noteAllergyStatements(note);
  const allergy = pick(allergyLines);
  if (allergy) {
    const flipped = flipAllergy(allergy);
    if (flipped) out.push({ kind: "flipped_allergies", sentence: flipped, start: 0, end: flipped.length });
  }
  return out;
}

/** The note's statements about allergies: sentences that mention one, and the ALLERGIES section's lines. */
export function noteAllergyStatements(note: string): string[] {
  const out: string[] = [];
  let section = "";
  for (const s of findSentences(note)) {
    const header = /^([A-Z][A-Z /&()-]{1,60}):/.exec(s.text);
    if (header) section = header[1]!;
    const text = body(s.text);
    if (!text || !/[a-z]/i.test(text)) continue;
    if (/allerg|NKDA|NKA\b/i.test(text)) out.push(text);
    else if (/ALLERG/.test(section) && findWords(text).length <= 8) out.push(`Allergies: ${text}`);
  }
  return out;
}

const NEGATED_ALLERGY: ReadonlyArray<[RegExp, string]> = [
  [/\bNKDA\b/i, "known drug allergies"],
  [/\bNKA\b/i, "known allergies"],
  [/\bno known\b/i, "known"],
  [/\bno\b/i, "has"],
  [/\bdenies\b/i, "reports"],
  [/\bnot\b/i, ""],
  [/\bnone\b/i, "several"],
];

export function flipAllergy(statement: string): string | undefined {
  for (const [pattern, replacement] of NEGATED_ALLERGY) {
    if (pattern.test(statement))
      return statement
        .replace(pattern, replacement)
        .replace(/\s{2,}/g, " ")
        .trim();
  }
  // A positive statement ("allergic to sulfa", "Allergies: Penicillin"): say there is no such allergy.
  const named =
    /\ballergic to ([A-Za-z][\w -]{2,40})/i.exec(statement) ?? /^Allergies:\s*([A-Za-z][\w -]{2,40})\.?$/i.exec(statement) ?? /\b([A-Za-z]{4,}) allerg/i.exec(statement);
  const allergen = named?.[1]?.trim().split(/\s+/).slice(0, 3).join(" ");
  // An allergen is a name (a medicine, a substance), not an ordinary word: "possible allergic reaction" is none.
  if (!allergen || isPlainWord(allergen.split(" ")[0]!)) return undefined;
  return `No allergy to ${allergen.toLowerCase()}.`;
}

export async function run(args: string[]): Promise<void> {
  const option = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (option("data")) process.env.BEDSIDE_SHARED_DATA = option("data");
  const dir = sharedDataDir();
  if (!dir) {
    console.error("No evaluation data: ../shared/data (or --data DIR) is absent.");
    process.exitCode = 2;
    return;
  }
  const limit = Number(option("limit") ?? 1000);
  const seed = Number(option("seed") ?? 18);
  const examples = Number(option("examples") ?? 8);
  const random = mulberry32(seed);
  const abbreviations = readAbbreviations(dir);
  const notes = readSampleNotes(limit);
  const planted: Record<PlantKind, { total: number; found: number; missed: string[] }> = {
    numbers: { total: 0, found: 0, missed: [] },
    doses: { total: 0, found: 0, missed: [] },
    dates: { total: 0, found: 0, missed: [] },
    drugs: { total: 0, found: 0, missed: [] },
    flipped_allergies: { total: 0, found: 0, missed: [] },
  };
  let faithful = 0;
  let falseFlagged = 0;
  const falseExamples: string[] = [];
  const started = Date.now();
  for (const note of notes) {
    const facts = new NoteFacts(note.text);
    const sentences = findSentences(note.text).filter((s) => usable(s.text));
    const order = sentences
      .map((s) => ({ s, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.s);
    for (const s of order.slice(0, 12)) {
      const sentence = faithfulRewrite(s.text, abbreviations, random);
      if (!findWords(sentence).length) continue;
      faithful++;
      const flags = findNewFacts(facts, sentence);
      if (flags.length > 0) {
        falseFlagged++;
        if (falseExamples.length < examples) falseExamples.push(`${note.id}: ${sentence.slice(0, 140)} -> ${flags.map((f) => `${f.kind}:${f.text}`).join(", ")}`);
      }
    }
    for (const p of plant(note.text, facts, random)) {
      const tally = planted[p.kind];
      tally.total++;
      if (found(findNewFacts(facts, p.sentence), p)) tally.found++;
      else if (tally.missed.length < examples) tally.missed.push(`${note.id}: ${p.sentence.slice(Math.max(0, p.start - 60), p.end + 20)} [${p.sentence.slice(p.start, p.end)}]`);
    }
  }
  const recall = (k: PlantKind): number => (planted[k].total > 0 ? Math.round((planted[k].found / planted[k].total) * 1000) / 1000 : 0);
  const rate = faithful > 0 ? Math.round((falseFlagged / faithful) * 1000) / 1000 : 0;

  console.log(`Draft check on ${notes.length} MTSamples notes (seed ${seed}), ${Math.round((Date.now() - started) / 100) / 10} s`);
  console.log("");
  console.log("| planted | found | recall |");
  console.log("|---|---|---|");
  for (const k of Object.keys(planted) as PlantKind[]) console.log(`| ${k.replace("_", " ")} | ${planted[k].found} / ${planted[k].total} | ${recall(k).toFixed(3)} |`);
  console.log(`| faithful sentences flagged | ${falseFlagged} / ${faithful} | ${rate.toFixed(3)} |`);
  for (const k of Object.keys(planted) as PlantKind[]) if (planted[k].missed.length > 0) console.log(`\nMissed ${k}:\n  ${planted[k].missed.join("\n  ")}`);
  if (falseExamples.length > 0) console.log(`\nFaithful sentences flagged (first ${falseExamples.length}):\n  ${falseExamples.join("\n  ")}`);
  console.log(
    JSON.stringify({
      eval: "documents",
      notes: notes.length,
      seed,
      recall_numbers: recall("numbers"),
      recall_doses: recall("doses"),
      recall_dates: recall("dates"),
      recall_drugs: recall("drugs"),
      recall_flipped_allergies: recall("flipped_allergies"),
      false_flag_rate: rate,
      planted: Object.fromEntries(Object.entries(planted).map(([k, v]) => [k, v.total])),
      faithful_sentences: faithful,
    }),
  );
}
