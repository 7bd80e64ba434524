/**
 * Builds a differential for a note with any Engine: (1) for a long note, key findings section by section;
 * (2) the ranked list; (3) for each diagnosis, findings for and against (chosen from the note's phrases)
 * and next steps; (4) citations where a literature library has sources. Every answer is validated
 * against its schema, and every quoted finding is grounded in the note (found, with its exact range) or
 * dropped and counted. Cancelling keeps what is finished. Pure: an Engine, no vscode.
 */
import type { Engine } from "../engine/engine";
import type { JsonResult } from "../engine/protocol";
import { notePhrases, type CandidatePhrase } from "./candidates";
import { citationsFor, type CitationSource, type SourceReference } from "./citations";
import { fitDifferential, planExtraction, CONTEXT_MARGIN, type CountTokens, type DifferentialFit } from "./fitting";
import { groundFindings, NoteIndex, type GroundedFinding } from "./grounding";
import { evidencePrompt, phrasesText, rankedListPrompt } from "./prompt";
import {
  evidenceSchema,
  keyFindingsSchema,
  rankedListSchema,
  schemaErrors,
  DEFAULT_LIMITS,
  type DdxSchema,
  type DiagnosisEvidence,
  type KeyFindings,
  type Likelihood,
  type RankedList,
} from "./schema";

export interface DiagnosisResult {
  name: string;
  likelihood: Likelihood;
  cantMiss: boolean;
  findingsFor: GroundedFinding[];
  findingsAgainst: GroundedFinding[];
  nextSteps: string[];
  citations: SourceReference[];
  /** Why the evidence is missing (cancelled, the model failed); absent when it is there. */
  evidenceMissing?: string;
}

export interface ModelAnswer {
  step: string;
  schema: DdxSchema;
  value: unknown;
}

export interface DifferentialResult {
  /** The note text the differential was built from (for stale detection and ranges). */
  noteText: string;
  mode: "whole" | "keyFindings";
  keyFindings: GroundedFinding[];
  diagnoses: DiagnosisResult[];
  /** Findings the model quoted that the note does not contain (dropped, never shown as the note's). */
  droppedFindings: string[];
  /** Every finding the model quoted, grounded or not. */
  quotedFindings: number;
  /** The raw answers with the schema each was validated against (tests and the eval check them). */
  answers: ModelAnswer[];
  cancelled: boolean;
}

export type DdxProgress = { kind: "step"; message: string; step: number; steps: number } | { kind: "text"; text: string } | { kind: "partial"; result: DifferentialResult };

export interface DifferentialOptions {
  contextSize: number;
  signal?: AbortSignal;
  onProgress?: (progress: DdxProgress) => void;
  citations?: CitationSource;
  citationsPerDiagnosis?: number;
  /** Sampling; greedy by default so the same note gives the same differential. */
  temperature?: number;
  seed?: number;
}

export class DifferentialError extends Error {
  override name = "DifferentialError";
}

type JsonEngine = Pick<Engine, "json" | "tokenize">;

export async function buildDifferential(engine: JsonEngine, note: string, options: DifferentialOptions): Promise<DifferentialResult> {
  const { contextSize, signal } = options;
  const progress = options.onProgress ?? ((): void => undefined);
  const countTokens: CountTokens = async (text) => (await engine.tokenize(text)).count;
  const noteIndex = new NoteIndex(note);
  const result: DifferentialResult = { noteText: note, mode: "whole", keyFindings: [], diagnoses: [], droppedFindings: [], quotedFindings: 0, answers: [], cancelled: false };

  const ask = async <T>(step: string, prompt: string, promptTokens: number, schema: DdxSchema): Promise<T | undefined> => {
    const maxTokens = contextSize - promptTokens - CONTEXT_MARGIN;
    if (maxTokens <= 0) throw new DifferentialError(`The prompt for ${step} does not fit the model's context (${contextSize} tokens).`);
    let answer: JsonResult;
    try {
      answer = await engine.json(
        { prompt, schema, maxTokens, lane: "general", asciiOnly: true, temperature: options.temperature ?? 0, ...(options.seed !== undefined ? { seed: options.seed } : {}) },
        { ...(signal ? { signal } : {}), onText: (text) => progress({ kind: "text", text }) },
      );
    } catch (error) {
      if (signal?.aborted) return undefined;
      throw error;
    }
    if (answer.stopReason === "aborted" || signal?.aborted) return undefined;
    const errors = schemaErrors(schema, answer.value);
    if (errors.length > 0) throw new DifferentialError(`The model's ${step} did not follow its schema: ${errors.slice(0, 3).join("; ")}`);
    result.answers.push({ step, schema, value: answer.value });
    return answer.value as T;
  };

  const ground = (quotes: readonly string[]): GroundedFinding[] => {
    result.quotedFindings += quotes.length;
    const { grounded, dropped } = groundFindings(noteIndex, quotes);
    result.droppedFindings.push(...dropped);
    return grounded;
  };

  const cancelled = (): DifferentialResult => ({ ...result, cancelled: true });

  // 1. Fit the whole note, or read it section by section for key findings first.
  const phrases = notePhrases(note);
  if (phrases.length === 0) throw new DifferentialError("The note has no findings to build a differential from yet.");
  let stageText = phrasesText(phrases);
  let stagePhrases = phrases.map((p) => p.text);
  let fit: DifferentialFit | undefined = await fitDifferential(stageText, "whole", stagePhrases, contextSize, countTokens);
  if (!fit) {
    result.mode = "keyFindings";
    const parts = await planExtraction(phrases, contextSize, countTokens, DEFAULT_LIMITS);
    const keyPhrases: CandidatePhrase[] = [];
    for (const [index, part] of parts.entries()) {
      progress({ kind: "step", message: `Reading ${part.section || "the note"} for key findings`, step: index + 1, steps: parts.length + 2 });
      const schema = keyFindingsSchema(
        part.phrases.map((p) => p.text),
        DEFAULT_LIMITS,
      );
      const answer = await ask<KeyFindings>(`key findings (${part.section || "note"})`, part.prompt, part.promptTokens, schema);
      if (!answer) return cancelled();
      for (const quote of answer.findings) {
        const phrase = part.phrases.find((p) => p.text === quote);
        if (phrase && !keyPhrases.includes(phrase)) keyPhrases.push(phrase);
      }
    }
    result.keyFindings = ground(keyPhrases.map((p) => p.text));
    // Too many key findings for the context: keep the first ones (the note's order: history, exam, results).
    let kept = keyPhrases;
    while (kept.length > 0) {
      stageText = phrasesText(kept);
      stagePhrases = kept.map((p) => p.text);
      fit = await fitDifferential(stageText, "keyFindings", stagePhrases, contextSize, countTokens);
      if (fit) break;
      kept = kept.slice(0, Math.max(0, Math.min(kept.length - 1, Math.floor(kept.length * 0.8))));
    }
    if (!fit) throw new DifferentialError(`The model's context (${contextSize} tokens) is too small for a differential of this note.`);
  }

  // 2. The ranked list.
  const steps = (result.mode === "keyFindings" ? 1 : 0) + 1;
  const stepsTotal = steps + 1;
  progress({ kind: "step", message: "Ranking diagnoses", step: steps, steps: stepsTotal });
  const ranked = await ask<RankedList>("ranked list", rankedListPrompt(fit.prefix), fit.rankedPromptTokens, rankedListSchema(fit.limits));
  if (!ranked) return cancelled();
  const seen = new Set<string>();
  for (const d of ranked.diagnoses) {
    const name = d.name.replace(/\s+/g, " ").trim();
    const key = name.toLowerCase();
    if (!name || seen.has(key)) continue;
    seen.add(key);
    result.diagnoses.push({ name, likelihood: d.likelihood, cantMiss: d.cantMiss, findingsFor: [], findingsAgainst: [], nextSteps: [], citations: [], evidenceMissing: "pending" });
  }
  progress({ kind: "partial", result: { ...result, diagnoses: [...result.diagnoses] } });

  // 3. Evidence for each diagnosis, then 4. its citations.
  const evidence = evidenceSchema(stagePhrases, fit.limits);
  for (const [index, diagnosis] of result.diagnoses.entries()) {
    progress({ kind: "step", message: `Evidence for ${diagnosis.name} (${index + 1} of ${result.diagnoses.length})`, step: stepsTotal, steps: stepsTotal });
    const prompt = evidencePrompt(fit.prefix, diagnosis.name);
    let answer: DiagnosisEvidence | undefined;
    try {
      answer = await ask<DiagnosisEvidence>(`evidence for diagnosis ${index + 1}`, prompt, await countTokens(prompt), evidence);
    } catch (error) {
      diagnosis.evidenceMissing = (error as Error).message;
      continue;
    }
    if (!answer) {
      for (const d of result.diagnoses) if (d.evidenceMissing === "pending") d.evidenceMissing = "cancelled";
      return cancelled();
    }
    diagnosis.findingsFor = ground(answer.findingsFor);
    // A finding cannot count both ways; "for" wins.
    const forRanges = new Set(diagnosis.findingsFor.map((f) => `${f.range?.start}:${f.range?.end}`));
    diagnosis.findingsAgainst = ground(answer.findingsAgainst).filter((f) => !forRanges.has(`${f.range?.start}:${f.range?.end}`));
    diagnosis.nextSteps = answer.nextSteps.map((s) => s.replace(/\s+/g, " ").trim()).filter((s) => s.length > 0);
    delete diagnosis.evidenceMissing;
    diagnosis.citations = await citationsFor(
      options.citations,
      diagnosis.name,
      diagnosis.findingsFor.map((f) => f.quote),
      options.citationsPerDiagnosis ?? 3,
      signal,
    );
    progress({ kind: "partial", result: { ...result, diagnoses: result.diagnoses.map((d) => ({ ...d })) } });
  }
  return result;
}

/** Every finding shown for a differential, in panel order (diagnosis, for before against). */
export function shownFindings(result: DifferentialResult): GroundedFinding[] {
  return result.diagnoses.flatMap((d) => [...d.findingsFor, ...d.findingsAgainst]);
}
