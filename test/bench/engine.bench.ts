/**
 * Engine suite: the worker (separate process, JSON-RPC over IPC) against node-llama-cpp used in-process,
 * same model file, same threads, same flash attention, greedy decoding, interleaved repetitions so both
 * see the same machine state. The ratio shows what the process boundary costs.
 */
import { performance } from "node:perf_hooks";
import { chooseThreads, readMachineCpus } from "../../src/engine/threads";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { readSampleNotes } from "../support/sharedData";
import { median, printTable, reportMetrics, type Metrics } from "./report";

interface Sample {
  ttftMs: number;
  tokensPerSecond: number;
  tokens: number;
  text: string;
}

interface Side {
  generate(prompt: string, maxTokens: number): Promise<Sample>;
  close(): Promise<void>;
}

const CONTEXT = 512;

function prompts(count: number): string[] {
  const notes = readSampleNotes(count);
  const fallback = "HISTORY OF PRESENT ILLNESS:\nThe patient is a pleasant woman who presents with chest pain for two days, worse with exertion.";
  return Array.from({ length: count }, (_, i) => (notes[i]?.text ?? `${fallback} (${i})`).slice(0, 600));
}

function sample(started: number, firstAt: number | undefined, finished: number, tokens: number, text: string): Sample {
  const first = firstAt ?? finished;
  return { ttftMs: first - started, tokensPerSecond: tokens > 1 ? (tokens - 1) / ((finished - first) / 1000) : 0, tokens, text };
}

async function workerSide(modelPath: string, threads: number): Promise<Side> {
  const { engine } = startTestEngine();
  engine.configure(cpuChoice(modelPath, { threads, contextSize: CONTEXT }));
  await engine.ensureReady();
  return {
    async generate(prompt, maxTokens) {
      let firstAt: number | undefined;
      const started = performance.now();
      const result = await engine.complete({ prompt, maxTokens, lane: "general" }, { onText: () => (firstAt ??= performance.now()) });
      return sample(started, firstAt, performance.now(), result.generatedTokens, result.text);
    },
    close: () => engine.dispose(),
  };
}

async function inProcessSide(modelPath: string, threads: number): Promise<Side> {
  const lib = await import("node-llama-cpp");
  const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, defaultContextFlashAttention: true });
  const context = await model.createContext({ contextSize: CONTEXT, threads, flashAttention: true });
  const completion = new lib.LlamaCompletion({ contextSequence: context.getSequence() });
  return {
    async generate(prompt, maxTokens) {
      let firstAt: number | undefined;
      let tokens = 0;
      const started = performance.now();
      const text = await completion.generateCompletion(prompt, {
        maxTokens,
        temperature: 0,
        onTextChunk: () => (firstAt ??= performance.now()),
        onToken: (t) => (tokens += t.length),
      });
      return sample(started, firstAt, performance.now(), tokens, text);
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

async function compare(kind: TestModelKind, reps: number, maxTokens: number, threads: number) {
  const modelPath = await ensureTestModel(kind);
  const worker = await workerSide(modelPath, threads);
  const inProcess = await inProcessSide(modelPath, threads);
  const texts = prompts(reps + 1);
  // Warm-up on both sides (first-run allocations), not counted.
  await worker.generate(texts[reps]!, 8);
  await inProcess.generate(texts[reps]!, 8);
  const w: Sample[] = [];
  const p: Sample[] = [];
  for (let i = 0; i < reps; i++) {
    // Alternate which side goes first so neither always runs on a warmer machine.
    if (i % 2 === 0) {
      w.push(await worker.generate(texts[i]!, maxTokens));
      p.push(await inProcess.generate(texts[i]!, maxTokens));
    } else {
      p.push(await inProcess.generate(texts[i]!, maxTokens));
      w.push(await worker.generate(texts[i]!, maxTokens));
    }
  }
  await worker.close();
  await inProcess.close();
  const wTps = median(w.map((s) => s.tokensPerSecond));
  const pTps = median(p.map((s) => s.tokensPerSecond));
  const wTtft = median(w.map((s) => s.ttftMs));
  const pTtft = median(p.map((s) => s.ttftMs));
  return {
    kind,
    reps,
    maxTokens,
    workerTokensPerSecond: wTps,
    inProcessTokensPerSecond: pTps,
    ratio: wTps / pTps,
    ratios: w.map((s, i) => s.tokensPerSecond / p[i]!.tokensPerSecond),
    workerTtftMs: wTtft,
    inProcessTtftMs: pTtft,
    sameOutput: w.every((s, i) => s.text === p[i]!.text),
  };
}

export async function run(quick: boolean): Promise<void> {
  const threads = chooseThreads(0, readMachineCpus());
  const plans: [TestModelKind, number, number][] = quick
    ? [["tiny", 3, 128]]
    : [
        ["tiny", 7, 256],
        ["medium", 5, 96],
      ];
  const results = [];
  for (const [kind, reps, maxTokens] of plans) {
    console.log(`engine: ${kind} model, ${reps} interleaved repetitions of ${maxTokens} tokens, ${threads} thread(s)…`);
    results.push(await compare(kind, reps, maxTokens, threads));
  }
  console.log("");
  printTable(
    ["model", "worker tok/s", "in-process tok/s", "ratio", "min..max ratio", "worker TTFT ms", "in-process TTFT ms", "same output"],
    results.map((r) => [
      r.kind,
      r.workerTokensPerSecond,
      r.inProcessTokensPerSecond,
      r.ratio,
      `${Math.min(...r.ratios).toFixed(2)}..${Math.max(...r.ratios).toFixed(2)}`,
      r.workerTtftMs,
      r.inProcessTtftMs,
      r.sameOutput ? "yes" : "no",
    ]),
  );
  const headline = results[results.length - 1]!;
  const metrics: Metrics = {
    worker_over_inprocess_tokens_per_s: Number(headline.ratio.toFixed(3)),
    headline_model: headline.kind,
    threads,
  };
  for (const r of results) {
    metrics[`${r.kind}_worker_over_inprocess_tokens_per_s`] = Number(r.ratio.toFixed(3));
    metrics[`${r.kind}_worker_tokens_per_s`] = Number(r.workerTokensPerSecond.toFixed(1));
    metrics[`${r.kind}_inprocess_tokens_per_s`] = Number(r.inProcessTokensPerSecond.toFixed(1));
    metrics[`${r.kind}_worker_over_inprocess_ttft`] = Number((r.workerTtftMs / r.inProcessTtftMs).toFixed(3));
    metrics[`${r.kind}_same_output`] = r.sameOutput;
  }
  reportMetrics(
    "engine",
    {
      models: plans.map(([kind]) => kind).join(","),
      reps: plans.map(([, reps]) => reps).join(","),
      max_tokens: plans.map(([, , maxTokens]) => maxTokens).join(","),
      threads,
      context_size: CONTEXT,
      flash_attention: cpuChoice("").flashAttention,
      greedy: true,
      quick,
    },
    metrics,
    results,
  );
}
