/**
 * Parity suite: Bedside's engine (through the worker process) against llama.cpp's own `llama-bench`, same
 * GGUF file, same threads, interleaved repetitions. llama-bench runs with its defaults (`-r 1 -o json`,
 * `-p 256 -n 32`); the engine runs with Bedside's defaults.
 *
 * - pp: prompt tokens evaluated / prompt time of a fresh ~256-token prompt. Prompt time is measured in the
 *   worker from the start of evaluation to the first generated token (which comes after the prompt batch
 *   is decoded); the client-side time to first token is shown beside it.
 * - tg: 31 / time from generated token 1 to token 32, after a short prompt (measured in the worker).
 *
 * `--quick` uses the ~100 MB medium model, otherwise the 3.8 GB Llama-2-7B-shaped Q4_0 model.
 * `--threads N` overrides the thread count (default: Bedside's choice for this machine).
 */
import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import type { EngineClient } from "../../src/engine/client/engineClient";
import { ensureTestModel } from "../support/gguf/testModels";
import { ensureLlamaCppTools } from "../support/llamaCppTools";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { median, printTable, reportMetrics, type Metrics } from "./report";

const execFileAsync = promisify(execFile);
const PROMPT_TOKENS = 256;
const GEN_TOKENS = 32;

interface LlamaBenchRecord {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  n_threads: number;
  n_batch: number;
  n_ubatch: number;
  flash_attn: boolean | string | number;
}

interface Rep {
  benchPp: number;
  benchTg: number;
  enginePp: number;
  engineTg: number;
  enginePpClient: number;
  promptTokens: number;
  generated: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function llamaBench(bench: string, model: string, threads: number): Promise<{ pp: number; tg: number; record: LlamaBenchRecord }> {
  const { stdout } = await execFileAsync(bench, ["-m", model, "-t", String(threads), "-r", "1", "-p", String(PROMPT_TOKENS), "-n", String(GEN_TOKENS), "-o", "json"], {
    maxBuffer: 16 << 20,
  });
  const records = JSON.parse(stdout) as LlamaBenchRecord[];
  const pp = records.find((r) => r.n_prompt > 0 && r.n_gen === 0);
  const tg = records.find((r) => r.n_gen > 0 && r.n_prompt === 0);
  if (!pp || !tg) throw new Error(`llama-bench gave no pp/tg records: ${stdout.slice(0, 400)}`);
  return { pp: pp.avg_ts, tg: tg.avg_ts, record: pp };
}

/** A prompt of `PROMPT_TOKENS` tokens including BOS (or the nearest below), starting differently per rep. */
async function freshPrompt(engine: EngineClient, rep: number, source: string): Promise<string> {
  const text = `Visit ${rep + 1} of ${1000 + rep * 37}.\n${source}`;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenize(text.slice(0, mid))).count <= PROMPT_TOKENS - 1) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo);
}

async function engineRep(engine: EngineClient, rep: number, source: string): Promise<Omit<Rep, "benchPp" | "benchTg">> {
  const prompt = await freshPrompt(engine, rep, source);
  let firstAt: number | undefined;
  const sent = performance.now();
  const pp = await engine.complete({ prompt, maxTokens: 1, lane: "general" }, { onText: () => (firstAt ??= performance.now()) });
  const clientMs = (firstAt ?? performance.now()) - sent;
  const tg = await engine.complete({ prompt: `Visit ${rep + 1}. Assessment:`, maxTokens: GEN_TOKENS, lane: "general" });
  return {
    enginePp: pp.promptTokensEvaluated / ((pp.promptEvalMs ?? pp.firstTokenMs) / 1000),
    enginePpClient: pp.promptTokensEvaluated / (clientMs / 1000),
    engineTg: (tg.generatedTokens - 1) / ((tg.decodeMs ?? 0) / 1000),
    promptTokens: pp.promptTokensEvaluated,
    generated: tg.generatedTokens,
  };
}

function spread(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(2)}..${Math.max(...values).toFixed(2)}`;
}

export async function run(quick: boolean): Promise<void> {
  const threads = Number(argValue("--threads") ?? chooseThreads(0, readMachineCpus()));
  const reps = Number(argValue("--reps") ?? 3);
  const kind = quick ? "medium" : "7b";
  const tools = ensureLlamaCppTools();
  const modelPath = await ensureTestModel(kind);
  console.log(`parity: ${kind} model, ${threads} thread(s), ${reps} interleaved repetitions of pp${PROMPT_TOKENS} and tg${GEN_TOKENS}…`);

  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: 2048, flashAttention: true }));
  const info = await engine.ensureReady();
  console.log(`engine: flash attention ${info.flashAttention ? "on" : "off"}, ${info.threads} threads, loaded in ${info.loadMs} ms`);
  const notes = readSampleNotes(reps + 1).map((n) => n.text);
  const source = (i: number): string => (notes[i] ?? "The patient presents with chest pain radiating to the left arm. ".repeat(40)).repeat(3);
  await engine.complete({ prompt: "Warm-up.", maxTokens: 4, lane: "general" });

  const results: Rep[] = [];
  let record: LlamaBenchRecord | undefined;
  for (let i = 0; i < reps; i++) {
    // Alternate which side goes first so neither always runs on a warmer (or busier) machine.
    let bench: { pp: number; tg: number; record: LlamaBenchRecord };
    let mine: Omit<Rep, "benchPp" | "benchTg">;
    if (i % 2 === 0) {
      bench = await llamaBench(tools.bench, modelPath, threads);
      mine = await engineRep(engine, i, source(i));
    } else {
      mine = await engineRep(engine, i, source(i));
      bench = await llamaBench(tools.bench, modelPath, threads);
    }
    record = bench.record;
    results.push({ ...mine, benchPp: bench.pp, benchTg: bench.tg });
    const r = results[results.length - 1]!;
    console.log(
      `rep ${i + 1}: pp llama-bench ${r.benchPp.toFixed(2)} engine ${r.enginePp.toFixed(2)} tok/s (${r.promptTokens} tokens); tg llama-bench ${r.benchTg.toFixed(2)} engine ${r.engineTg.toFixed(2)} tok/s (${r.generated} tokens)`,
    );
  }
  await engine.dispose();

  const ppRatios = results.map((r) => r.enginePp / r.benchPp);
  const tgRatios = results.map((r) => r.engineTg / r.benchTg);
  const ppClientRatios = results.map((r) => r.enginePpClient / r.benchPp);
  console.log("");
  printTable(
    ["test", "llama-bench tok/s", "engine tok/s", "engine/llama-bench", "min..max (per rep)"],
    [
      [`pp${PROMPT_TOKENS} (worker-side timing)`, median(results.map((r) => r.benchPp)), median(results.map((r) => r.enginePp)), median(ppRatios), spread(ppRatios)],
      [`pp${PROMPT_TOKENS} (client TTFT)`, median(results.map((r) => r.benchPp)), median(results.map((r) => r.enginePpClient)), median(ppClientRatios), spread(ppClientRatios)],
      [`tg${GEN_TOKENS}`, median(results.map((r) => r.benchTg)), median(results.map((r) => r.engineTg)), median(tgRatios), spread(tgRatios)],
    ],
  );
  const metrics: Metrics = {
    engine_over_llamabench_pp: Number(median(ppRatios).toFixed(3)),
    engine_over_llamabench_tg: Number(median(tgRatios).toFixed(3)),
    engine_over_llamabench_pp_min: Number(Math.min(...ppRatios).toFixed(3)),
    engine_over_llamabench_pp_max: Number(Math.max(...ppRatios).toFixed(3)),
    engine_over_llamabench_tg_min: Number(Math.min(...tgRatios).toFixed(3)),
    engine_over_llamabench_tg_max: Number(Math.max(...tgRatios).toFixed(3)),
    engine_over_llamabench_pp_client_ttft: Number(median(ppClientRatios).toFixed(3)),
    model: kind,
    threads,
    reps,
  };
  reportMetrics("parity", metrics, { results, llamaBench: record, engine: info });
}

