/**
 * Completion suite: replays the typing of real notes (MTSamples, ../shared/data) word by word at a typing
 * pace, with pauses, against the real engine worker, and compares Bedside's strategy with a naive one in the
 * same run and on the same worker:
 *   bedside: CompletionSession (anchored context window on the completion lane so the KV cache is reused,
 *            the stale request aborted on each keystroke, typed-ahead cache, adaptive debounce, warm-up when
 *            the note is opened);
 *   naive:   the last N characters before the cursor (a sliding window: no reuse), a fixed debounce, no
 *            abort (requests queue up on the lane), no cache.
 * Both use the same model, threads, token budget, max tokens, stop strings, banned digits and shaping.
 * Metrics: prompt tokens needed per pause (what a strategy needs evaluated to answer: every request it
 * started counts, the warm-up too; the naive strategy's queued requests with their whole prompts, since the
 * benchmark's timeout, not the strategy, dropped them), prompt tokens the worker actually evaluated (which
 * the CPU's speed caps for the naive side on big models), the same without the warm-up, the median over
 * typing requests that evaluated any, time
 * from the pause (last word typed) to the answer, p50/p95, suggestions shown vs requests started.
 */
import { statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { AdaptiveDebounce } from "../../src/completion/adaptiveDebounce";
import { CompletionSession, type CompletionSettings } from "../../src/completion/completionSession";
import { CHARS_PER_TOKEN } from "../../src/completion/contextWindow";
import { DIGIT_TEXTS, shapeSuggestion, stopStrings } from "../../src/completion/suggestionShape";
import type { EngineClient } from "../../src/engine/client/engineClient";
import type { GenerationResult } from "../../src/engine/protocol";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes, type SampleNote } from "../support/sharedData";
import { sleep, withTimeout } from "../support/typingReplay";
import { median, percentile, printTable, reportMetrics, type Metrics } from "./report";

interface Plan {
  kind: TestModelKind;
  notes: number;
  words: number;
  pauseEvery: number;
  paceMs: number;
  /** A pause whose answer takes longer counts with this latency (censored) and the backlog is dropped. */
  pauseTimeoutMs: number;
  contextSize: number;
}

interface PauseOutcome {
  latencyMs: number;
  shown: boolean;
  censored: boolean;
}

interface StrategyRun {
  pauses: PauseOutcome[];
  promptTokens: number;
  /** Prompt tokens of the requests made while typing, without the warm-up when the note was opened. */
  typingPromptTokens: number;
  /** Prompt tokens of each typing request that evaluated any (a request aborted while queued evaluates none). */
  requestTokens: number[];
  started: number;
  /**
   * Prompt tokens the strategy needs evaluated to answer: what it evaluated, and for the naive strategy the
   * whole prompt of every request it started (a sliding window reuses nothing, and it never aborts: only the
   * benchmark's timeout dropped the backlog the CPU could not get through).
   */
  neededPromptTokens: number;
  warmUpMs?: number;
}

interface Strategy {
  open(note: string): Promise<void>;
  /** The note now reads `prefix` (one more word typed). */
  type(prefix: string): void;
  /** Waits for the answer to the current prefix; undefined text: nothing to show. */
  answer(timeoutMs: number): Promise<{ text: string | undefined } | "timeout">;
  close(): Promise<void>;
}

const SETTINGS: CompletionSettings = { contextTokens: 384, maxTokens: 24, timeoutMs: 4000, allowNumbers: false, fillInTheMiddle: false };
const NAIVE_DEBOUNCE_MS = 300;

function bedsideStrategy(engine: EngineClient, key: string): Strategy & { warmUpMs: number } {
  const session = new CompletionSession(engine, () => SETTINGS, undefined, new AdaptiveDebounce());
  let caller: AbortController | undefined;
  let latest: Promise<{ text: string | undefined }> = Promise.resolve({ text: undefined });
  const strategy = {
    warmUpMs: 0,
    async open(note: string) {
      const t = performance.now();
      await session.warmUp({ documentKey: key, prefix: note, suffix: "", infillSupported: false });
      strategy.warmUpMs = performance.now() - t;
    },
    type(prefix: string) {
      caller?.abort(); // VS Code cancels the previous request's token on each keystroke
      caller = new AbortController();
      latest = session.suggest({ documentKey: key, prefix, suffix: "", infillSupported: false }, caller.signal).then((s) => ({ text: s?.text }));
    },
    answer: (timeoutMs: number) => withTimeout(latest, timeoutMs),
    async close() {
      caller?.abort();
      await latest.catch(() => undefined);
    },
  };
  return strategy;
}

function naiveStrategy(engine: EngineClient): Strategy & { prompts: string[] } {
  const budgetChars = SETTINGS.contextTokens * CHARS_PER_TOKEN;
  // Only to end the benchmark's backlog after a timed-out pause or at the end of a note: the naive strategy
  // itself never aborts.
  let housekeeping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let latest: Promise<{ text: string | undefined }> = Promise.resolve({ text: undefined });
  const inFlight = new Set<Promise<GenerationResult>>();
  const prompts: string[] = [];
  return {
    prompts,
    async open() {},
    type(prefix: string) {
      clearTimeout(timer);
      let fire: (value: { text: string | undefined }) => void = () => undefined;
      latest = new Promise((resolve) => (fire = resolve));
      timer = setTimeout(() => {
        prompts.push(prefix.slice(-budgetChars));
        const request = engine.complete(
          { prompt: prefix.slice(-budgetChars), maxTokens: SETTINGS.maxTokens, stop: stopStrings(false), temperature: 0, lane: "general", bannedTexts: DIGIT_TEXTS },
          { signal: housekeeping.signal },
        );
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request)).catch(() => undefined);
        request.then(
          (r) =>
            fire({
              text: shapeSuggestion(r.text, {
                linePrefix: prefix.split("\n").pop() ?? "",
                lineSuffix: "",
                before: prefix.slice(-2000),
                after: "",
                inList: false,
                allowDigits: false,
              }),
            }),
          () => fire({ text: undefined }),
        );
      }, NAIVE_DEBOUNCE_MS);
    },
    async answer(timeoutMs: number) {
      const answer = await withTimeout(latest, timeoutMs);
      if (answer === "timeout") {
        // Drop the backlog without waiting: a prompt batch being evaluated still finishes in the worker,
        // and the naive strategy's next requests wait for it, as they would.
        clearTimeout(timer);
        housekeeping.abort();
        housekeeping = new AbortController();
      }
      return answer;
    },
    async close() {
      clearTimeout(timer);
      housekeeping.abort();
      await Promise.allSettled([...inFlight]);
      housekeeping = new AbortController();
    },
  };
}

/** The note split into an opening the clinician already wrote and words still to type. */
function typingScript(note: SampleNote, plan: Plan): { opening: string; steps: string[] } | undefined {
  const start = SETTINGS.contextTokens * CHARS_PER_TOKEN + 200; // past the window, so the naive one slides
  const lineEnd = note.text.indexOf("\n", start);
  const cut = lineEnd > 0 && lineEnd < start + 400 ? lineEnd + 1 : note.text.indexOf(" ", start) + 1;
  if (cut <= 0) return undefined;
  const rest = note.text.slice(cut).match(/\S+\s*/g) ?? [];
  if (rest.length < plan.words) return undefined;
  return { opening: note.text.slice(0, cut), steps: rest.slice(0, plan.words) };
}

async function replay(engine: EngineClient, strategy: Strategy, opening: string, steps: string[], plan: Plan): Promise<StrategyRun> {
  const logStart = engine.requestLog.recent().at(-1)?.id ?? 0;
  await strategy.open(opening);
  const typingStart = engine.requestLog.recent().at(-1)?.id ?? 0;
  const pauses: PauseOutcome[] = [];
  let prefix = opening;
  for (const [i, step] of steps.entries()) {
    prefix += step;
    strategy.type(prefix);
    const typedAt = performance.now();
    if ((i + 1) % plan.pauseEvery === 0) {
      const answer = await strategy.answer(plan.pauseTimeoutMs);
      const censored = answer === "timeout";
      pauses.push({ latencyMs: censored ? plan.pauseTimeoutMs : performance.now() - typedAt, shown: !censored && answer.text !== undefined, censored });
    } else {
      await sleep(plan.paceMs);
    }
  }
  await strategy.close();
  const requests = engine.requestLog.recent().filter((r) => r.id > logStart);
  const tokens = (rs: typeof requests): number => rs.reduce((n, r) => n + (r.promptTokensEvaluated ?? 0), 0);
  return {
    pauses,
    started: requests.length,
    promptTokens: tokens(requests),
    neededPromptTokens: tokens(requests),
    typingPromptTokens: tokens(requests.filter((r) => r.id > typingStart)),
    requestTokens: requests.filter((r) => r.id > typingStart && (r.promptTokensEvaluated ?? 0) > 0).map((r) => r.promptTokensEvaluated!),
  };
}

interface Summary {
  pauses: number;
  shown: number;
  censored: number;
  started: number;
  promptTokensPerPause: number;
  neededPromptTokensPerPause: number;
  typingPromptTokensPerPause: number;
  /** Median prompt tokens of a typing request that evaluated any. */
  requestPromptTokensMedian: number;
  p50Ms: number;
  p95Ms: number;
  warmUpMs?: number;
}

function summarise(runs: StrategyRun[]): Summary {
  const pauses = runs.flatMap((r) => r.pauses);
  const latencies = pauses.map((p) => p.latencyMs);
  const promptTokens = runs.reduce((n, r) => n + r.promptTokens, 0);
  const warmUps = runs.map((r) => r.warmUpMs).filter((w): w is number => w !== undefined);
  return {
    pauses: pauses.length,
    shown: pauses.filter((p) => p.shown).length,
    censored: pauses.filter((p) => p.censored).length,
    started: runs.reduce((n, r) => n + r.started, 0),
    promptTokensPerPause: promptTokens / Math.max(1, pauses.length),
    neededPromptTokensPerPause: runs.reduce((n, r) => n + r.neededPromptTokens, 0) / Math.max(1, pauses.length),
    requestPromptTokensMedian: median(runs.flatMap((r) => r.requestTokens)),
    typingPromptTokensPerPause: runs.reduce((n, r) => n + r.typingPromptTokens, 0) / Math.max(1, pauses.length),
    p50Ms: median(latencies),
    p95Ms: percentile(latencies, 95),
    ...(warmUps.length ? { warmUpMs: median(warmUps) } : {}),
  };
}

async function runModel(plan: Plan, notes: SampleNote[]): Promise<{ bedside: Summary; naive: Summary; loadMs: number }> {
  const modelPath = await ensureTestModel(plan.kind);
  const threads = chooseThreads(0, readMachineCpus(), statSync(modelPath).size);
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: plan.contextSize }));
  const loadStarted = performance.now();
  await engine.ensureReady();
  const loadMs = performance.now() - loadStarted;
  const bedsideRuns: StrategyRun[] = [];
  const naiveRuns: StrategyRun[] = [];
  try {
    const scripts = notes
      .map((n) => typingScript(n, plan))
      .filter((s): s is NonNullable<typeof s> => s !== undefined)
      .slice(0, plan.notes);
    for (const [i, script] of scripts.entries()) {
      const bedside = bedsideStrategy(engine, `note-${i}`);
      const run = await replay(engine, bedside, script.opening, script.steps, plan);
      bedsideRuns.push({ ...run, warmUpMs: bedside.warmUpMs });
      const naive = naiveStrategy(engine);
      const naiveRun = await replay(engine, naive, script.opening, script.steps, plan);
      let needed = 0;
      for (const prompt of naive.prompts) needed += (await engine.tokenize(prompt)).count;
      naiveRuns.push({ ...naiveRun, neededPromptTokens: Math.max(needed, naiveRun.promptTokens) });
      const b = summarise([bedsideRuns.at(-1)!]);
      const n = summarise([naiveRuns.at(-1)!]);
      console.log(
        `  ${plan.kind} note ${i + 1}/${scripts.length}: bedside p50 ${Math.round(b.p50Ms)} ms, ${b.promptTokensPerPause.toFixed(1)} tok/pause; naive p50 ${Math.round(n.p50Ms)} ms, ${n.promptTokensPerPause.toFixed(1)} tok/pause`,
      );
    }
  } finally {
    await engine.dispose();
  }
  return { bedside: summarise(bedsideRuns), naive: summarise(naiveRuns), loadMs };
}

export async function run(quick: boolean): Promise<void> {
  const notes = readSampleNotes(200).filter((n) => n.text.length > SETTINGS.contextTokens * CHARS_PER_TOKEN + 1200);
  if (notes.length === 0) throw new Error("No MTSamples notes found: the benchmark reads ../shared/data/mtsamples (or BEDSIDE_SHARED_DATA).");
  const plans: Plan[] = [{ kind: "tiny", notes: quick ? 2 : 4, words: 24, pauseEvery: 4, paceMs: 600, pauseTimeoutMs: 30_000, contextSize: 2048 }];
  if (!quick) plans.push({ kind: "7b", notes: 1, words: 40, pauseEvery: 4, paceMs: 600, pauseTimeoutMs: 30_000, contextSize: 2048 });

  const metrics: Metrics = {};
  const rows: (string | number)[][] = [];
  const details: Record<string, unknown> = {};
  for (const plan of plans) {
    console.log(`${plan.kind}: ${plan.notes} notes, ${plan.words} words each at ${plan.paceMs} ms/word, a pause every ${plan.pauseEvery} words`);
    const { bedside, naive, loadMs } = await runModel(plan, notes);
    details[plan.kind] = { plan, bedside, naive, loadMs };
    for (const [name, s] of [
      ["bedside", bedside],
      ["naive", naive],
    ] as const) {
      rows.push([
        plan.kind,
        name,
        s.neededPromptTokensPerPause,
        s.promptTokensPerPause,
        s.typingPromptTokensPerPause,
        s.requestPromptTokensMedian,
        Math.round(s.p50Ms),
        Math.round(s.p95Ms),
        `${s.shown}/${s.pauses}`,
        s.started,
        s.censored,
        s.warmUpMs !== undefined ? Math.round(s.warmUpMs) : "-",
      ]);
    }
    const suffix = plan.kind === "7b" ? "" : `_${plan.kind}`;
    // Per pause: what each strategy needs evaluated to answer (see neededPromptTokens), warm-up included;
    // `_evaluated`: what the worker got through, which caps the naive side at the CPU's speed on big models.
    metrics[`naive_over_bedside_prompt_tokens${suffix}`] = naive.neededPromptTokensPerPause / Math.max(1e-9, bedside.neededPromptTokensPerPause);
    metrics[`naive_over_bedside_prompt_tokens_evaluated${suffix}`] = naive.promptTokensPerPause / Math.max(1e-9, bedside.promptTokensPerPause);
    metrics[`naive_over_bedside_prompt_tokens_typing_only${suffix}`] = naive.typingPromptTokensPerPause / Math.max(1e-9, bedside.typingPromptTokensPerPause);
    metrics[`naive_over_bedside_prompt_tokens_per_request_median${suffix}`] = naive.requestPromptTokensMedian / Math.max(1, bedside.requestPromptTokensMedian);
    metrics[`naive_over_bedside_p50_latency${suffix}`] = naive.p50Ms / Math.max(1e-9, bedside.p50Ms);
    metrics[`bedside_p50_ms${suffix}`] = Math.round(bedside.p50Ms);
    metrics[`naive_censored_pauses${suffix}`] = naive.censored;
  }
  printTable(
    [
      "model",
      "strategy",
      "needed prompt tok/pause",
      "evaluated tok/pause",
      "same, typing only",
      "median tok/request",
      "p50 ms",
      "p95 ms",
      "shown/pauses",
      "requests started",
      "timed out",
      "warm-up ms",
    ],
    rows,
  );
  reportMetrics(
    "completion",
    {
      models: plans.map((p) => p.kind).join(","),
      engine_context_size: plans[0]!.contextSize,
      threads: "chooseThreads per model (src/engine/threads.ts)",
      flash_attention: cpuChoice("").flashAttention,
      completion_context_tokens: SETTINGS.contextTokens,
      completion_max_tokens: SETTINGS.maxTokens,
      completion_timeout_ms: SETTINGS.timeoutMs,
      allow_numbers: SETTINGS.allowNumbers,
      naive_debounce_ms: NAIVE_DEBOUNCE_MS,
      notes: plans.map((p) => p.notes).join(","),
      words_per_note: plans.map((p) => p.words).join(","),
      pause_every_words: plans[0]!.pauseEvery,
      pace_ms_per_word: plans[0]!.paceMs,
      quick,
    },
    metrics,
    details,
  );
}
