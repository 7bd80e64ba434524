/**
 * Lookup suite: input-lookup speculative decoding on the completion lane against plain decoding, on
 * continuations of real notes (MTSamples), same model and threads, greedy, interleaved per note. Two
 * workers, identical but for `lookupDecoding`; every pair of outputs must be byte-identical.
 *
 * tg = (generated - 1) / (time from the first to the last generated token), measured in the worker.
 * `--quick`: 4 notes; otherwise 10. `--model 7b` runs the 7B-shaped model (slow on a small CPU);
 * `--model FILE.gguf` runs a model file, e.g. the trained fixture test/fixtures/clinical-lm/bedside-clinical-tiny.gguf.
 *
 * `--draft FILE`: also a worker drafting with a smaller model of the same vocabulary (`bedside.engine.draftModelPath`,
 * lookup off), on the same prompts: `draft_speedup_tg`, its acceptance and identical output.
 * `--work copy-forward` (default for a model file): a follow-up note written over the previous visit's note,
 * on held-out notes (test/train/corpus.ts): the prompt holds the previous note's opening, then the follow-up
 * re-typing it, cut mid-way; the true continuation is the previous note's next text. `copy_rate` is the share
 * of greedy output characters that match that text (the issue counts a speed-up only where it is >= 0.8).
 * `--work plan`: a plan restating the assessment (the note to the end of its last ASSESSMENT / IMPRESSION /
 * DIAGNOSIS section, then "PLAN:" re-typing that section to 45%); `--work letter`: a letter restating the
 * note (its opening, then a letter to the referring physician re-typing the first section to 45%). Both on
 * held-out notes, `copy_rate` against the restated section's rest.
 * `lookup_speedup_projected_7b` = N / (S_d * r + (S - S_d)) with N generated tokens, A accepted drafts,
 * S = N - A verification steps, S_d = min(S, (accepted + rejected) / 3) steps that checked a 3-token draft,
 * and r = the 7B-shaped model's cost of a 4-token batch over a 1-token step (docs/trained-model.md).
 *
 * The models are random-weight GGUFs with real shapes: they do not copy names and drugs from the note the
 * way a trained model does, so the acceptance rate here says more about the model's own repetition than
 * about notes. The table shows drafted tokens accepted and rejected so the figure can be read.
 */
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import type { EngineClient } from "../../src/engine/client/engineClient";
import type { GenerationResult } from "../../src/engine/protocol";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { readClinicalCorpus } from "../train/corpus";
import { median, printTable, reportMetrics, type Metrics } from "./report";

const MAX_TOKENS = 64;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The note cut at a sentence end about two thirds in (at most ~1,400 characters): where a clinician types. */
function continuationPrompt(text: string): string {
  const limit = Math.min(1400, Math.floor(text.length * 0.66));
  const cut = text.lastIndexOf(". ", limit);
  return text.slice(0, cut > 200 ? cut + 2 : limit);
}

function tg(result: GenerationResult): number {
  return result.generatedTokens > 1 && result.decodeMs ? (result.generatedTokens - 1) / (result.decodeMs / 1000) : 0;
}

/**
 * 7B-shaped Q4_0 model, 1 thread, llama-bench (README "Past plain decoding for notes"; src/engine/worker/
 * llamaRuntime.ts): pp1 3.4 tok/s, pp4 7.0 tok/s, so a 4-token batch costs (4 / 7.0) / (1 / 3.4) = 1.94 steps.
 */
export const BATCH4_OVER_STEP_7B = 4 / 7.0 / (1 / 3.4);

/** Projected speed-up of lookup at the 7B model's batch cost, from measured acceptance (formula above). */
export function projectedSpeedup(generated: number, accepted: number, rejected: number, batchOverStep: number): number {
  const steps = Math.max(1, generated - accepted);
  const draftSteps = Math.min(steps, (accepted + rejected) / 3);
  return generated / (draftSteps * batchOverStep + (steps - draftSteps));
}

interface Work {
  id: string;
  prompt: string;
  /** The text a faithful continuation reproduces (copy-forward work only). */
  expected?: string;
}

/** Where a section header ("PLAN:", "IMPRESSION:,") ends, with its name; MTSamples puts some after a comma. */
function sectionHeaders(text: string): { name: string; start: number; bodyStart: number }[] {
  return [...text.matchAll(/(^|\n|,\s*)([A-Z][A-Z0-9 &/()-]{2,60}):,?[ \t]*\n?[ \t]*/g)].map((m) => ({
    name: m[2]!,
    start: m.index + m[1]!.length,
    bodyStart: m.index + m[0].length,
  }));
}

/** `text` cut back to a word end at or before `at`. */
function wordCut(text: string, at: number): number {
  const cut = text.lastIndexOf(" ", at);
  return cut > 0 ? cut : at;
}

/**
 * A restatement: the note text `before` (what the context holds), a header the clinician starts writing
 * under, then the source re-typed to 45% of its length; the faithful continuation is the source's rest.
 */
function restatement(id: string, before: string, header: string, source: string): Work {
  const retyped = wordCut(source, Math.floor(source.length * 0.45));
  return { id, prompt: `${before}\n\n${header}${source.slice(0, retyped)}`, expected: source.slice(retyped) };
}

/**
 * A plan restating the assessment: the note up to the end of its last ASSESSMENT / IMPRESSION / DIAGNOSIS
 * section (80-500 characters of it; the ~700 characters before its end), then "PLAN:" re-typing it.
 */
function planWork(count: number, beforeChars: number): Work[] {
  const works: Work[] = [];
  for (const note of readClinicalCorpus()?.heldoutNotes ?? []) {
    const headers = sectionHeaders(note.text);
    const i = headers.map((h) => /ASSESSMENT|IMPRESSION|DIAGNOS/.test(h.name) && !/PLAN/.test(h.name)).lastIndexOf(true);
    if (i < 0) continue;
    const bodyEnd = wordCut(note.text, Math.min(headers[i + 1]?.start ?? note.text.length, headers[i]!.bodyStart + 500));
    const source = note.text.slice(headers[i]!.bodyStart, bodyEnd).trim();
    if (source.length < 80) continue;
    const from = Math.max(0, note.text.indexOf(" ", bodyEnd - beforeChars) + 1);
    works.push(restatement(note.id, note.text.slice(from, bodyEnd).trim(), "PLAN:\n", source));
    if (works.length >= count) break;
  }
  return works;
}

/**
 * A letter restating the note: the note's opening (~700 characters), a letter to the referring physician,
 * then the first section's text re-typed (what "Thank you for referring..." goes on to restate).
 */
function letterWork(count: number, previousChars: number): Work[] {
  const works: Work[] = [];
  for (const note of readClinicalCorpus()?.heldoutNotes ?? []) {
    if (note.text.length < previousChars + 200) continue;
    const previous = note.text.slice(0, wordCut(note.text, previousChars));
    const first = sectionHeaders(previous)[0];
    const source = previous.slice(first && first.bodyStart < 200 ? first.bodyStart : 0).trim();
    if (source.length < 300) continue;
    works.push(restatement(note.id, previous, "LETTER TO REFERRING PHYSICIAN:\nDear Dr. Moore,\nThank you for referring your patient, whom I saw today. ", source));
    if (works.length >= count) break;
  }
  return works;
}

/** A follow-up note over the previous visit's note: previous opening, then the follow-up re-typing it. */
function copyForwardWork(count: number, previousChars: number): Work[] {
  const works: Work[] = [];
  for (const note of readClinicalCorpus()?.heldoutNotes ?? []) {
    if (note.text.length < previousChars + 200) continue;
    const previous = note.text.slice(0, wordCut(note.text, previousChars));
    works.push(restatement(note.id, previous, "FOLLOW-UP VISIT:\n", previous));
    if (works.length >= count) break;
  }
  return works;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Share of the output's characters, from its start, that match the expected text (common prefix). */
function copyRate(output: string, expected: string): number {
  if (output.length === 0) return 0;
  let i = 0;
  while (i < output.length && i < expected.length && output[i] === expected[i]) i++;
  return i / output.length;
}

async function startSide(modelPath: string, threads: number, lookupDecoding: boolean, contextSize: number, draftModelPath?: string): Promise<EngineClient> {
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize, flashAttention: true, lookupDecoding, ...(draftModelPath ? { draftModelPath } : {}) }));
  await engine.ensureReady();
  await engine.complete({ prompt: "Warm-up.", maxTokens: 4, lane: "completion" });
  return engine;
}

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const modelArg = argValue("--model") ?? "medium";
  const isFile = modelArg.endsWith(".gguf");
  const kind = modelArg as TestModelKind;
  const count = Number(argValue("--notes") ?? (quick ? 4 : 10));
  const workKind = argValue("--work") ?? (isFile ? "copy-forward" : "continuation");
  // The trained model's context is 384 tokens: the previous note's opening (~700 characters) fits with room.
  const contextSize = Number(argValue("--context") ?? (isFile ? 384 : 2048));
  // The letter's own opening lines take ~100 characters of the 384-token context.
  const previousChars = Number(argValue("--previous-chars") ?? (workKind === "letter" ? 600 : 700));
  const works: Work[] =
    workKind === "copy-forward"
      ? copyForwardWork(count, previousChars)
      : workKind === "plan"
        ? planWork(count, previousChars)
        : workKind === "letter"
          ? letterWork(count, previousChars)
          : readSampleNotes(count * 3)
              .filter((n) => n.text.length > 600)
              .slice(0, count)
              .map((n) => ({ id: n.id, prompt: continuationPrompt(n.text) }));
  if (works.length === 0) throw new Error("No MTSamples notes found (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  const modelPath = isFile ? modelArg : await ensureTestModel(kind);
  const maxTokens = Number(argValue("--max-tokens") ?? (workKind === "continuation" ? MAX_TOKENS : 48));
  console.log(`lookup: ${modelArg}, ${threads} thread(s), ${works.length} ${workKind} prompts of ${maxTokens} tokens, context ${contextSize}, interleaved…`);
  const on = await startSide(modelPath, threads, true, contextSize);
  const off = await startSide(modelPath, threads, false, contextSize);
  // `--draft FILE`: a third worker drafting with a smaller model of the same vocabulary (bedside.engine.draftModelPath), lookup off.
  const draftPath = argValue("--draft");
  const drafted = draftPath ? await startSide(modelPath, threads, false, contextSize, draftPath) : undefined;

  const rows: {
    id: string;
    on: number;
    off: number;
    same: boolean;
    accepted: number;
    rejected: number;
    generated: number;
    copy?: number;
    output: string;
    divergeAt: number;
    draft?: { tg: number; same: boolean; accepted: number; rejected: number };
  }[] = [];
  for (const [i, work] of works.entries()) {
    const prompt = work.prompt;
    const request = { prompt, maxTokens, lane: "completion" as const };
    let a: GenerationResult;
    let b: GenerationResult;
    if (i % 2 === 0) {
      a = await on.complete(request);
      b = await off.complete(request);
    } else {
      b = await off.complete(request);
      a = await on.complete(request);
    }
    const c = drafted ? await drafted.complete(request) : undefined;
    rows.push({
      id: work.id,
      on: tg(a),
      off: tg(b),
      same: a.text === b.text,
      divergeAt: commonPrefix(a.text, b.text),
      accepted: a.draftAccepted ?? 0,
      rejected: a.draftRejected ?? 0,
      generated: a.generatedTokens,
      ...(work.expected !== undefined ? { copy: copyRate(b.text, work.expected) } : {}),
      output: b.text,
      ...(c ? { draft: { tg: tg(c), same: c.text === b.text, accepted: c.draftAccepted ?? 0, rejected: c.draftRejected ?? 0 } } : {}),
    });
    const r = rows[rows.length - 1]!;
    console.log(
      `note ${work.id}: lookup ${r.on.toFixed(1)} tok/s, plain ${r.off.toFixed(1)} tok/s, drafts ${r.accepted} accepted / ${r.rejected} rejected, same output: ${r.same}${r.copy !== undefined ? `, copy rate ${r.copy.toFixed(2)}` : ""}`,
    );
    console.log(`  greedy: ${JSON.stringify(b.text.slice(0, 160))}`);
  }
  await on.dispose();
  await off.dispose();
  await drafted?.dispose();

  const ratios = rows.map((r) => r.on / r.off);
  const allSame = rows.every((r) => r.same);
  const accepted = rows.reduce((s, r) => s + r.accepted, 0);
  const rejected = rows.reduce((s, r) => s + r.rejected, 0);
  const generated = rows.reduce((s, r) => s + r.generated, 0);
  const copies = rows.flatMap((r) => (r.copy !== undefined ? [r.copy] : []));
  console.log("");
  printTable(
    ["note", "lookup tok/s", "plain tok/s", "ratio", "accepted", "rejected", "copy rate", "same output"],
    rows.map((r, i) => [r.id, r.on, r.off, ratios[i]!, r.accepted, r.rejected, r.copy ?? "-", r.same ? "yes" : "NO"]),
  );
  const speedup = median(rows.map((r) => r.on)) / median(rows.map((r) => r.off));
  console.log(
    `\nlookup_speedup_tg ${speedup.toFixed(3)} (per-note ratios ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}); drafts accepted ${accepted}, rejected ${rejected}`,
  );
  if (accepted === 0) {
    console.log("No drafted token was accepted: lookup cannot have saved a decoding step, so any ratio away from 1 is machine noise.");
  }
  const draftRows = rows.flatMap((r) => (r.draft ? [r.draft] : []));
  const draftMetrics: Metrics = {};
  if (draftRows.length) {
    const draftAccepted = draftRows.reduce((s, d) => s + d.accepted, 0);
    const draftRejected = draftRows.reduce((s, d) => s + d.rejected, 0);
    Object.assign(draftMetrics, {
      draft_model: draftPath ?? "",
      draft_speedup_tg: Number((median(draftRows.map((d) => d.tg)) / median(rows.map((r) => r.off))).toFixed(3)),
      draft_model_acceptance: Number((draftAccepted / Math.max(1, draftAccepted + draftRejected)).toFixed(3)),
      draft_same_output: draftRows.every((d) => d.same),
      draft_same_output_notes: draftRows.filter((d) => d.same).length,
      tokens_s_draft_model: Number(median(draftRows.map((d) => d.tg)).toFixed(1)),
    });
    console.log(
      `draft model ${draftPath}: ${draftMetrics.tokens_s_draft_model} tok/s (plain ${median(rows.map((r) => r.off)).toFixed(1)}), drafts ${draftAccepted} accepted / ${draftRejected} rejected, same output ${draftMetrics.draft_same_output}`,
    );
  }
  // Batched checking of drafts runs other matrix kernels than one-token steps; where two tokens are nearly
  // tied the last bits can flip greedy's choice. Reported per note (where the texts part), not hidden.
  for (const r of rows.filter((row) => !row.same)) {
    console.log(`note ${r.id}: lookup output differs from plain decoding after ${r.divergeAt} characters`);
  }
  const metrics: Metrics = {
    lookup_speedup_tg: Number(speedup.toFixed(3)),
    lookup_speedup_tg_min: Number(Math.min(...ratios).toFixed(3)),
    lookup_speedup_tg_max: Number(Math.max(...ratios).toFixed(3)),
    lookup_same_output: allSame,
    lookup_same_output_notes: rows.filter((r) => r.same).length,
    draft_acceptance: Number((accepted / Math.max(1, accepted + rejected)).toFixed(3)),
    tokens_s_lookup: Number(median(rows.map((r) => r.on)).toFixed(1)),
    tokens_s_plain: Number(median(rows.map((r) => r.off)).toFixed(1)),
    lookup_speedup_projected_7b: Number(projectedSpeedup(generated, accepted, rejected, BATCH4_OVER_STEP_7B).toFixed(3)),
    batch4_over_step_7b: Number(BATCH4_OVER_STEP_7B.toFixed(3)),
    ...(copies.length ? { copy_rate: Number(median(copies).toFixed(3)), copy_rate_at_least_0_8: copies.filter((c) => c >= 0.8).length } : {}),
    ...draftMetrics,
    work: workKind,
    model: modelArg,
    threads,
    notes: rows.length,
  };
  reportMetrics(
    "lookup",
    {
      model: modelArg,
      threads,
      context_size: contextSize,
      flash_attention: true,
      max_tokens: maxTokens,
      notes: rows.length,
      lane: "completion",
      greedy: true,
      quick,
      work: workKind,
      ...(draftPath ? { draft_model: draftPath } : {}),
    },
    metrics,
    rows,
  );
}
