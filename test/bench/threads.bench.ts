/**
 * Threads suite: generation speed of the real worker at each fixed thread count (1 .. logical cores + 1)
 * against the automatic choice (src/engine/threads.ts), same model, greedy decoding, rounds interleaved so
 * every count sees the same machine state. Passes when auto is within 10% of the best fixed count.
 * `--quick`: the tiny model and fewer tokens; default: the medium generated model (llama, ~95 MB).
 */
import { statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { ensureTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine, type TestEngine } from "../support/engineFixture";
import { median, printTable, reportMetrics } from "./report";

const PROMPT = "HISTORY OF PRESENT ILLNESS:\nThe patient is a pleasant woman who presents with chest pain for two days, worse with exertion, and";

async function tokensPerSecond(t: TestEngine, maxTokens: number): Promise<number> {
  let firstAt: number | undefined;
  const result = await t.engine.complete({ prompt: PROMPT, maxTokens, lane: "general" }, { onText: () => (firstAt ??= performance.now()) });
  const done = performance.now();
  return result.generatedTokens > 1 && firstAt !== undefined ? (result.generatedTokens - 1) / ((done - firstAt) / 1000) : 0;
}

export async function run(quick: boolean): Promise<void> {
  const machine = readMachineCpus();
  const counts = Array.from({ length: Math.min(8, machine.logical + 1) }, (_, i) => i + 1);
  const model = await ensureTestModel(quick ? "tiny" : "medium");
  const auto = chooseThreads(0, machine, statSync(model).size);
  const maxTokens = quick ? 64 : 48;
  const rounds = quick ? 3 : 5;
  console.log(`threads bench: ${machine.logical} logical / ${machine.physical ?? "?"} physical cores; auto picks ${auto}; model ${model}; ${rounds} rounds x ${maxTokens} tokens`);

  const engines = new Map<number, TestEngine>();
  for (const n of counts) {
    const t = startTestEngine();
    t.engine.configure(cpuChoice(model, { threads: n, contextSize: 512 }));
    await t.engine.ensureReady();
    await tokensPerSecond(t, 8); // warm-up
    engines.set(n, t);
  }
  const samples = new Map<number, number[]>(counts.map((n) => [n, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (const n of counts) samples.get(n)!.push(await tokensPerSecond(engines.get(n)!, maxTokens));
    }
  } finally {
    for (const t of engines.values()) await t.engine.dispose();
  }
  const medians = new Map(counts.map((n) => [n, median(samples.get(n)!)]));
  const best = Math.max(...medians.values());
  const bestCount = counts.find((n) => medians.get(n) === best)!;
  const autoSpeed = medians.get(auto) ?? 0;
  printTable(
    ["threads", "tok/s (median)", "vs best", "note"],
    counts.map((n) => [
      n,
      medians.get(n)!,
      `${((medians.get(n)! / best) * 100).toFixed(0)}%`,
      [n === auto ? "auto" : "", n === bestCount ? "best" : ""].filter(Boolean).join(", "),
    ]),
  );
  const ratio = autoSpeed / best;
  const pass = ratio >= 0.9;
  console.log(`auto (${auto} threads) runs at ${(ratio * 100).toFixed(1)}% of the best fixed count (${bestCount}): ${pass ? "PASS (within 10%)" : "FAIL (more than 10% slower)"}`);
  reportMetrics(
    "threads",
    { model: quick ? "tiny" : "medium", thread_counts: counts.join(","), rounds, max_tokens: maxTokens, context_size: 512, flash_attention: cpuChoice("").flashAttention, quick },
    { autoThreads: auto, bestThreads: bestCount, autoTokPerS: autoSpeed, bestTokPerS: best, autoVsBest: ratio, pass },
    { medians: Object.fromEntries(medians), samples: Object.fromEntries(samples) },
  );
  if (!pass) process.exitCode = 1;
}
