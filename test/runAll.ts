/**
 * `npm test`: every suite in turn (unit, engine, integration in a real VS Code, e2e in Chromium), then
 * one plain line with the totals. A suite that dies without reporting counts as one failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(__dirname, "..");
const suites = (process.env.BEDSIDE_SUITES ?? "unit,engine,integration,e2e").split(",").map((s) => s.trim()).filter(Boolean);
const resultsDir = join(root, ".cache", "results");
mkdirSync(resultsDir, { recursive: true });

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
const rows: { suite: string; counts: Counts; exitCode: number; seconds: number }[] = [];

// The integration and e2e suites drive a real VS Code through Chromium: install the Debian packages they
// need first (a no-op when present; a clear message when they cannot be installed without a password).
if (suites.some((s) => s === "integration" || s === "e2e") && process.platform === "linux") {
  const prerequisites = spawnSync("bash", [join(root, "test", "support", "systemPackages.sh")], { stdio: "inherit" });
  if (prerequisites.status !== 0) console.error("System packages are missing: the integration and e2e suites will fail (see above).");
}

for (const suite of suites) {
  const file = join(resultsDir, `${suite}.json`);
  rmSync(file, { force: true });
  console.log(`\n=== ${suite} ===`);
  const started = Date.now();
  const run = spawnSync("npm", ["run", `test:${suite}`], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, BEDSIDE_RESULTS_FILE: file },
  });
  const exitCode = run.status ?? 1;
  let counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(file)) counts = { skipped: 0, ...(JSON.parse(readFileSync(file, "utf8")) as Partial<Counts>) } as Counts;
  // A suite that crashed or exited non-zero without recording a failure still failed.
  if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
  rows.push({ suite, counts, exitCode, seconds: Math.round((Date.now() - started) / 1000) });
}

console.log("\nsuite         passed  failed  skipped  seconds");
for (const r of rows) {
  console.log(`${r.suite.padEnd(12)}  ${String(r.counts.passed).padStart(6)}  ${String(r.counts.failed).padStart(6)}  ${String(r.counts.skipped).padStart(7)}  ${String(r.seconds).padStart(7)}`);
}
const passed = rows.reduce((n, r) => n + r.counts.passed, 0);
const failed = rows.reduce((n, r) => n + r.counts.failed, 0);
const skipped = rows.reduce((n, r) => n + r.counts.skipped, 0);
if (skipped) console.log(`${skipped} skipped`);
// The last line is the one CI counts: exactly "N passed, N failed".
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
