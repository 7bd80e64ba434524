/**
 * Memory suite: does Select Model's estimate (src/models/hardwareFit.ts `estimateWorkerMemory`) match what
 * the engine worker really takes? Loads the medium (95 MB) and the Llama-2-7B-shaped (3.8 GB) Q4_0 models
 * in the worker as the extension does (two lanes of `CONTEXT` tokens, 1 thread, CPU), with the file
 * memory-mapped (default) and read in (`bedside.engine.lowMemory`), generates on both lanes so every buffer
 * is allocated, and reads the worker's peak resident memory from outside (/proc/<pid>/status VmHWM).
 *
 * `npm run bench -- memory` (needs ~10 GB free RAM for the 7B; run it under nice). `--quick`: the medium
 * model only. Random weights: memory depends on shapes and types, not on the values.
 * Last line: `{"medium": {"default": {"estimate_over_measured_peak": x, ...}, "lowMemory": {...}}, "7b": {...}}`.
 */
import { readFileSync, statSync } from "node:fs";
import { readGgufHeader } from "../../src/engine/ggufHeader";
import { estimateWorkerMemory, formatBytes, shapeFromGguf, weightsRepackedOnCpu } from "../../src/models/hardwareFit";
import { ensureTestModel, type TestModelKind } from "../support/gguf/testModels";
import { cpuChoice, startTestEngine } from "../support/engineFixture";
import { printTable, reportMetrics } from "./report";

const CONTEXT = 2048;

function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM for ${pid}`);
  return Number(kb) * 1024;
}

async function measure(path: string, lowMemory: boolean): Promise<{ peak: number; contextSize: number }> {
  const { engine } = startTestEngine();
  try {
    engine.configure(cpuChoice(path, { contextSize: CONTEXT, threads: 1, lowMemory }));
    const info = await engine.ensureReady();
    // A prompt on each lane, so both sequences and the compute buffers are in use.
    for (const lane of ["completion", "general"] as const) await engine.complete({ prompt: "Patient has chest pain and shortness of breath. Assessment:", maxTokens: 4, lane });
    const pid = engine.workerPid;
    if (!pid) throw new Error("no worker process");
    return { peak: peakRssBytes(pid), contextSize: info.contextSize };
  } finally {
    await engine.dispose();
  }
}

export async function run(quick: boolean): Promise<void> {
  const kinds: TestModelKind[] = quick ? ["medium"] : ["medium", "7b"];
  const result: Record<string, Record<string, { estimate_over_measured_peak: number; estimate_bytes: number; measured_peak_bytes: number }>> = {};
  const rows: (string | number)[][] = [];
  for (const kind of kinds) {
    const path = await ensureTestModel(kind);
    const header = await readGgufHeader(path);
    const shape = shapeFromGguf(header);
    if (!shape) throw new Error(`${path}: no shape in its header`);
    const fileBytes = statSync(path).size;
    result[kind] = {};
    for (const lowMemory of [false, true]) {
      const { peak, contextSize } = await measure(path, lowMemory);
      const need = estimateWorkerMemory({ weightsBytes: fileBytes, shape, contextSize, lanes: 2, lowMemory, repacked: weightsRepackedOnCpu(header), backend: "cpu" });
      const ratio = Math.round((need.totalBytes / peak) * 1000) / 1000;
      result[kind]![lowMemory ? "lowMemory" : "default"] = { estimate_over_measured_peak: ratio, estimate_bytes: need.totalBytes, measured_peak_bytes: peak };
      rows.push([kind, lowMemory ? "lowMemory" : "default", contextSize, formatBytes(fileBytes), formatBytes(peak), formatBytes(need.totalBytes), ratio]);
    }
  }
  printTable(["model", "mode", "ctx/lane", "file", "measured peak RSS", "estimate", "estimate/peak"], rows);
  const metrics: Record<string, number> = {};
  for (const [kind, modes] of Object.entries(result)) for (const [mode, r] of Object.entries(modes)) metrics[`${kind}_${mode}_estimate_over_peak`] = r.estimate_over_measured_peak;
  const settings = { models: kinds.join(","), context_per_lane: CONTEXT, lanes: 2, threads: 1, gpu: "cpu", random_weights: true, peak: "VmHWM of the worker process" };
  reportMetrics("memory", settings, metrics, result);
  // The shape, last on stdout, with the settings it ran with.
  console.log(JSON.stringify({ ...result, settings }));
}
