/**
 * Warm-start suite: the first completion on a ~1,500-token note after the worker restarts, cold (the
 * model reads the whole note) against warm (the note's KV state saved before the restart is restored from
 * disk). Same model, threads and prompt; the worker is restarted before every measured completion and the
 * model load is not counted. Interleaved: cold, warm, cold, warm…; the state cache is emptied before each
 * cold run.
 *
 * Metric `warm_over_cold_first_completion`: cold time / warm time of the first completion (request to
 * result, 8 tokens). `--quick` uses 2 repetitions; `--model 7b` the 7B-shaped model (a cold 1,500-token
 * read takes minutes on a small CPU); `--model FILE.gguf` a model file, e.g. the trained fixture, whose
 * 384-token context cuts the note to 329 tokens.
 *
 * Then the product's own path with its default settings (package.json's bedside.completion.* defaults,
 * contextTokens 384 of the note): VS Code restarts (a worker restart, which saves the note's state on
 * unload), the note is opened with the cursor at its end, the extension warms up as registerCompletions
 * does (readAroundCursor -> CompletionSession.warmUp), and the clinician types a space: the first
 * suggestion (CompletionSession.suggest, its adaptive debounce included and reported apart). Cold: the
 * state cache emptied first. Metric `product_open_to_first_suggestion_warm_over_cold`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { CompletionSession, type CompletionSettings } from "../../src/completion/completionSession";
import { stringLineReader, textAroundCursor } from "../../src/completion/textAroundCursor";
import type { EngineClient } from "../../src/engine/client/engineClient";
import type { GenerationResult } from "../../src/engine/protocol";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { defaultCompletionSettings } from "../support/typingReplay";
import { median, printTable, reportMetrics, type Metrics } from "./report";

const NOTE_TOKENS = 1500;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Real notes joined until the text is `noteTokens` tokens long (or the nearest below). */
async function longNote(engine: EngineClient, noteTokens: number): Promise<string> {
  let text = "";
  for (const note of readSampleNotes(200)) {
    text += `${note.text}\n\n`;
    if ((await engine.tokenize(text)).count > noteTokens) break;
  }
  if (!text) text = "HISTORY OF PRESENT ILLNESS:\nThe patient presents with chest pain radiating to the left arm. ".repeat(120);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenize(text.slice(0, mid))).count <= noteTokens) lo = mid;
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

interface Opened {
  /** Open (warm-up start) to the first suggestion shown. */
  totalMs: number;
  warmUpMs: number;
  /** The suggestion's own time, its debounce wait taken out. */
  suggestModelMs: number;
  debounceMs: number;
  warmUpRestored: number;
  warmUpRead: number;
  suggestRead: number;
  text: string;
}

/** Restart (as reopening VS Code), open the note at its end, warm up as the product does, type a space. */
async function openAsTheProductDoes(engine: EngineClient, note: string, settings: CompletionSettings): Promise<Opened> {
  await engine.restart();
  const info = await engine.ensureReady();
  const session = new CompletionSession(
    engine,
    () => settings,
    undefined,
    undefined,
    () => info.contextSize,
  );
  const open = textAroundCursor(stringLineReader(note), note.length, session.promptBudgetTokens());
  const started = performance.now();
  const warm = await session.warmUp({
    documentKey: "file:///bench/note.note",
    prefix: open.prefix,
    prefixStart: open.prefixStart,
    ...(open.header ? { header: open.header } : {}),
    suffix: "",
    infillSupported: false,
  });
  const warmedAt = performance.now();
  const typed = `${note} `;
  const around = textAroundCursor(stringLineReader(typed), typed.length, session.promptBudgetTokens());
  const debounceMs = session.debounce.delayMs;
  const suggestion = await session.suggest({ documentKey: "file:///bench/note.note", ...around, infillSupported: true }, new AbortController().signal);
  const done = performance.now();
  return {
    totalMs: done - started,
    warmUpMs: warmedAt - started,
    suggestModelMs: done - warmedAt - debounceMs,
    debounceMs,
    warmUpRestored: warm?.restoredTokens ?? 0,
    warmUpRead: warm?.promptTokensEvaluated ?? 0,
    suggestRead: suggestion?.result?.promptTokensEvaluated ?? 0,
    text: suggestion?.text ?? "",
  };
}

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const kind = (argValue("--model") ?? "medium") as TestModelKind;
  const reps = Number(argValue("--reps") ?? (quick ? 2 : 4));
  // `--model FILE.gguf`: a model file, e.g. the trained fixture (a 384-token context: the note is cut to fit).
  const modelPath = kind.endsWith(".gguf") ? kind : await ensureTestModel(kind);
  const cacheDir = mkdtempSync(join(tmpdir(), "bedside-warmstart-"));
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: 2048, flashAttention: true, stateCacheDir: cacheDir }));
  const loaded = await engine.ensureReady();
  // node-llama-cpp cuts a prompt longer than the context less its shift reserve (a tenth) at its start, and
  // a cut prompt matches no saved state: leave that room and some for the "PLAN n:" ending.
  const note = await longNote(engine, Math.min(NOTE_TOKENS, loaded.contextSize - Math.ceil(loaded.contextSize / 10) - 16));
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
  // The product's path, default settings.
  const settings = defaultCompletionSettings();
  const coldOpen: Opened[] = [];
  const warmOpen: Opened[] = [];
  for (let i = 0; i < reps; i++) {
    const text = `${note}\nPLAN ${i + 1}:`;
    rmSync(cacheDir, { recursive: true, force: true });
    coldOpen.push(await openAsTheProductDoes(engine, text, settings));
    warmOpen.push(await openAsTheProductDoes(engine, text, settings));
    const c = coldOpen[coldOpen.length - 1]!;
    const w = warmOpen[warmOpen.length - 1]!;
    console.log(
      `product pair ${i + 1}: cold open->suggestion ${c.totalMs.toFixed(0)} ms (warm-up read ${c.warmUpRead}), warm ${w.totalMs.toFixed(0)} ms (warm-up restored ${w.warmUpRestored}, read ${w.warmUpRead}); debounce ${c.debounceMs.toFixed(0)}/${w.debounceMs.toFixed(0)} ms; same suggestion: ${c.text === w.text}`,
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
      [
        "first completion (8 tokens)",
        median(cold.map((c) => c.ms)),
        median(warm.map((w) => w.ms)),
        median(ratios),
        `${Math.min(...ratios).toFixed(1)}..${Math.max(...ratios).toFixed(1)}`,
      ],
      [
        "time to first token",
        median(cold.map((c) => c.ttftMs)),
        median(warm.map((w) => w.ttftMs)),
        median(ttftRatios),
        `${Math.min(...ttftRatios).toFixed(1)}..${Math.max(...ttftRatios).toFixed(1)}`,
      ],
    ],
  );
  const openRatios = coldOpen.map((c, i) => c.totalMs / warmOpen[i]!.totalMs);
  console.log("");
  console.log(`as the product opens a note (defaults: contextTokens ${settings.contextTokens}, maxTokens ${settings.maxTokens}, timeoutMs ${settings.timeoutMs}):`);
  printTable(
    ["", "cold ms", "warm ms", "cold/warm"],
    [
      ["open -> first suggestion", median(coldOpen.map((o) => o.totalMs)), median(warmOpen.map((o) => o.totalMs)), median(openRatios)],
      ["  warm-up on open", median(coldOpen.map((o) => o.warmUpMs)), median(warmOpen.map((o) => o.warmUpMs)), median(coldOpen.map((c, i) => c.warmUpMs / warmOpen[i]!.warmUpMs))],
      [
        "  first suggestion (model)",
        median(coldOpen.map((o) => o.suggestModelMs)),
        median(warmOpen.map((o) => o.suggestModelMs)),
        median(coldOpen.map((c, i) => c.suggestModelMs / warmOpen[i]!.suggestModelMs)),
      ],
      ["  debounce wait", median(coldOpen.map((o) => o.debounceMs)), median(warmOpen.map((o) => o.debounceMs)), 1],
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
    product_open_to_first_suggestion_warm_over_cold: Number(median(openRatios).toFixed(2)),
    product_cold_open_to_first_suggestion_ms: Math.round(median(coldOpen.map((o) => o.totalMs))),
    product_warm_open_to_first_suggestion_ms: Math.round(median(warmOpen.map((o) => o.totalMs))),
    product_warm_up_restored_tokens: median(warmOpen.map((o) => o.warmUpRestored)),
    product_warm_up_tokens_read_cold: median(coldOpen.map((o) => o.warmUpRead)),
    product_same_suggestion: coldOpen.every((c, i) => c.text === warmOpen[i]!.text),
    note_tokens: noteTokens,
    model: kind,
    threads,
  };
  reportMetrics(
    "warmstart",
    {
      model: kind,
      threads,
      context_size: loaded.contextSize,
      flash_attention: true,
      reps,
      note_tokens: noteTokens,
      max_tokens: 8,
      quick,
      completion_context_tokens: settings.contextTokens,
      completion_max_tokens: settings.maxTokens,
      completion_timeout_ms: settings.timeoutMs,
    },
    metrics,
    { cold, warm, saves, coldOpen, warmOpen },
  );
}
