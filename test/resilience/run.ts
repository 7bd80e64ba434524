/**
 * `npm run test:resilience`: faults and bad inputs against the real engine worker (SIGKILLs at random
 * moments, model files changing under a loaded model, protocol fuzzing) and against a real VS Code
 * (huge note, binary and non-UTF-8 files with completions on), then a table of what was tried and what
 * went wrong. Hangs, extension host crashes and lost or unexpected edits must all be 0. The last line is
 * JSON, like the benchmarks.
 *
 * BEDSIDE_RESILIENCE_FAST=1 (how `npm test` runs it): 5 engine kills, 3 kills during features (chat,
 * differential, answer), the library's full disk and damaged file, all features at once, and no VS Code
 * part (the integration suite already runs the editor checks at a tenth of the size).
 * BEDSIDE_RESILIENCE_KILLS, BEDSIDE_RESILIENCE_FEATURE_KILLS, BEDSIDE_FUZZ_RUNS and BEDSIDE_RESILIENCE_SEED
 * tune it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Mocha from "mocha";
import { collectSkips, type SkippedTest } from "../support/skip";
import { addTally, rows, tally, type ResilienceTally } from "./tally";

interface SideResults {
  passed: number;
  failed: number;
  skips: SkippedTest[];
}

const root = resolve(__dirname, "..", "..");
const fast = process.env.BEDSIDE_RESILIENCE_FAST === "1";
if (fast && !process.env.BEDSIDE_RESILIENCE_KILLS) process.env.BEDSIDE_RESILIENCE_KILLS = "5";
if (fast && !process.env.BEDSIDE_RESILIENCE_FEATURE_KILLS) process.env.BEDSIDE_RESILIENCE_FEATURE_KILLS = "3";

async function runEngineSide(): Promise<SideResults> {
  const mocha = new Mocha({ timeout: 30 * 60_000, reporter: "spec" });
  for (const file of ["workerKills.test.ts", "featureFaults.test.ts", "modelFile.test.ts", "protocolFuzz.test.ts", "parserFuzz.test.ts"]) mocha.addFile(join(__dirname, file));
  await mocha.loadFilesAsync();
  let passed = 0;
  let failed = 0;
  let skips: SkippedTest[] = [];
  await new Promise<void>((done) => {
    const runner = mocha.run(() => done());
    runner.on("pass", () => passed++);
    runner.on("fail", () => failed++);
    skips = collectSkips(runner);
  });
  return { passed, failed, skips };
}

function runEditorSide(): SideResults {
  const dir = join(root, ".cache", "resilience");
  mkdirSync(dir, { recursive: true });
  const tallyFile = join(dir, "vscode-tally.json");
  const resultsFile = join(dir, "vscode-results.json");
  rmSync(tallyFile, { force: true });
  rmSync(resultsFile, { force: true });
  const run = spawnSync("npx", ["tsx", join(root, "test", "integration", "run.ts")], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, BEDSIDE_TEST_GREP: "Bedside resilience in VS Code", BEDSIDE_RESILIENCE_TALLY: tallyFile, BEDSIDE_RESULTS_FILE: resultsFile },
  });
  const results = existsSync(resultsFile) ? ({ skips: [], ...(JSON.parse(readFileSync(resultsFile, "utf8")) as Partial<SideResults>) } as SideResults) : undefined;
  if (existsSync(tallyFile)) {
    const saved = JSON.parse(readFileSync(tallyFile, "utf8")) as { tally: ResilienceTally; rows: typeof rows };
    addTally(tally, saved.tally);
    rows.push(...saved.rows);
  }
  // No results from the extension host: it crashed or never reported.
  if (!results || (run.status !== 0 && results.failed === 0)) {
    tally.extensionHostCrashes++;
    return { passed: results?.passed ?? 0, failed: Math.max(1, results?.failed ?? 0), skips: results?.skips ?? [] };
  }
  return results;
}

async function main(): Promise<void> {
  const engine = await runEngineSide();
  const editor = fast ? { passed: 0, failed: 0, skips: [] } : runEditorSide();
  const passed = engine.passed + editor.passed;
  const failed = engine.failed + editor.failed;
  const skips = [...engine.skips, ...editor.skips];

  console.log("\nResilience: what was tried");
  console.log(`${"area".padEnd(16)}  ${"tried".padEnd(96)}  count`);
  for (const r of rows) console.log(`${r.area.padEnd(16)}  ${r.tried.slice(0, 96).padEnd(96)}  ${String(r.count).padStart(5)}`);
  const summary: [string, number][] = [
    ["bad inputs tried", tally.badInputs],
    ["faults injected", tally.faults],
    ["hangs", tally.hangs],
    ["extension host crashes", tally.extensionHostCrashes],
    ["lost edits", tally.lostEdits],
    ["unexpected edits", tally.unexpectedEdits],
    ["unclear error messages", tally.unclearMessages],
    ["faults not recovered from", tally.notRecovered],
    ["tests passed", passed],
    ["tests failed", failed],
    ["tests skipped", skips.length],
  ];
  console.log("\nResilience: results");
  for (const [name, value] of summary) console.log(`${name.padEnd(28)}  ${String(value).padStart(7)}`);
  for (const s of skips) console.log(`skipped: ${s.title}: ${s.reason}`);
  if (fast) console.log("(fast slice: 5 engine kills, 3 feature kills, no VS Code part; `npm run test:resilience` runs all of it)");

  const bad = tally.hangs + tally.extensionHostCrashes + tally.lostEdits + tally.unexpectedEdits;
  const resultsFile = process.env.BEDSIDE_RESULTS_FILE;
  if (resultsFile) writeFileSync(resultsFile, JSON.stringify({ passed, failed: failed + (bad > 0 && failed === 0 ? 1 : 0), skipped: skips.length, skips }));
  console.log(
    JSON.stringify({
      suite: "resilience",
      fast,
      badInputs: tally.badInputs,
      faultsInjected: tally.faults,
      hangs: tally.hangs,
      extensionHostCrashes: tally.extensionHostCrashes,
      lostEdits: tally.lostEdits,
      unexpectedEdits: tally.unexpectedEdits,
      unclearMessages: tally.unclearMessages,
      notRecovered: tally.notRecovered,
      passed,
      failed,
      skipped: skips.length,
    }),
  );
  process.exit(failed > 0 || bad > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
