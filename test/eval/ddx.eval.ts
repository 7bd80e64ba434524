/**
 * `npm run eval -- ddx --model FILE [--data DIR] [--limit N] [--threads N] [--context N] [--gpu auto|cpu]`
 *
 * The differential on the AgentClinic cases (../shared/data/ddx/agentclinic_cases.jsonl, 107 vignettes,
 * MIT): each case becomes a clinical note (history, symptoms, exam, test results; never the answer), the
 * product's own pipeline (src/ddx/differential.ts through the engine worker, as in VS Code) builds the
 * differential, and the eval reports top-1 and top-5 accuracy of the correct diagnosis (normalised
 * matching: case, punctuation, parenthesised abbreviations, word-bounded containment) and the grounding
 * rate (findings quoted that are in the note, over all quoted). With a generated test model the scores
 * are meaningless (random weights); the run proves the harness end to end.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildDifferential, shownFindings } from "../../src/ddx/differential";
import { schemaErrors } from "../../src/ddx/schema";
import { findInNote } from "../../src/ddx/grounding";
import type { GpuChoice } from "../../src/engine/protocol";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { sharedDataDir } from "../support/sharedData";

export interface DdxCase {
  id: string;
  note: string;
  correct: string;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const label = (key: string): string => key.replace(/_/g, " ").replace(/\s+/g, " ").trim();

/** Nested facts as "Label: value" lines (objects) or "- item" lines (lists). */
function factLines(value: Json, depth = 0): string[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === "object" && v !== null ? factLines(v, depth) : [`- ${String(v)}`]));
  if (typeof value !== "object") return [String(value)];
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      const entries = Object.entries(v);
      const scalar = entries.every(([, x]) => typeof x !== "object" || x === null);
      const bare = (x: Json): string => String(x).trim().replace(/\.+$/, "");
      if (scalar && entries.length === 1) {
        // "X-Ray Knee: Findings ..." reads better as "X-Ray Knee: ...".
        lines.push(`${label(key)}: ${bare(entries[0]![1])}.`);
      } else if (scalar && entries.every(([, x]) => String(x).length <= 40)) {
        // Short groups stay on one line: "Vital Signs: Temperature 36.6 C, Blood Pressure 125/80 mmHg."
        lines.push(`${label(key)}: ${entries.map(([k, x]) => `${label(k)} ${bare(x)}`).join(", ")}.`);
      } else if (scalar) {
        lines.push(`${label(key)}:`, ...entries.map(([k, x]) => `- ${label(k)}: ${bare(x)}.`));
      } else {
        lines.push(`${label(key)}:`, ...factLines(v, depth + 1));
      }
    } else if (Array.isArray(v)) {
      lines.push(`${label(key)}:`, ...factLines(v, depth + 1));
    } else {
      lines.push(`${label(key)}: ${String(v)}`);
    }
  }
  return lines;
}

/** An AgentClinic OSCE case as the note a clinician would have written before the diagnosis. */
export function caseToNote(osce: Record<string, Json>): string {
  const patient = (osce.Patient_Actor ?? {}) as Record<string, Json>;
  const symptoms = (patient.Symptoms ?? {}) as Record<string, Json>;
  const section = (name: string, lines: string[]): string[] => (lines.length > 0 ? [`${name}:`, ...lines, ""] : []);
  const text = (v: Json | undefined): string[] => (typeof v === "string" && v.trim() ? [v.trim()] : []);
  const secondary = Array.isArray(symptoms.Secondary_Symptoms) ? symptoms.Secondary_Symptoms.map((s) => `- ${String(s)}`) : [];
  const { Demographics, History, Symptoms: _s, Past_Medical_History, Social_History, Review_of_Systems, ...otherPatient } = patient;
  return [
    ...section("CHIEF COMPLAINT", text(symptoms.Primary_Symptom)),
    ...section("HISTORY OF PRESENT ILLNESS", [...text(Demographics).map((d) => `${d}.`), ...text(History), ...secondary]),
    ...section("PAST MEDICAL HISTORY", text(Past_Medical_History)),
    ...section("SOCIAL HISTORY", text(Social_History)),
    ...section("REVIEW OF SYSTEMS", text(Review_of_Systems)),
    ...section("OTHER HISTORY", factLines(otherPatient as Json)),
    ...section("PHYSICAL EXAMINATION", factLines((osce.Physical_Examination_Findings ?? null) as Json)),
    ...section("TEST RESULTS", factLines((osce.Test_Results ?? null) as Json)),
  ]
    .join("\n")
    .trim()
    .concat("\n");
}

export function loadCases(dir: string): DdxCase[] {
  const file = join(dir, "agentclinic_cases.jsonl");
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((line, index) => {
      const osce = (JSON.parse(line) as { OSCE_Examination: Record<string, Json> }).OSCE_Examination;
      return { id: `agentclinic-${index + 1}`, note: caseToNote(osce), correct: String(osce.Correct_Diagnosis) };
    });
}

/** A diagnosis reduced for comparison: lower case, words only, a leading article dropped. */
export function normaliseDiagnosis(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/'s\b/g, "")
    .replace(/[^a-z0-9]+/g, " ")
    .replace(/^(a|an|the) /, "")
    .trim();
}

/** The names a correct diagnosis goes by: as written, without parentheses, and the parenthesised abbreviation. */
export function diagnosisNames(correct: string): string[] {
  const names = new Set<string>([normaliseDiagnosis(correct)]);
  const bare = correct.replace(/\([^)]*\)/g, " ");
  names.add(normaliseDiagnosis(bare));
  for (const [, inner] of correct.matchAll(/\(([^)]+)\)/g)) names.add(normaliseDiagnosis(inner!));
  return [...names].filter((n) => n.length > 0);
}

/** Whether a predicted diagnosis names the correct one (equal, or one contains the other as whole words). */
export function diagnosisMatches(predicted: string, correct: string): boolean {
  const p = normaliseDiagnosis(predicted);
  if (!p) return false;
  return diagnosisNames(correct).some((c) => {
    if (p === c) return true;
    const contains = (outer: string, inner: string): boolean => ` ${outer} `.includes(` ${inner} `);
    // A bare word like "infection" inside a longer name is not a match; require two words or the abbreviation.
    return (contains(p, c) && (c.includes(" ") || c.length <= 5)) || (contains(c, p) && p.includes(" "));
  });
}

interface Options {
  model: string;
  data: string | undefined;
  limit: number;
  threads: number;
  context: number;
  gpu: GpuChoice;
}

function parse(args: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const model = value("--model");
  if (!model) throw new Error("usage: npm run eval -- ddx --model FILE [--data DIR] [--limit N] [--threads N] [--context N] [--gpu auto|cpu]");
  return {
    model,
    data: value("--data") ?? (sharedDataDir() ? join(sharedDataDir()!, "ddx") : undefined),
    limit: Number(value("--limit") ?? Infinity),
    threads: Number(value("--threads") ?? 1),
    context: Number(value("--context") ?? 2048),
    gpu: (value("--gpu") ?? "cpu") as GpuChoice,
  };
}

const pct = (n: number, d: number): string => (d === 0 ? "n/a" : `${((100 * n) / d).toFixed(1)}%`);

export async function run(args: string[]): Promise<void> {
  const options = parse(args);
  if (!options.data || !existsSync(join(options.data, "agentclinic_cases.jsonl"))) {
    console.log(`[eval ddx] skipped: no AgentClinic cases at ${options.data ?? "../shared/data/ddx"} (pass --data DIR)`);
    return;
  }
  const cases = loadCases(options.data).slice(0, options.limit);
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(options.model, { threads: options.threads, contextSize: options.context, gpu: options.gpu, gpuLayers: options.gpu === "cpu" ? 0 : "auto" }));
  const info = await engine.ensureReady();
  console.log(
    `[eval ddx] ${cases.length} AgentClinic cases, model ${info.name ?? options.model} (${info.architecture}, context ${info.contextSize}, ${info.backend}, ${info.threads} threads)`,
  );
  let top1 = 0;
  let top5 = 0;
  let quoted = 0;
  let grounded = 0;
  let shownNotInNote = 0;
  let invalidAnswers = 0;
  let failed = 0;
  let keyFindingsMode = 0;
  let diagnoses = 0;
  const started = Date.now();
  try {
    for (const [index, c] of cases.entries()) {
      try {
        const result = await buildDifferential(engine, c.note, { contextSize: info.contextSize });
        const names = result.diagnoses.map((d) => d.name);
        const rank = names.findIndex((n) => diagnosisMatches(n, c.correct));
        if (rank === 0) top1++;
        if (rank >= 0 && rank < 5) top5++;
        diagnoses += names.length;
        quoted += result.quotedFindings;
        grounded += result.quotedFindings - result.droppedFindings.length;
        if (result.mode === "keyFindings") keyFindingsMode++;
        invalidAnswers += result.answers.filter((a) => schemaErrors(a.schema, a.value).length > 0).length;
        // Independent check of what would be shown: each finding's text is the note's own, at its range.
        for (const f of shownFindings(result)) {
          const text = f.range ? c.note.slice(f.range.start, f.range.end) : undefined;
          if (!text || text !== f.noteText || !findInNote(c.note, f.quote)) shownNotInNote++;
        }
        if (process.env.BEDSIDE_EVAL_VERBOSE)
          console.log(`  ${c.id} (${result.mode}): ${rank >= 0 ? `rank ${rank + 1}` : "missed"}; correct "${c.correct}"; top: ${names.slice(0, 3).join(" | ")}`);
      } catch (error) {
        failed++;
        console.log(`  ${c.id}: failed: ${(error as Error).message}`);
      }
      if ((index + 1) % 10 === 0) console.log(`  ${index + 1}/${cases.length} cases, ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    await engine.dispose();
  }
  const n = cases.length;
  console.log("");
  console.log("| metric | value |");
  console.log("|---|---|");
  console.log(`| cases | ${n} (${failed} failed, ${keyFindingsMode} read section by section) |`);
  console.log(`| top-1 accuracy | ${pct(top1, n)} (${top1}/${n}) |`);
  console.log(`| top-5 accuracy | ${pct(top5, n)} (${top5}/${n}) |`);
  console.log(`| grounding rate (quoted findings found in the note) | ${pct(grounded, quoted)} (${grounded}/${quoted}) |`);
  console.log(`| shown findings not the note's own text | ${shownNotInNote} |`);
  console.log(`| answers invalid under their schema | ${invalidAnswers} |`);
  console.log(`| diagnoses per case | ${(diagnoses / Math.max(1, n - failed)).toFixed(2)} |`);
  console.log(`| seconds per case | ${((Date.now() - started) / 1000 / Math.max(1, n)).toFixed(2)} |`);
  const metrics = {
    cases: n,
    failed,
    top1: top1 / n,
    top5: top5 / n,
    grounding_rate: quoted ? grounded / quoted : null,
    shown_not_in_note: shownNotInNote,
    invalid_answers: invalidAnswers,
  };
  console.log(JSON.stringify({ suite: "eval-ddx", model: options.model, metrics }));
  if (shownNotInNote > 0 || invalidAnswers > 0) process.exitCode = 1;
}
