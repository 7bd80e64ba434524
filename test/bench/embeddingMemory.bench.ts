/**
 * Embedding-memory suite: what hybrid ranking's embedding model costs in memory. Bedside runs it in an engine
 * worker of its own (EngineHost.embedding, slot "embedding"), beside the generation model's worker, so the
 * cost is that whole process. Loads each model there as the extension does (context 512, 1 thread, CPU),
 * embeds 64 abstract-sized texts so every buffer is allocated, and reads the worker's peak resident memory
 * from outside (/proc/<pid>/status VmHWM), next to Select Model's estimate (hardwareFit.ts
 * `embeddingWorkerBytes`).
 *
 * Models: the generated bert test model (2 layers, width 64), and a generated bert shaped like
 * bge-small-en-v1.5 (12 layers, width 384, 12 heads, FFN 1,536, a 30,522-piece vocabulary, F16 weights:
 * about the size of the published F16 file, 67 MB). Random weights: memory depends on shapes and types only.
 *
 * `npm run bench -- embedding`. Last line: `{"bert": {...}, "bge-small-shaped": {...}, "settings": {...}}`.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readGgufHeader } from "../../src/engine/ggufHeader";
import { embeddingWorkerBytes, formatBytes, shapeFromGguf, weightsRepackedOnCpu } from "../../src/models/hardwareFit";
import { defaultModelCacheDir, ensureTestModel, writeBertTestModel } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { printTable, reportMetrics } from "./report";

function peakRssBytes(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (!kb) throw new Error(`no VmHWM for ${pid}`);
  return Number(kb) * 1024;
}

const TEXT =
  "Colchicine in addition to conventional therapy reduced the rate of recurrent pericarditis in a multicenter, double-blind trial of adults with a first recurrence. ".repeat(4);

async function measure(path: string): Promise<number> {
  const { engine } = startTestEngine({ slot: "embedding" });
  try {
    engine.configure(cpuChoice(path, { contextSize: 512, threads: 1, flashAttention: false }));
    await engine.ensureReady();
    for (let i = 0; i < 64; i++) await engine.embed([`${i} ${TEXT}`]);
    const pid = engine.workerPid;
    if (!pid) throw new Error("no worker process");
    return peakRssBytes(pid);
  } finally {
    await engine.dispose();
  }
}

export async function run(): Promise<void> {
  const bgeShaped = join(defaultModelCacheDir(), "bedside-bench-bert-bge-small-shaped.gguf");
  await writeBertTestModel(bgeShaped, {
    layers: 12,
    width: 384,
    heads: 12,
    ffn: 1536,
    tensorType: "f16",
    vocabWords: Array.from({ length: 30_000 }, (_, i) => `w${i.toString(36)}`),
    name: "bedside-bench-bert-bge-small-shaped",
  });
  const models: Array<[string, string]> = [
    ["bert", await ensureTestModel("bert")],
    ["bge-small-shaped", bgeShaped],
  ];
  const result: Record<string, { file_bytes: number; measured_peak_bytes: number; estimate_bytes: number; estimate_over_measured_peak: number }> = {};
  const rows: (string | number)[][] = [];
  for (const [name, path] of models) {
    const header = await readGgufHeader(path);
    const shape = shapeFromGguf(header);
    if (!shape) throw new Error(`${path}: no shape in its header`);
    const fileBytes = statSync(path).size;
    const peak = await measure(path);
    const estimate = embeddingWorkerBytes({ weightsBytes: fileBytes, shape, repacked: weightsRepackedOnCpu(header) }, "cpu", false);
    const ratio = Math.round((estimate / peak) * 1000) / 1000;
    result[name] = { file_bytes: fileBytes, measured_peak_bytes: peak, estimate_bytes: estimate, estimate_over_measured_peak: ratio };
    rows.push([name, `${shape.layers}x${shape.embeddingLength}`, formatBytes(fileBytes), formatBytes(peak), formatBytes(estimate), ratio]);
  }
  printTable(["model", "shape", "file", "embedding worker peak RSS", "estimate", "estimate/peak"], rows);
  const settings = { context: 512, threads: 1, gpu: "cpu", texts_embedded: 64, random_weights: true, peak: "VmHWM of the embedding worker process" };
  const metrics: Record<string, number> = {};
  for (const [name, r] of Object.entries(result)) metrics[`${name}_peak_mb`] = Math.round(r.measured_peak_bytes / 1e6);
  reportMetrics("embedding", settings, metrics, result);
  console.log(JSON.stringify({ ...result, settings }));
}
