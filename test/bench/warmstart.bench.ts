/**
 * Warm-start suite: the first completion on a ~1,500-token note after the worker restarts, cold (the
 * model reads the whole note) against warm (the note's KV state saved before the restart is restored from
 * disk). Same model, threads and prompt; the worker is restarted before every measured completion and the
 * model load is not counted. Interleaved: cold, warm, cold, warm…; the state cache is emptied before each
 * cold run.
 *
 * Metric `warm_over_cold_first_completion`: cold time / warm time of the first completion (request to
 * result, 8 tokens). `--quick` uses 2 repetitions; `--model 7b` the 7B-shaped model (a cold 1,500-token
 * read takes minutes on a small CPU).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import type { EngineClient } from "../../src/engine/client/engineClient";
import type { GenerationResult } from "../../src/engine/protocol";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { median, printTable, reportMetrics, type Metrics } from "./report";

const NOTE_TOKENS = 1500;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Real notes joined until the text is NOTE_TOKENS tokens long (or the nearest below). */
async function longNote(engine: EngineClient): Promise<string> {
  let text = "";
  for (const note of readSampleNotes(200)) {
    text += `${note.text}\n\n`;
    if ((await engine.tokenize(text)).count > NOTE_TOKENS) break;
  }
  if (!text) text = "HISTORY OF PRESENT ILLNESS:\nThe patient presents with chest pain radiating to the left arm. ".repeat(120);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenize(text.slice(0, mid))).count <= NOTE_TOKENS) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

interface Timed {
  ms: number;
  ttftMs: number;
  result: GenerationResult;
}

async function firstCompletion(engine: EngineClient, prompt: string): Promise<Timed> {
  await engine.restart();
  await engine.ensureReady();
  let firstAt: number | undefined;
  const sent = performance.now();
  const result = await engine.complete({ prompt, maxTokens: 8, lane: "completion" }, { onText: () => (firstAt ??= performance.now()) });
  const done = performance.now();
  return { ms: done - sent, ttftMs: (firstAt ?? done) - sent, result };
}

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const kind = (argValue("--model") ?? "medium") as TestModelKind;
  const reps = Number(argValue("--reps") ?? (quick ? 2 : 4));
  const modelPath = await ensureTestModel(kind);
  const cacheDir = mkdtempSync(join(tmpdir(), "bedside-warmstart-"));
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: 2048, flashAttention: true, stateCacheDir: cacheDir }));
  await engine.ensureReady();
  const note = await longNote(engine);
  const noteTokens = (await engine.tokenize(note)).count;
  console.log(`warmstart: ${kind} model, ${threads} thread(s), a ${noteTokens}-token note, ${reps} interleaved cold/warm pairs…`);

  const cold: Timed[] = [];
  const warm: Timed[] = [];
  const saves: { bytes: number; tokens: number }[] = [];
  for (let i = 0; i < reps; i++) {
    // Each pair ends its note differently, so no pair reuses another's state.
    const prompt = `${note}\nPLAN ${i + 1}:`;
    rmSync(cacheDir, { recursive: true, force: true });
    cold.push(await firstCompletion(engine, prompt));
    const saved = await engine.saveState("completion");
    saves.push({ bytes: saved.bytes, tokens: saved.tokens });
    warm.push(await firstCompletion(engine, prompt));
    const c = cold[cold.length - 1]!;
    const w = warm[warm.length - 1]!;
    console.log(
      `pair ${i + 1}: cold ${c.ms.toFixed(0)} ms (${c.result.promptTokensEvaluated} prompt tokens read), warm ${w.ms.toFixed(0)} ms (${w.result.restoredTokens ?? 0} restored, ${w.result.promptTokensEvaluated} read); state ${(saved.bytes / 1e6).toFixed(1)} MB; same text: ${c.result.text === w.result.text}`,
    );
  }
  await engine.dispose();
  rmSync(cacheDir, { recursive: true, force: true });

  const ratios = cold.map((c, i) => c.ms / warm[i]!.ms);
  const ttftRatios = cold.map((c, i) => c.ttftMs / warm[i]!.ttftMs);
  const sameText = cold.every((c, i) => c.result.text === warm[i]!.result.text);
  console.log("");
  printTable(
    ["", "cold ms", "warm ms", "cold/warm", "min..max"],
    [
      ["first completion (8 tokens)", median(cold.map((c) => c.ms)), median(warm.map((w) => w.ms)), median(ratios), `${Math.min(...ratios).toFixed(1)}..${Math.max(...ratios).toFixed(1)}`],
      ["time to first token", median(cold.map((c) => c.ttftMs)), median(warm.map((w) => w.ttftMs)), median(ttftRatios), `${Math.min(...ttftRatios).toFixed(1)}..${Math.max(...ttftRatios).toFixed(1)}`],
    ],
  );
  const metrics: Metrics = {
    warm_over_cold_first_completion: Number(median(ratios).toFixed(2)),
    warm_over_cold_first_completion_min: Number(Math.min(...ratios).toFixed(2)),
    warm_over_cold_first_completion_max: Number(Math.max(...ratios).toFixed(2)),
    warm_over_cold_ttft: Number(median(ttftRatios).toFixed(2)),
    warm_restored_tokens: median(warm.map((w) => w.result.restoredTokens ?? 0)),
    warm_prompt_tokens_read: median(warm.map((w) => w.result.promptTokensEvaluated)),
    state_megabytes: Number((median(saves.map((s) => s.bytes)) / 1e6).toFixed(1)),
    same_text: sameText,
    note_tokens: noteTokens,
    model: kind,
    threads,
  };
  reportMetrics("warmstart", { model: kind, threads, context_size: 2048, flash_attention: true, reps, note_tokens: noteTokens, max_tokens: 8, quick }, metrics, { cold, warm, saves });
}
