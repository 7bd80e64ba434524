/** Starts the real engine worker (the built dist/worker.mjs) on a generated model, for engine tests and benchmarks. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { EngineClient, type EngineClientOptions, type ModelChoice } from "../../src/engine/client/engineClient";
import { LineLog } from "../../src/log/log";

export const projectRoot = resolve(__dirname, "..", "..");
export const workerPath = join(projectRoot, "dist", "worker.mjs");

export function cpuChoice(path: string, overrides: Partial<ModelChoice> = {}): ModelChoice {
  return { path, gpu: "cpu", gpuLayers: 0, threads: 1, contextSize: 512, flashAttention: true, ...overrides };
}

export interface TestEngine {
  engine: EngineClient;
  logLines: string[];
}

export function startTestEngine(options: Partial<EngineClientOptions> = {}): TestEngine {
  if (!existsSync(workerPath)) throw new Error(`${workerPath} is missing: run "node esbuild.mjs" first`);
  const logLines: string[] = [];
  const log = new LineLog((l) => logLines.push(l), { debug: () => true, includeNoteText: () => false });
  const engine = new EngineClient({ workerPath, log, idleUnloadMs: 0, restartDelaysMs: [50], ...options });
  return { engine, logLines };
}
