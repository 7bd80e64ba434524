/**
 * Parity suite: Bedside's engine (through the worker process) against llama.cpp's own `llama-bench`, same
 * GGUF file and the same settings pinned on both sides: threads, flash attention on, batch and micro-batch
 * (node-llama-cpp always runs its micro-batch at the batch size, so llama-bench gets `-b B -ub B`), the CPU
 * only (`-ngl 0`), and the context: llama-bench sizes its context to prompt + generated tokens (288) and has
 * no flag for it, llama.cpp pads every context to a multiple of 256 (512); the engine asks for the same 288 per
 * sequence and must report the same 512.
 *
 * Both sides are timed the same way, from outside, around the same amount of work:
 * - pp: a fresh prompt of PROMPT_TOKENS tokens evaluated in one batch.
 * - tg: GEN_TOKENS tokens generated one at a time after (next to) nothing.
 * llama-bench: the wall clock around the whole process, run once with `-r 1` and once with `-r 1+K`; the
 * difference is K repetitions of the work (4K for the short tg32), with the model load, warm-up and start-up
 * cancelled out.
 * Engine: the wall clock in this process around each `complete()` (IPC, tokenizing and sampling included:
 * what a feature pays). The engine's own timings from the worker (prompt evaluation, decoding) and
 * llama-bench's own figure (avg_ts) are reported next to the wall-clock ones, never instead of them.
 * Repetitions are interleaved, alternating which side goes first.
 *
 * `--quick` uses the ~100 MB medium model, otherwise the 3.8 GB Llama-2-7B-shaped Q4_0 model. Both are
 * random-weight models with real shapes: speed depends on shapes and quantisation, so the figures are
 * speed figures only. `--threads N` (default: Bedside's choice for this machine), `--batch N` (default 512),
 * `--reps N` (default 3; quick 2), `--k N` (llama-bench repetitions timed per difference; default 3).
 */
import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { LANES } from "../../src/engine/protocol";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import type { EngineClient } from "../../src/engine/client/engineClient";
import { ensureTestModel } from "../support/gguf/testModels";
import { ensureLlamaCppTools } from "../support/llamaCppTools";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { median, printTable, reportMetrics, type Metrics, type Settings } from "./report";

const execFileAsync = promisify(execFile);
const PROMPT_TOKENS = 256;
const GEN_TOKENS = 32;
/** llama-bench's tg difference runs k x this many extra repetitions. */
const TG_REPS_FACTOR = 4;

interface LlamaBenchRecord {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  n_threads: number;
  n_batch: number;
  n_ubatch: number;
  n_gpu_layers?: number;
  flash_attn: boolean | string | number;
  build_commit?: string;
}

/** The settings both sides run with. */
interface Pinned {
  threads: number;
  batch: number;
  ubatch: number;
  flashAttention: true;
  /**
   * Tokens of context per sequence. llama-bench asks for prompt + generated tokens and llama.cpp pads every
   * context to a multiple of 256; the engine asks for the same and reports what it got, which must match.
   */
  context: number;
}

interface LlamaBenchSide {
  /** Wall-clock tok/s over K repetitions (difference of two process runs). */
  ppWall: number;
  tgWall: number;
  /** llama-bench's own figure. */
  ppOwn: number;
  tgOwn: number;
  record: LlamaBenchRecord;
}

interface EngineSide {
  /** Wall-clock tok/s around complete(), prompt tokens evaluated / ms from request to result. */
  ppWall: number;
  /** Wall-clock tok/s around complete(), generated tokens / ms from request to result. */
  tgWall: number;
  /** The worker's own timings: prompt evaluation, and decoding from token 1 to the last. */
  ppOwn: number;
  tgOwn: number;
  promptTokens: number;
  generated: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function llamaBenchArgs(model: string, pinned: Pinned, test: "pp" | "tg", reps: number): string[] {
  return [
    "-m",
    model,
    "-t",
    String(pinned.threads),
    "-fa",
    "on",
    "-b",
    String(pinned.batch),
    "-ub",
    String(pinned.ubatch),
    "-ngl",
    "0",
    "-r",
    String(reps),
    "-p",
    test === "pp" ? String(PROMPT_TOKENS) : "0",
    "-n",
    test === "tg" ? String(GEN_TOKENS) : "0",
    "-o",
    "json",
  ];
}

/** One llama-bench process: its wall-clock time and its record. */
async function llamaBenchOnce(bench: string, args: string[]): Promise<{ ms: number; record: LlamaBenchRecord }> {
  const started = performance.now();
  const { stdout } = await execFileAsync(bench, args, { maxBuffer: 16 << 20 });
  const ms = performance.now() - started;
  const records = JSON.parse(stdout) as LlamaBenchRecord[];
  const record = records[0];
  if (!record) throw new Error(`llama-bench gave no record: ${stdout.slice(0, 400)}`);
  return { ms, record };
}

async function llamaBenchRep(bench: string, model: string, pinned: Pinned, k: number): Promise<LlamaBenchSide> {
  const timed = async (test: "pp" | "tg"): Promise<{ wall: number; own: number; record: LlamaBenchRecord }> => {
    // tg32 is short next to a process start: more repetitions keep the difference well above the noise.
    const extra = test === "pp" ? k : k * TG_REPS_FACTOR;
    const one = await llamaBenchOnce(bench, llamaBenchArgs(model, pinned, test, 1));
    const more = await llamaBenchOnce(bench, llamaBenchArgs(model, pinned, test, 1 + extra));
    const tokens = test === "pp" ? PROMPT_TOKENS : GEN_TOKENS;
    // `extra` more repetitions of the same work; load, warm-up and start-up are in both runs and cancel out.
    const extraMs = more.ms - one.ms;
    if (extraMs <= 0)
      throw new Error(
        `llama-bench -r ${1 + extra} took no longer than -r 1 (${Math.round(more.ms)} vs ${Math.round(one.ms)} ms): the machine is too noisy to time it from outside; raise --k`,
      );
    return { wall: (extra * tokens) / (extraMs / 1000), own: more.record.avg_ts, record: more.record };
  };
  const pp = await timed("pp");
  const tg = await timed("tg");
  return { ppWall: pp.wall, tgWall: tg.wall, ppOwn: pp.own, tgOwn: tg.own, record: pp.record };
}

/** A prompt of `PROMPT_TOKENS` tokens including BOS (or the nearest below), different from the start for each call. */
async function freshPrompt(engine: EngineClient, tag: string, source: string): Promise<string> {
  const text = `${tag}.\n${source}`;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenize(text.slice(0, mid))).count <= PROMPT_TOKENS - 1) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

/** K repetitions of pp and of tg through the engine, each timed from outside; medians per repetition. */
async function engineRep(engine: EngineClient, rep: number, k: number, source: string): Promise<EngineSide> {
  const samples: EngineSide[] = [];
  for (let j = 0; j < k; j++) {
    // Different from the first token on, so the KV cache of the previous request is of no use.
    const prompt = await freshPrompt(engine, `Visit ${rep * k + j + 1} of ${1000 + (rep * k + j) * 37}`, source);
    let sent = performance.now();
    const pp = await engine.complete({ prompt, maxTokens: 1, lane: "general" });
    const ppMs = performance.now() - sent;
    const tgPrompt = `${String.fromCharCode(65 + ((rep * k + j) % 26))}:`;
    sent = performance.now();
    const tg = await engine.complete({ prompt: tgPrompt, maxTokens: GEN_TOKENS, lane: "general" });
    const tgMs = performance.now() - sent;
    samples.push({
      ppWall: pp.promptTokensEvaluated / (ppMs / 1000),
      tgWall: tg.generatedTokens / (tgMs / 1000),
      ppOwn: pp.promptTokensEvaluated / ((pp.promptEvalMs ?? pp.firstTokenMs) / 1000),
      tgOwn: tg.generatedTokens > 1 && tg.decodeMs ? (tg.generatedTokens - 1) / (tg.decodeMs / 1000) : 0,
      promptTokens: pp.promptTokensEvaluated,
      generated: tg.generatedTokens,
    });
  }
  const m = (f: (s: EngineSide) => number): number => median(samples.map(f));
  return {
    ppWall: m((s) => s.ppWall),
    tgWall: m((s) => s.tgWall),
    ppOwn: m((s) => s.ppOwn),
    tgOwn: m((s) => s.tgOwn),
    promptTokens: m((s) => s.promptTokens),
    generated: m((s) => s.generated),
  };
}

function spread(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(2)}..${Math.max(...values).toFixed(2)}`;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const batch = Number(argValue("--batch") ?? 512);
  const reps = Number(argValue("--reps") ?? (quick ? 2 : 3));
  const k = Number(argValue("--k") ?? 3);
  const kind = quick ? "medium" : "7b";
  const pinned: Pinned = { threads, batch, ubatch: batch, flashAttention: true, context: Math.ceil((PROMPT_TOKENS + GEN_TOKENS) / 256) * 256 };
  const tools = ensureLlamaCppTools();
  const modelPath = await ensureTestModel(kind);
  console.log(
    `parity: ${kind} model, pinned on both sides: ${threads} thread(s), flash attention on, batch ${batch}, micro-batch ${batch}, CPU only, ` +
      `context ${pinned.context}; ${reps} interleaved repetitions of ${k} x pp${PROMPT_TOKENS} and ${k} x tg${GEN_TOKENS}, wall clock from outside…`,
  );

  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: PROMPT_TOKENS + GEN_TOKENS, flashAttention: true, batchSize: batch, lookupDecoding: false }));
  const info = await engine.ensureReady();
  console.log(`engine: flash attention ${info.flashAttention ? "on" : "off"}, ${info.threads} threads, context ${info.contextSize}, loaded in ${info.loadMs} ms`);
  if (!info.flashAttention || info.threads !== threads || info.contextSize !== pinned.context)
    throw new Error(`the engine did not take the pinned settings: ${JSON.stringify(info)}`);
  const notes = readSampleNotes(reps + 1).map((n) => n.text);
  const source = (i: number): string => (notes[i] ?? "The patient presents with chest pain radiating to the left arm. ".repeat(40)).repeat(3);
  await engine.complete({ prompt: "Warm-up.", maxTokens: 4, lane: "general" });

  const rows: { bench: LlamaBenchSide; engine: EngineSide }[] = [];
  for (let i = 0; i < reps; i++) {
    // Alternate which side goes first so neither always runs on a warmer (or busier) machine.
    let bench: LlamaBenchSide;
    let mine: EngineSide;
    if (i % 2 === 0) {
      bench = await llamaBenchRep(tools.bench, modelPath, pinned, k);
      mine = await engineRep(engine, i, k, source(i));
    } else {
      mine = await engineRep(engine, i, k, source(i));
      bench = await llamaBenchRep(tools.bench, modelPath, pinned, k);
    }
    const record = bench.record;
    const flash = record.flash_attn === true || record.flash_attn === 1 || record.flash_attn === "1" || record.flash_attn === "on" || record.flash_attn === "enabled";
    if (record.n_threads !== threads || record.n_batch !== batch || record.n_ubatch !== batch || !flash) {
      throw new Error(`llama-bench did not run with the pinned settings: ${JSON.stringify(record)}`);
    }
    rows.push({ bench, engine: mine });
    console.log(
      `rep ${i + 1}: pp wall llama-bench ${bench.ppWall.toFixed(2)} engine ${mine.ppWall.toFixed(2)} tok/s (${mine.promptTokens} tokens); ` +
        `tg wall llama-bench ${bench.tgWall.toFixed(2)} engine ${mine.tgWall.toFixed(2)} tok/s (${mine.generated} tokens)`,
    );
  }
  await engine.dispose();

  const med = (f: (r: (typeof rows)[number]) => number): number => median(rows.map(f));
  const ppWallRatios = rows.map((r) => r.engine.ppWall / r.bench.ppWall);
  const tgWallRatios = rows.map((r) => r.engine.tgWall / r.bench.tgWall);
  const ppOwnRatios = rows.map((r) => r.engine.ppOwn / r.bench.ppOwn);
  const tgOwnRatios = rows.map((r) => r.engine.tgOwn / r.bench.tgOwn);
  console.log("");
  printTable(
    ["test", "timed by", "llama-bench tok/s", "engine tok/s", "engine/llama-bench", "min..max (per rep)"],
    [
      [`pp${PROMPT_TOKENS}`, "wall clock, outside", med((r) => r.bench.ppWall), med((r) => r.engine.ppWall), median(ppWallRatios), spread(ppWallRatios)],
      [`tg${GEN_TOKENS}`, "wall clock, outside", med((r) => r.bench.tgWall), med((r) => r.engine.tgWall), median(tgWallRatios), spread(tgWallRatios)],
      [`pp${PROMPT_TOKENS}`, "each side's own", med((r) => r.bench.ppOwn), med((r) => r.engine.ppOwn), median(ppOwnRatios), spread(ppOwnRatios)],
      [`tg${GEN_TOKENS}`, "each side's own", med((r) => r.bench.tgOwn), med((r) => r.engine.tgOwn), median(tgOwnRatios), spread(tgOwnRatios)],
    ],
  );
  const record = rows.at(-1)!.bench.record;
  const settings: Settings = {
    model: kind,
    random_weights: true,
    prompt_tokens: PROMPT_TOKENS,
    gen_tokens: GEN_TOKENS,
    reps,
    k_per_rep: k,
    llamabench_extra_reps_pp: k,
    llamabench_extra_reps_tg: k * TG_REPS_FACTOR,
    llamabench_threads: record.n_threads,
    llamabench_flash_attn: String(record.flash_attn),
    llamabench_batch: record.n_batch,
    llamabench_ubatch: record.n_ubatch,
    llamabench_gpu_layers: record.n_gpu_layers ?? 0,
    llamabench_context: pinned.context,
    llamabench_context_asked: PROMPT_TOKENS + GEN_TOKENS,
    llamabench_commit: record.build_commit ?? tools.commit,
    engine_threads: info.threads,
    engine_flash_attn: info.flashAttention,
    engine_batch: batch,
    engine_ubatch: batch,
    engine_gpu_layers: info.gpuLayers ?? 0,
    engine_context: info.contextSize,
    engine_context_asked: PROMPT_TOKENS + GEN_TOKENS,
    engine_sequences: LANES.length,
    engine_lane: "general",
    engine_lookup_decoding: false,
    timing: "wall clock from outside: llama-bench process time difference (-r 1 vs -r 1+k); engine time around complete()",
  };
  const metrics: Metrics = {
    llamabench_pp_wall_tps: round(med((r) => r.bench.ppWall)),
    engine_pp_wall_tps: round(med((r) => r.engine.ppWall)),
    llamabench_tg_wall_tps: round(med((r) => r.bench.tgWall)),
    engine_tg_wall_tps: round(med((r) => r.engine.tgWall)),
    engine_over_llamabench_pp_wall: round(median(ppWallRatios), 3),
    engine_over_llamabench_tg_wall: round(median(tgWallRatios), 3),
    engine_over_llamabench_pp_wall_min: round(Math.min(...ppWallRatios), 3),
    engine_over_llamabench_pp_wall_max: round(Math.max(...ppWallRatios), 3),
    engine_over_llamabench_tg_wall_min: round(Math.min(...tgWallRatios), 3),
    engine_over_llamabench_tg_wall_max: round(Math.max(...tgWallRatios), 3),
    llamabench_pp_own_tps: round(med((r) => r.bench.ppOwn)),
    engine_pp_own_tps: round(med((r) => r.engine.ppOwn)),
    llamabench_tg_own_tps: round(med((r) => r.bench.tgOwn)),
    engine_tg_own_tps: round(med((r) => r.engine.tgOwn)),
    engine_over_llamabench_pp_own: round(median(ppOwnRatios), 3),
    engine_over_llamabench_tg_own: round(median(tgOwnRatios), 3),
  };
  reportMetrics("parity", settings, metrics, { rows, llamaBench: record, engine: info });
}
