/**
 * Whether the passage a sentence cites supports it: the sentence's content words (Porter stems, English
 * stop words and hedging words left out; abbreviations matched to their long forms both ways) must mostly
 * be found in the cited passages, every number in the sentence must appear in them, and no other
 * retrieved source may cover the sentence clearly better. A lexical check: it catches a citation to the
 * wrong source and a changed figure, not a paraphrase that reverses the meaning. Pure.
 */
import { stem, STOP_WORDS, words } from "../index/analyzer";
import type { CheckedAnswer, CheckedSentence } from "./citationCheck";

/** Why a cited sentence was marked (absent when its sources support it). */
export type SupportProblem = "numbers" | "content" | "otherSource";

export interface SupportedSentence extends CheckedSentence {
  /** Set when the cited passages may not support the sentence. */
  unsupported?: SupportProblem;
  /** Share of the sentence's content terms found in its cited passages (0..1). */
  support?: number;
}

export interface SupportOptions {
  /** Short form -> long forms (lower case). Default: a small list of common clinical abbreviations. */
  abbreviations?: ReadonlyMap<string, readonly string[]>;
  /** A cited sentence with less of its content found than this is marked (default 0.6). */
  minSupport?: number;
  /** Marked too when another source covers this much more of it (default 0.2). */
  betterBy?: number;
}

/** Words that carry no claim of their own (beyond Lucene's stop words). */
const FILLER = new Set(
  "also although among based been being both can could did do does during each either found from had has have however may might more most much only other our over per should showed shown shows since so some than these those through thus under upon us using we were what when where whether which while who whose within would yet".split(
    " ",
  ),
);

/** A few abbreviations every clinician writes; an evaluation can pass a larger list. */
export const CLINICAL_ABBREVIATIONS: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries({
    mi: ["myocardial infarction"],
    htn: ["hypertension"],
    dm: ["diabetes mellitus"],
    t2dm: ["type 2 diabetes mellitus"],
    copd: ["chronic obstructive pulmonary disease"],
    chf: ["congestive heart failure"],
    hf: ["heart failure"],
    cad: ["coronary artery disease"],
    ckd: ["chronic kidney disease"],
    aki: ["acute kidney injury"],
    af: ["atrial fibrillation"],
    afib: ["atrial fibrillation"],
    dvt: ["deep vein thrombosis"],
    pe: ["pulmonary embolism"],
    uti: ["urinary tract infection"],
    icu: ["intensive care unit"],
    bmi: ["body mass index"],
    bp: ["blood pressure"],
    ci: ["confidence interval"],
    or: ["odds ratio"],
    rr: ["relative risk"],
    hr: ["hazard ratio", "heart rate"],
    rct: ["randomized controlled trial", "randomised controlled trial"],
    ct: ["computed tomography"],
    mri: ["magnetic resonance imaging"],
    ecg: ["electrocardiogram"],
    hiv: ["human immunodeficiency virus"],
    tb: ["tuberculosis"],
    gi: ["gastrointestinal"],
    ed: ["emergency department"],
    los: ["length of stay"],
    nsaid: ["nonsteroidal anti inflammatory drug"],
    ppi: ["proton pump inhibitor"],
    ace: ["angiotensin converting enzyme"],
    egfr: ["estimated glomerular filtration rate"],
    hba1c: ["glycated hemoglobin"],
  }).map(([k, v]) => [k, v]),
);

/** Content terms of a text: stems of words that are neither stop words nor filler nor numbers. */
export function contentTerms(text: string): string[] {
  const out: string[] = [];
  for (const word of words(text)) {
    if (STOP_WORDS.has(word) || FILLER.has(word) || /^\d/.test(word) || word.length < 2) continue;
    out.push(stem(word));
  }
  return out;
}

/** Numbers written in a text, normalised ("1,200" -> "1200", "0.50" -> "0.5"). */
export function numbersIn(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g)) {
    const n = match[0].replace(/,/g, "");
    out.push(n.includes(".") ? n.replace(/0+$/, "").replace(/\.$/, "") : n.replace(/^0+(?=\d)/, ""));
  }
  return out;
}

interface PassageIndex {
  terms: Set<string>;
  numbers: Set<string>;
}

function indexPassage(text: string, abbreviations: ReadonlyMap<string, readonly string[]>): PassageIndex {
  const terms = new Set(contentTerms(text));
  // An abbreviation in the passage stands for its long form's words too (the other way round is in coverage).
  for (const term of [...terms]) for (const long of abbreviations.get(term) ?? []) for (const t of contentTerms(long)) terms.add(t);
  return { terms, numbers: new Set(numbersIn(text)) };
}

/** Share of the sentence's content terms in the passage; an abbreviation counts when its long form's words are there. */
function coverage(sentence: string[], passage: PassageIndex, abbreviations: ReadonlyMap<string, readonly string[]>): number {
  if (sentence.length === 0) return 1;
  let found = 0;
  for (const t of sentence) {
    if (passage.terms.has(t)) found++;
    else if (abbreviations.get(t)?.some((long) => contentTerms(long).every((w) => passage.terms.has(w)))) found++;
  }
  return found / sentence.length;
}

/**
 * Checks each cited sentence of `answer` against `passages` (the retrieved sources' texts, 1-based as the
 * citations are). Uncited sentences stay as they are (already marked).
 */
export function checkSupport(
  answer: CheckedAnswer,
  passages: readonly string[],
  options: SupportOptions = {},
): CheckedAnswer & { sentences: SupportedSentence[]; unsupported: number } {
  // Keyed by stem, as the terms are.
  const abbreviations = new Map([...(options.abbreviations ?? CLINICAL_ABBREVIATIONS)].map(([short, longs]) => [stem(short), longs]));
  const minSupport = options.minSupport ?? 0.6;
  const betterBy = options.betterBy ?? 0.2;
  const indexed = passages.map((p) => indexPassage(p, abbreviations));
  let unsupported = 0;
  const sentences = answer.sentences.map((sentence): SupportedSentence => {
    const cited = sentence.citations.filter((n) => n >= 1 && n <= indexed.length).map((n) => indexed[n - 1]);
    if (cited.length === 0) return sentence;
    const merged: PassageIndex = { terms: new Set(cited.flatMap((p) => [...p.terms])), numbers: new Set(cited.flatMap((p) => [...p.numbers])) };
    const content = [...new Set(contentTerms(sentence.text))];
    const support = coverage(content, merged, abbreviations);
    let problem: SupportProblem | undefined;
    if (numbersIn(sentence.text).some((n) => !merged.numbers.has(n))) problem = "numbers";
    else if (support < minSupport) problem = "content";
    else {
      const best = Math.max(0, ...indexed.filter((p) => !cited.includes(p)).map((p) => coverage(content, p, abbreviations)));
      if (best >= support + betterBy) problem = "otherSource";
    }
    if (problem) unsupported++;
    return { ...sentence, support, ...(problem ? { unsupported: problem } : {}) };
  });
  return { ...answer, sentences, unsupported };
}

/** Reads an abbreviation list (tab-separated short form, long form; a header line is skipped). */
export function parseAbbreviations(tsv: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of tsv.split("\n").slice(1)) {
    const [short, long] = line.split("\t");
    if (!short || !long) continue;
    const key = short.trim().toLowerCase();
    const value = long.trim().toLowerCase();
    if (!/^[a-z0-9]+$/.test(key) || !value) continue;
    const list = out.get(key) ?? [];
    if (!list.includes(value)) list.push(value);
    out.set(key, list);
  }
  return out;
}
