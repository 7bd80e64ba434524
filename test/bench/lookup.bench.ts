/**
 * Lookup suite: input-lookup speculative decoding on the completion lane against plain decoding, on
 * continuations of real notes (MTSamples), same model and threads, greedy, interleaved per note. Two
 * workers, identical but for `lookupDecoding`; every pair of outputs must be byte-identical.
 *
 * tg = (generated - 1) / (time from the first to the last generated token), measured in the worker.
 * `--quick`: 4 notes; otherwise 10. `--model 7b` runs the 7B-shaped model (slow on a small CPU).
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

async function startSide(modelPath: string, threads: number, lookupDecoding: boolean): Promise<EngineClient> {
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: 2048, flashAttention: true, lookupDecoding }));
  await engine.ensureReady();
  await engine.complete({ prompt: "Warm-up.", maxTokens: 4, lane: "completion" });
  return engine;
}

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const kind = (argValue("--model") ?? "medium") as TestModelKind;
  const count = Number(argValue("--notes") ?? (quick ? 4 : 10));
  const notes = readSampleNotes(count * 3).filter((n) => n.text.length > 600).slice(0, count);
  if (notes.length === 0) throw new Error("No MTSamples notes found (../shared/data/mtsamples); set BEDSIDE_SHARED_DATA.");
  const modelPath = await ensureTestModel(kind);
  console.log(`lookup: ${kind} model, ${threads} thread(s), ${notes.length} note continuations of ${MAX_TOKENS} tokens, interleaved…`);
  const on = await startSide(modelPath, threads, true);
  const off = await startSide(modelPath, threads, false);

  const rows: { id: string; on: number; off: number; same: boolean; accepted: number; rejected: number; generated: number }[] = [];
  for (const [i, note] of notes.entries()) {
    const prompt = continuationPrompt(note.text);
    const request = { prompt, maxTokens: MAX_TOKENS, lane: "completion" as const };
    let a: GenerationResult;
    let b: GenerationResult;
    if (i % 2 === 0) {
      a = await on.complete(request);
      b = await off.complete(request);
    } else {
      b = await off.complete(request);
      a = await on.complete(request);
    }
    rows.push({ id: note.id, on: tg(a), off: tg(b), same: a.text === b.text, accepted: a.draftAccepted ?? 0, rejected: a.draftRejected ?? 0, generated: a.generatedTokens });
    const r = rows[rows.length - 1]!;
    console.log(`note ${note.id}: lookup ${r.on.toFixed(1)} tok/s, plain ${r.off.toFixed(1)} tok/s, drafts ${r.accepted} accepted / ${r.rejected} rejected, same output: ${r.same}`);
  }
  await on.dispose();
  await off.dispose();

  const ratios = rows.map((r) => r.on / r.off);
  const allSame = rows.every((r) => r.same);
  const accepted = rows.reduce((s, r) => s + r.accepted, 0);
  const rejected = rows.reduce((s, r) => s + r.rejected, 0);
  console.log("");
  printTable(
    ["note", "lookup tok/s", "plain tok/s", "ratio", "accepted", "rejected", "same output"],
    rows.map((r, i) => [r.id, r.on, r.off, ratios[i]!, r.accepted, r.rejected, r.same ? "yes" : "NO"]),
  );
  const speedup = median(rows.map((r) => r.on)) / median(rows.map((r) => r.off));
  console.log(`\nlookup_speedup_tg ${speedup.toFixed(3)} (per-note ratios ${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}); drafts accepted ${accepted}, rejected ${rejected}`);
  if (accepted === 0) {
    console.log("No drafted token was accepted: lookup cannot have saved a decoding step, so any ratio away from 1 is machine noise.");
  }
  if (!allSame) throw new Error("Lookup decoding changed the output: it must be identical to plain decoding.");
  const metrics: Metrics = {
    lookup_speedup_tg: Number(speedup.toFixed(3)),
    lookup_speedup_tg_min: Number(Math.min(...ratios).toFixed(3)),
    lookup_speedup_tg_max: Number(Math.max(...ratios).toFixed(3)),
    lookup_same_output: allSame,
    draft_acceptance: Number((accepted / Math.max(1, accepted + rejected)).toFixed(3)),
    model: kind,
    threads,
    notes: rows.length,
  };
  reportMetrics("lookup", { model: kind, threads, context_size: 2048, flash_attention: true, max_tokens: MAX_TOKENS, notes: rows.length, lane: "completion", greedy: true, quick }, metrics, rows);
}
