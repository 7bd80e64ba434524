/**
 * Words that name medicines. A plain-English word list drawn from film subtitles holds some of them
 * (aspirin, morphine, penicillin); a draft that names a medicine the note does not must still be flagged,
 * so these never count as plain English. Two parts: the USAN stems of generic drug names (suffixes such as
 * -pril, -olol, -statin: https://www.ama-assn.org/about/united-states-adopted-names/united-states-adopted-names-approved-stems),
 * and the medicines common enough in speech to be in the word list without such a stem. Pure.
 */

/** Endings of generic drug names (USAN stems), longest first where one ends another. */
export const DRUG_STEMS: readonly string[] = [
  "pril", "prilat", "olol", "alol", "sartan", "statin", "mab", "cillin", "mycin", "micin", "oxacin", "floxacin", "azole", "prazole",
  "dipine", "tidine", "gliptin", "gliflozin", "glitazone", "parin", "triptan", "caine", "cycline", "vir", "afil", "semide", "thiazide",
  "zepam", "azolam", "barbital", "codone", "morphone", "phine", "profen", "oxetine", "triptyline", "pramine", "xaban", "gatran",
  "sone", "olone", "asone", "tropium", "lukast", "setron", "fungin", "conazole", "tinib", "platin",
  "rubicin", "glutide", "gliptin", "formin", "tadine", "zosin", "nidine", "dronate", "tretin", "navir", "buvir", "lamide", "pamil",
  "tiazem", "oxicam", "pram", "azodone", "benzaprine", "thyroxine", "proxen", "setron", "thazine", "mazine", "perazine", "arone", "apine", "idone", "peridol", "ipramine", "quine", "dazole", "penem", "sulfa",
];

/** Medicines (and medicine classes) that are common English words, so the plain-English list holds them. */
export const COMMON_MEDICINE_WORDS: readonly string[] = [
  "aspirin", "insulin", "morphine", "penicillin", "codeine", "heroin", "methadone", "ibuprofen", "nitroglycerin", "adrenaline",
  "epinephrine", "cortisone", "steroid", "steroids", "antibiotic", "antibiotics", "antidepressant", "antidepressants", "valium",
  "tylenol", "advil", "motrin", "xanax", "prozac", "ritalin", "viagra", "benadryl", "lithium", "quinine", "digitalis", "opium",
  "opiates", "opioid", "opioids", "painkiller", "painkillers", "sedative", "sedatives", "tranquilizer", "tranquilizers", "warfarin",
  "heparin", "estrogen", "testosterone", "progesterone", "thyroxine", "iodine", "chemo", "chemotherapy", "vaccine", "vaccines",
  "antihistamine", "antihistamines", "laxative", "laxatives", "diuretic", "diuretics", "statin", "statins", "atropine", "ketamine",
  "lidocaine", "novocaine", "cocaine", "amphetamine", "amphetamines", "barbiturates", "oxycodone", "vicodin", "percocet", "ambien",
  "zoloft", "lexapro", "xanax", "klonopin", "ativan", "demerol", "dilaudid", "fentanyl", "naloxone", "narcan", "prednisone",
  "tetracycline", "amoxicillin", "sulfa", "nicotine", "caffeine", "melatonin", "acetaminophen", "paracetamol", "antacid", "antacids",
  "potassium", "magnesium", "calcium", "iron", "zinc", "vitamin", "vitamins", "botox", "saline",
];

const STEM_PATTERN = new RegExp(`(?:${[...new Set(DRUG_STEMS)].sort((a, b) => b.length - a.length).join("|")})s?$`);
const COMMON = new Set(COMMON_MEDICINE_WORDS);

/** Whether a lower-case word looks like a medicine's name (never plain English). */
export function isMedicineWord(word: string): boolean {
  const w = word.toLowerCase();
  if (COMMON.has(w)) return true;
  // Short words ending in a stem are ordinary English ("cef" aside, no stem is a word of its own).
  return w.length >= 6 && STEM_PATTERN.test(w);
}
