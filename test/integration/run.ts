// `npm run test:integration` (npx tsx test/integration/run.ts): runs the bundled mocha suite
// (dist/test/integration/index.js) inside a real VS Code with the extension under development loaded.
//
// Host: BEDSIDE_TEST_HOST=code-server|electron. code-server (VS Code's server + web workbench in
// headless Chromium) is the default on Linux, where desktop VS Code may not be downloadable;
// @vscode/test-electron's desktop VS Code is the default elsewhere. Both load the same suite.
//
// Other environment: BEDSIDE_TEST_MODEL (default: the generated tiny GGUF), BEDSIDE_RESULTS_FILE (write {"passed","failed","skipped","skips"} there), BEDSIDE_TEST_GREP,
// BEDSIDE_TEST_TIMEOUT_MS (per test), BEDSIDE_TEST_VERBOSE (also print the workbench's own log),
// BEDSIDE_VSCODE_VERSION (electron host; default stable).
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTestModel } from "../support/gguf/testModels";
import { ensureLlamaCppTools, llamaCppToolsBuilt } from "../support/llamaCppTools";
import { makeScratchDir, quietSettings } from "../support/vscodeHost/codeServer";
import { runExtensionTests } from "../support/vscodeHost/extensionTests";
import { projectRoot, sampleNotesDir } from "../support/vscodeHost/paths";
import type { SkippedTest } from "../support/skip";

export type TestHost = "code-server" | "electron";

export interface IntegrationSuiteOptions {
  /** User settings for the test profile, e.g. { 'bedside.modelPath': '/tmp/tiny.gguf' }. */
  settings?: Record<string, unknown>;
  /** Environment for the extension host (and the engine worker it spawns), e.g. BEDSIDE_MODEL. */
  env?: Record<string, string>;
  host?: TestHost;
  /** Whole run; default 10 minutes. */
  timeoutMs?: number;
}

export interface IntegrationSuiteResult {
  host: TestHost;
  passed: number;
  failed: number;
  /** Skipped tests with their reasons (test/support/skip.ts). */
  skips: SkippedTest[];
  exitCode: number;
  /** Folder with VS Code's logs, when the code-server run failed. */
  logsDir?: string;
}

/** The built runner; esbuild.mjs bundles test/integration/index.ts there. */
export const builtSuitePath = path.join(projectRoot, "dist", "test", "integration", "index.js");

export function chooseHost(): TestHost {
  const asked = process.env.BEDSIDE_TEST_HOST;
  if (asked === "code-server" || asked === "electron") return asked;
  if (asked) throw new Error(`BEDSIDE_TEST_HOST must be code-server or electron, not '${asked}'`);
  return process.platform === "linux" ? "code-server" : "electron";
}

function ensureWorkspace(): string {
  if (!fs.existsSync(sampleNotesDir)) {
    fs.mkdirSync(sampleNotesDir, { recursive: true });
    fs.writeFileSync(path.join(sampleNotesDir, "README.md"), "# Sample notes\n\nDe-identified sample clinical notes used by the tests.\n");
  }
  return sampleNotesDir;
}

function assertBuilt(): void {
  const missing = [path.join(projectRoot, "package.json"), builtSuitePath].filter((file) => !fs.existsSync(file));
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { main?: string };
  if (manifest.main && !fs.existsSync(path.join(projectRoot, manifest.main))) missing.push(path.join(projectRoot, manifest.main));
  if (missing.length > 0) throw new Error(`Build first (node esbuild.mjs); missing: ${missing.join(", ")}`);
}

async function runInElectron(options: IntegrationSuiteOptions, workspace: string): Promise<IntegrationSuiteResult> {
  const { runTests } = await import("@vscode/test-electron");
  const scratch = makeScratchDir();
  const userDataDir = path.join(scratch, "user-data");
  const resultsFile = path.join(scratch, "results.json");
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, "User", "settings.json"), `${JSON.stringify({ ...quietSettings, ...options.settings }, null, 2)}\n`);
  let exitCode: number;
  try {
    exitCode = await runTests({
      version: process.env.BEDSIDE_VSCODE_VERSION ?? "stable",
      extensionDevelopmentPath: projectRoot,
      extensionTestsPath: builtSuitePath,
      launchArgs: [workspace, `--user-data-dir=${userDataDir}`, `--extensions-dir=${path.join(scratch, "extensions")}`, "--disable-extensions"],
      extensionTestsEnv: { ...options.env, BEDSIDE_RUNNER_RESULTS_FILE: resultsFile },
    });
  } catch (error) {
    // runTests rejects on a non-zero exit and on a failed download.
    const code = (error as { code?: unknown }).code;
    exitCode = typeof code === "number" ? code : 1;
    if (typeof code !== "number") console.error(`VS Code (electron) could not run: ${error instanceof Error ? error.message : String(error)}`);
  }
  let counts: { passed: number; failed: number; skips: SkippedTest[] } = { passed: 0, failed: 1, skips: [] };
  try {
    counts = { skips: [], ...(JSON.parse(fs.readFileSync(resultsFile, "utf8")) as Partial<typeof counts>) } as typeof counts;
  } catch {
    // no results: the suite never finished; counts as one failure
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
  return { host: "electron", ...counts, exitCode };
}

/** Runs the integration suite in a real VS Code; callers pass extra settings and environment. */
export async function runIntegrationSuite(options: IntegrationSuiteOptions = {}): Promise<IntegrationSuiteResult> {
  const host = options.host ?? chooseHost();
  assertBuilt();
  const workspace = ensureWorkspace();
  // The engine suite loads a generated GGUF (~2 MB, cached in .cache/models) unless the caller names one.
  const testModel = options.env?.BEDSIDE_TEST_MODEL ?? process.env.BEDSIDE_TEST_MODEL ?? (await ensureTestModel("tiny"));
  // The team-server suite runs llama.cpp's own llama-server when it is built (.cache/llama.cpp); it skips, saying so, otherwise.
  const llamaServer: Record<string, string> = llamaCppToolsBuilt() ? { BEDSIDE_LLAMA_SERVER: ensureLlamaCppTools().server } : {};
  // The GPT-2-architecture suite (BioMedLM's layout) switches bedside.model.path to this file and back.
  const gpt2Model = options.env?.BEDSIDE_TEST_GPT2_MODEL ?? (await ensureTestModel("gpt2"));
  const withModel: IntegrationSuiteOptions = { ...options, env: { ...llamaServer, ...options.env, BEDSIDE_TEST_MODEL: testModel, BEDSIDE_TEST_GPT2_MODEL: gpt2Model } };
  if (host === "electron") return runInElectron(withModel, workspace);
  const result = await runExtensionTests({
    extensionDevelopmentPath: projectRoot,
    extensionTestsPath: builtSuitePath,
    workspace,
    settings: withModel.settings,
    env: withModel.env,
    timeoutMs: withModel.timeoutMs,
  });
  return { host, passed: result.passed, failed: result.failed, skips: result.skips, exitCode: result.exitCode, logsDir: result.logsDir };
}

async function main(): Promise<void> {
  const started = Date.now();
  const host = chooseHost();
  console.log(`[integration] running dist/test/integration in VS Code (${host})`);
  // BEDSIDE_MODEL and friends reach the extension host through the inherited environment.
  const result = await runIntegrationSuite({ host });
  const counts = { passed: result.passed, failed: result.failed, skipped: result.skips.length, skips: result.skips };
  if (process.env.BEDSIDE_RESULTS_FILE) fs.writeFileSync(process.env.BEDSIDE_RESULTS_FILE, `${JSON.stringify(counts)}\n`);
  for (const s of result.skips) console.log(`[integration] skipped: ${s.title}: ${s.reason}`);
  console.log(
    `[integration] ${host}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (exit ${result.exitCode}) in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  if (result.logsDir) console.log(`[integration] VS Code and code-server logs: ${result.logsDir}`);
  process.exitCode = counts.failed > 0 || result.exitCode !== 0 ? 1 : 0;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    if (process.env.BEDSIDE_RESULTS_FILE) fs.writeFileSync(process.env.BEDSIDE_RESULTS_FILE, `${JSON.stringify({ passed: 0, failed: 1 })}\n`);
    process.exitCode = 1;
  });
}
