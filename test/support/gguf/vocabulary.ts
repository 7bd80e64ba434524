/**
 * Vocabularies for generated test models: a SentencePiece-style one (llama.cpp's "llama" / SPM tokenizer)
 * and a WordPiece one (llama.cpp's "bert" / WPM tokenizer), built from a list of common English and
 * clinical words.
 */
import { SeededRandom } from "./seededTensors";

/** llama.cpp's token types (`enum llama_token_type` in llama.h). */
export const TokenType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** SentencePiece's word-boundary marker (U+2581 LOWER ONE EIGHTH BLOCK); llama.cpp maps spaces to it. */
export const SPACE_MARKER = "\u2581";

/** A few hundred words a clinical note uses, plus common English glue. Order does not matter. */
export const CLINICAL_WORDS: readonly string[] = [
  // common English
  "the",
  "a",
  "an",
  "and",
  "or",
  "but",
  "not",
  "no",
  "yes",
  "of",
  "to",
  "in",
  "on",
  "at",
  "for",
  "with",
  "without",
  "by",
  "from",
  "as",
  "is",
  "are",
  "was",
  "were",
  "be",
  "been",
  "has",
  "have",
  "had",
  "he",
  "she",
  "they",
  "his",
  "her",
  "their",
  "it",
  "this",
  "that",
  "these",
  "there",
  "which",
  "who",
  "when",
  "after",
  "before",
  "since",
  "during",
  "over",
  "under",
  "about",
  "than",
  "then",
  "also",
  "if",
  "so",
  "very",
  "more",
  "less",
  "most",
  "some",
  "any",
  "all",
  "each",
  "per",
  "up",
  "down",
  "out",
  "new",
  "old",
  "left",
  "right",
  "both",
  "other",
  "same",
  "day",
  "days",
  "week",
  "weeks",
  "month",
  "months",
  "year",
  "years",
  "today",
  "yesterday",
  "morning",
  "night",
  "time",
  "times",
  "will",
  "would",
  "should",
  "may",
  "can",
  "could",
  "did",
  "does",
  "do",
  "one",
  "two",
  "three",
  "four",
  "five",
  "first",
  "second",
  "last",
  "next",
  "well",
  "good",
  "poor",
  "mild",
  "moderate",
  "severe",
  "acute",
  "chronic",
  "recent",
  "stable",
  "normal",
  "abnormal",
  "positive",
  "negative",
  "high",
  "low",
  "increased",
  "decreased",
  "denies",
  "reports",
  "states",
  "notes",
  "started",
  "stopped",
  "continue",
  "continued",
  "start",
  "stop",
  "take",
  "taking",
  "given",
  "seen",
  "noted",
  "likely",
  "unlikely",
  "possible",
  "consider",
  "rule",
  "follow",
  "return",
  "call",
  "needed",
  // people and settings
  "patient",
  "patients",
  "male",
  "female",
  "man",
  "woman",
  "child",
  "mother",
  "father",
  "family",
  "doctor",
  "nurse",
  "hospital",
  "clinic",
  "emergency",
  "department",
  "admission",
  "admitted",
  "discharge",
  "discharged",
  "visit",
  "referral",
  "referred",
  "primary",
  "care",
  "team",
  "home",
  "ward",
  "bed",
  // note sections
  "history",
  "present",
  "illness",
  "chief",
  "complaint",
  "past",
  "medical",
  "surgical",
  "social",
  "review",
  "systems",
  "physical",
  "exam",
  "examination",
  "vital",
  "signs",
  "assessment",
  "plan",
  "impression",
  "diagnosis",
  "differential",
  "allergies",
  "allergy",
  "medications",
  "medication",
  "labs",
  "laboratory",
  "imaging",
  "results",
  "findings",
  "summary",
  "subjective",
  "objective",
  "problem",
  "list",
  "course",
  "progress",
  "note",
  "notes",
  "orders",
  "instructions",
  "question",
  "answer",
  "user",
  "assistant",
  "system",
  // symptoms and findings
  "pain",
  "chest",
  "abdominal",
  "abdomen",
  "head",
  "headache",
  "back",
  "neck",
  "arm",
  "leg",
  "knee",
  "hip",
  "shoulder",
  "foot",
  "hand",
  "eye",
  "ear",
  "throat",
  "skin",
  "fever",
  "chills",
  "cough",
  "sputum",
  "shortness",
  "breath",
  "dyspnea",
  "wheezing",
  "nausea",
  "vomiting",
  "diarrhea",
  "constipation",
  "fatigue",
  "weakness",
  "dizziness",
  "syncope",
  "palpitations",
  "swelling",
  "edema",
  "rash",
  "itching",
  "bleeding",
  "bruising",
  "weight",
  "loss",
  "gain",
  "appetite",
  "sleep",
  "confusion",
  "anxiety",
  "depression",
  "numbness",
  "tingling",
  "tenderness",
  "radiating",
  "sharp",
  "dull",
  "pressure",
  "tightness",
  "burning",
  "onset",
  "sudden",
  "gradual",
  "intermittent",
  "constant",
  "worse",
  "better",
  "relieved",
  "exertion",
  "rest",
  "lying",
  "sitting",
  "standing",
  "walking",
  // body systems and organs
  "heart",
  "lung",
  "lungs",
  "liver",
  "kidney",
  "kidneys",
  "brain",
  "blood",
  "bone",
  "muscle",
  "joint",
  "stomach",
  "bowel",
  "bladder",
  "urine",
  "cardiac",
  "pulmonary",
  "renal",
  "hepatic",
  "neurologic",
  "respiratory",
  "vascular",
  "venous",
  "arterial",
  "coronary",
  "artery",
  // vitals and measurements
  "temperature",
  "pulse",
  "rate",
  "rhythm",
  "regular",
  "irregular",
  "oxygen",
  "saturation",
  "room",
  "air",
  "systolic",
  "diastolic",
  "mmHg",
  "bpm",
  "kg",
  "cm",
  "mg",
  "mcg",
  "ml",
  "mL",
  "mmol",
  "units",
  "dose",
  "level",
  "levels",
  "count",
  "score",
  // conditions
  "hypertension",
  "diabetes",
  "mellitus",
  "type",
  "asthma",
  "copd",
  "pneumonia",
  "infection",
  "sepsis",
  "stroke",
  "myocardial",
  "infarction",
  "angina",
  "failure",
  "atrial",
  "fibrillation",
  "embolism",
  "thrombosis",
  "deep",
  "vein",
  "cancer",
  "tumor",
  "fracture",
  "injury",
  "trauma",
  "obesity",
  "anemia",
  "hyperlipidemia",
  "cholesterol",
  "glucose",
  "insulin",
  "thyroid",
  "migraine",
  "seizure",
  "dementia",
  "arthritis",
  "gout",
  "ulcer",
  "reflux",
  "gastritis",
  "appendicitis",
  "cholecystitis",
  "pancreatitis",
  "urinary",
  "tract",
  "cellulitis",
  "influenza",
  "covid",
  "viral",
  "bacterial",
  // tests and procedures
  "ecg",
  "ekg",
  "troponin",
  "x",
  "ray",
  "ct",
  "mri",
  "ultrasound",
  "scan",
  "echo",
  "echocardiogram",
  "culture",
  "biopsy",
  "surgery",
  "procedure",
  "test",
  "tests",
  "panel",
  "complete",
  "metabolic",
  "cbc",
  "hemoglobin",
  "white",
  "cell",
  "cells",
  "platelets",
  "sodium",
  "potassium",
  "creatinine",
  "lactate",
  // treatment
  "daily",
  "twice",
  "once",
  "every",
  "hours",
  "oral",
  "orally",
  "intravenous",
  "iv",
  "po",
  "prn",
  "bid",
  "tid",
  "qid",
  "tablet",
  "tablets",
  "aspirin",
  "heparin",
  "warfarin",
  "metformin",
  "lisinopril",
  "amlodipine",
  "atorvastatin",
  "metoprolol",
  "furosemide",
  "albuterol",
  "prednisone",
  "antibiotics",
  "amoxicillin",
  "ibuprofen",
  "acetaminophen",
  "morphine",
  "nitroglycerin",
  "saline",
  "fluids",
  "therapy",
  "treatment",
  "management",
  "monitor",
  "monitoring",
  "increase",
  "decrease",
  "adjust",
  "prescribed",
  "smoking",
  "alcohol",
  "tobacco",
  "diet",
  "exercise",
  "education",
  "counseling",
  "risk",
  "factors",
];

export interface SpmVocabularyOptions {
  readonly words?: readonly string[];
  /** Include `<fim_prefix>`, `<fim_suffix>`, `<fim_middle>` (default true). */
  readonly fim?: boolean;
  /** Pad with generated word pieces up to this many tokens (default: no padding). */
  readonly size?: number;
  /** Seed for the padding pieces. */
  readonly seed?: number;
}

export interface SpmVocabulary {
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  readonly types: Int32Array;
  readonly unk: number;
  readonly bos: number;
  readonly eos: number;
  readonly imStart: number;
  readonly imEnd: number;
  readonly fim: { readonly prefix: number; readonly suffix: number; readonly middle: number } | undefined;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * Collects pieces so that every prefix of every piece is itself a piece. llama.cpp's SPM tokenizer starts
 * from single characters and repeatedly merges the adjacent pair whose concatenation is a token with the
 * best score; with all prefixes present a word can always be built up left to right.
 */
class PrefixClosedPieces {
  readonly pieces: string[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly reserved: ReadonlySet<string>) {}

  get size(): number {
    return this.pieces.length;
  }

  /** Adds the piece and its missing prefixes, shortest first; stops early (still prefix-closed) at `limit`. */
  add(piece: string, limit = Infinity): void {
    const chars = Array.from(piece); // by code point, so "▁" is one character
    for (let end = 1; end <= chars.length; end++) {
      if (this.pieces.length >= limit) return;
      const prefix = chars.slice(0, end).join("");
      if (this.seen.has(prefix) || this.reserved.has(prefix)) continue;
      this.seen.add(prefix);
      this.pieces.push(prefix);
    }
  }
}

const SYLLABLE_ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "cl", "st", "tr", "ph", "th"];
const SYLLABLE_VOWELS = ["a", "e", "i", "o", "u", "ia", "io", "ae", "ou"];
const SYLLABLE_CODAS = ["", "", "n", "l", "s", "r", "x", "m", "st", "ct"];

/** A made-up pronounceable word ("trionex", "phaelst") for padding a vocabulary to a real model's size. */
function syllableWord(rng: SeededRandom): string {
  const syllables = 1 + rng.nextInt(3);
  let word = "";
  for (let i = 0; i < syllables; i++) {
    word += SYLLABLE_ONSETS[rng.nextInt(SYLLABLE_ONSETS.length)];
    word += SYLLABLE_VOWELS[rng.nextInt(SYLLABLE_VOWELS.length)];
    word += SYLLABLE_CODAS[rng.nextInt(SYLLABLE_CODAS.length)];
  }
  return word;
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * A SentencePiece-style vocabulary laid out as Llama 2's: `<unk>` `<s>` `</s>`, the 256 byte tokens
 * `<0x00>`..`<0xFF>` (byte fallback, so any Unicode text tokenizes), control tokens (ChatML, FIM), then
 * word pieces: printable ASCII characters, and each word lower-case and capitalised, with and without the
 * leading "▁", with every prefix present.
 *
 * Scores grow with piece length (ties broken by order), so the merge loop always prefers extending a longer
 * piece and words come out whole.
 */
export function buildSpmVocabulary(options: SpmVocabularyOptions = {}): SpmVocabulary {
  const words = options.words ?? CLINICAL_WORDS;
  const withFim = options.fim ?? true;

  const tokens: string[] = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  const control = (text: string): number => {
    tokens.push(text);
    types.push(TokenType.CONTROL);
    return tokens.length - 1;
  };
  const imStart = control("<|im_start|>");
  const imEnd = control("<|im_end|>");
  const fim = withFim ? { prefix: control("<fim_prefix>"), suffix: control("<fim_suffix>"), middle: control("<fim_middle>") } : undefined;
  const specialCount = tokens.length;

  const pieces = new PrefixClosedPieces(new Set(tokens));
  pieces.add(SPACE_MARKER);
  for (let c = 0x21; c < 0x7f; c++) {
    const ch = String.fromCharCode(c);
    pieces.add(ch);
    pieces.add(SPACE_MARKER + ch);
  }
  for (const word of words) {
    for (const form of new Set([word, capitalize(word)])) {
      pieces.add(SPACE_MARKER + form);
      pieces.add(form);
    }
  }

  if (options.size !== undefined) {
    const room = options.size - specialCount;
    if (pieces.size > room) {
      throw new Error(`vocabulary of ${options.size} is too small for ${specialCount + pieces.size} tokens`);
    }
    const rng = new SeededRandom(options.seed ?? 1);
    while (pieces.size < room) pieces.add(SPACE_MARKER + syllableWord(rng), room);
  }

  const scores = new Float32Array(specialCount + pieces.size);
  pieces.pieces.forEach((piece, i) => {
    tokens.push(piece);
    types.push(TokenType.NORMAL);
    scores[specialCount + i] = Array.from(piece).length - i * 1e-5;
  });

  return {
    tokens,
    scores,
    types: Int32Array.from(types),
    unk: 0,
    bos: 1,
    eos: 2,
    imStart,
    imEnd,
    fim,
  };
}

export interface WpmVocabulary {
  readonly tokens: readonly string[];
  readonly types: Int32Array;
  readonly pad: number;
  readonly unk: number;
  readonly cls: number;
  readonly sep: number;
  readonly mask: number;
}

/**
 * A WordPiece vocabulary as llama.cpp's converter writes BERT's: word-initial pieces carry "▁" (in place
 * of the absence of "##"), continuation pieces are bare. llama.cpp's WPM tokenizer lower-cases (when
 * `tokenizer.ggml.normalizer.lowercase` says so), splits on whitespace and punctuation, then matches the
 * longest piece; a word it cannot cover becomes `[UNK]`. Single letters and digits as both kinds of
 * piece mean any ASCII word is covered.
 */
export function buildWpmVocabulary(words: readonly string[] = CLINICAL_WORDS): WpmVocabulary {
  const tokens: string[] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  const types: number[] = [TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL];
  const seen = new Set(tokens);
  const add = (piece: string): void => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(TokenType.NORMAL);
  };
  for (let c = 0x21; c < 0x7f; c++) {
    const ch = String.fromCharCode(c).toLowerCase();
    add(SPACE_MARKER + ch);
    add(ch);
  }
  for (const word of words) add(SPACE_MARKER + word.toLowerCase());
  for (const suffix of ["s", "es", "ed", "ing", "ly", "al", "ic", "ion", "ive", "ness", "ment", "itis", "emia", "ology"]) {
    add(suffix);
  }
  return { tokens, types: Int32Array.from(types), pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };
}
