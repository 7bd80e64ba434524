/**
 * Fitting the differential into the model's context (Meditron-7B: 2,048 tokens). Every answer must fit
 * beside its prompt, and the bound is exact rather than hopeful: the grammar's longest possible answer,
 * in characters, is an upper bound on its tokens. When the whole note plus the smallest useful answer
 * does not fit, the note is read section by section for key findings first (sections too long on their
 * own are split by phrases), and the differential is built from those. Pure: the token counter is passed in.
 */
import type { CandidatePhrase } from "./candidates";
import { evidencePrompt, keyFindingsPrompt, notePrefix, rankedListPrompt } from "./prompt";
import { DEFAULT_LIMITS, MINIMUM_LIMITS, evidenceSchema, keyFindingsSchema, rankedListSchema, worstCaseChars, type DdxLimits } from "./schema";

export type CountTokens = (text: string) => Promise<number>;

/** Tokens kept free beside prompt and answer (BOS, a stop token, rounding). */
export const CONTEXT_MARGIN = 8;

/** Each step makes the answer smaller; they are tried in order until it fits. */
const SHRINK_STEPS: ReadonlyArray<(l: DdxLimits) => DdxLimits> = [
  (l) => ({ ...l, nextStepChars: 48 }),
  (l) => ({ ...l, findingsAgainst: 1 }),
  (l) => ({ ...l, diagnoses: 4 }),
  (l) => ({ ...l, findingsFor: 2 }),
  (l) => ({ ...l, nextSteps: 1 }),
  (l) => ({ ...l, diagnoses: 3, nameChars: 40 }),
  (l) => ({ ...l, findingsFor: 1, nextStepChars: 40 }),
  () => MINIMUM_LIMITS,
];

/** The limits to try, from the default answer down to the smallest useful one. */
export function limitLadder(start: DdxLimits = DEFAULT_LIMITS): DdxLimits[] {
  const ladder = [start];
  for (const step of SHRINK_STEPS) ladder.push(step(ladder[ladder.length - 1]!));
  return ladder;
}

export interface DifferentialFit {
  limits: DdxLimits;
  prefix: string;
  /** Prompt tokens of the ranked-list and (worst) evidence prompts. */
  rankedPromptTokens: number;
  evidencePromptTokens: number;
}

/**
 * The largest limits under which both answers fit beside their prompts, or undefined when even the
 * smallest answer does not (the note is too long to read whole).
 */
export async function fitDifferential(
  noteText: string,
  mode: "whole" | "keyFindings",
  phrases: readonly string[],
  contextSize: number,
  countTokens: CountTokens,
  start: DdxLimits = DEFAULT_LIMITS,
): Promise<DifferentialFit | undefined> {
  const prefix = notePrefix(noteText, mode);
  const rankedPromptTokens = await countTokens(rankedListPrompt(prefix));
  if (rankedPromptTokens + CONTEXT_MARGIN >= contextSize) return undefined;
  let evidenceTokensForName = new Map<number, number>();
  for (const limits of limitLadder(start)) {
    let evidencePromptTokens = evidenceTokensForName.get(limits.nameChars);
    if (evidencePromptTokens === undefined) {
      // The diagnosis name is part of the evidence prompt; count the longest one the grammar allows.
      evidencePromptTokens = await countTokens(evidencePrompt(prefix, "M".repeat(limits.nameChars)));
      evidenceTokensForName = new Map(evidenceTokensForName).set(limits.nameChars, evidencePromptTokens);
    }
    const ranked = rankedPromptTokens + worstCaseChars(rankedListSchema(limits)) + CONTEXT_MARGIN;
    const evidence = evidencePromptTokens + worstCaseChars(evidenceSchema(phrases, limits)) + CONTEXT_MARGIN;
    if (ranked <= contextSize && evidence <= contextSize) return { limits, prefix, rankedPromptTokens, evidencePromptTokens };
  }
  return undefined;
}

/** One extraction request of a long note: a section, or a part of one that is too long on its own. */
export interface ExtractionPart {
  section: string;
  phrases: CandidatePhrase[];
  prompt: string;
  promptTokens: number;
}

/**
 * Splits the note's phrases into extraction requests that each fit: whole sections where they do, else
 * runs of consecutive phrases. A single phrase always fits (phrases are short).
 */
export async function planExtraction(
  phrases: readonly CandidatePhrase[],
  contextSize: number,
  countTokens: CountTokens,
  limits: DdxLimits = DEFAULT_LIMITS,
): Promise<ExtractionPart[]> {
  const bySection: CandidatePhrase[][] = [];
  for (const phrase of phrases) {
    const last = bySection[bySection.length - 1];
    if (last && last[0]!.section === phrase.section) last.push(phrase);
    else bySection.push([phrase]);
  }
  const parts: ExtractionPart[] = [];
  const fits = async (group: CandidatePhrase[]): Promise<ExtractionPart | undefined> => {
    const section = group[0]!.section;
    const prompt = keyFindingsPrompt(section, group.map((p) => p.text).join("\n"));
    const promptTokens = await countTokens(prompt);
    const answer = worstCaseChars(
      keyFindingsSchema(
        group.map((p) => p.text),
        limits,
      ),
    );
    return promptTokens + answer + CONTEXT_MARGIN <= contextSize ? { section, phrases: group, prompt, promptTokens } : undefined;
  };
  const place = async (group: CandidatePhrase[]): Promise<void> => {
    const part = await fits(group);
    if (part || group.length === 1) {
      if (part) parts.push(part);
      return;
    }
    const half = Math.ceil(group.length / 2);
    await place(group.slice(0, half));
    await place(group.slice(half));
  };
  for (const group of bySection) await place(group);
  return parts;
}
