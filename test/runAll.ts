/**
 * `npm test`: every suite in turn (unit, engine, integration in a real VS Code, e2e in Chromium), then
 * one plain line with the totals. A suite that dies without reporting counts as one failure.
 *
 * The engine, resilience and integration suites run with the network cut off except loopback (a network namespace,
 * where the platform allows) and with an in-process egress guard in every Node process they start: any
 * outbound connection attempt counts as a failure (test/support/noEgress.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeAttempt, egressGuardEnv, networkNamespace, readEgressAttempts } from "./support/noEgress";
import { onCi, skipTable, type ExpectedSkip, type SkippedTest } from "./support/skip";

const root = resolve(__dirname, "..");
// lint: ESLint with the house rules (eslint.config.mjs), one count per file linted; first, it takes seconds.
// package: the linux-x64 .vsix built, installed into code-server and smoke-tested from the installed copy.
// resilience: a fast slice here (a few worker kills, a kill during chat, differential and answer, all
// features at once, the library on a full disk and damaged, model file faults, 10,000-message protocol fuzz);
// `npm run test:resilience` runs all of it.
const suites = (process.env.BEDSIDE_SUITES ?? "lint,unit,engine,resilience,integration,package,e2e")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const resultsDir = join(root, ".cache", "results");
mkdirSync(resultsDir, { recursive: true });

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** Each skipped test with its reason; a suite that reports a count but no list gets placeholders. */
  skips: SkippedTest[];
}
const rows: { suite: string; counts: Counts; exitCode: number; seconds: number }[] = [];

// The integration and e2e suites drive a real VS Code through Chromium: install the Debian packages they
// need first (a no-op when present; a clear message when they cannot be installed without a password).
if (suites.some((s) => s === "integration" || s === "package" || s === "e2e" || s === "engine") && process.platform === "linux") {
  const prerequisites = spawnSync("bash", [join(root, "test", "support", "systemPackages.sh")], { stdio: "inherit" });
  if (prerequisites.status !== 0) console.error("System packages are missing: the integration and e2e suites will fail (see above).");
}

// Suites that must work with no network but loopback.
const NETWORKLESS = new Set(["engine", "resilience", "integration", "package"]);
const namespace = suites.some((s) => NETWORKLESS.has(s)) ? networkNamespace() : undefined;
// The integration host (code-server, and its Node 24, which the resilience suite also runs the library on)
// is installed from the npm registry on a fresh machine: do that before the network goes.
if (suites.some((s) => s === "integration" || s === "package" || s === "resilience") && namespace && "prefix" in namespace) {
  spawnSync("npx", ["tsx", join(root, "test", "support", "vscodeHost", "prepare.ts")], { cwd: root, stdio: "inherit" });
}

for (const suite of suites) {
  const file = join(resultsDir, `${suite}.json`);
  rmSync(file, { force: true });
  console.log(`\n=== ${suite} ===`);
  let prefix: string[] = [];
  let guard: ReturnType<typeof egressGuardEnv> | undefined;
  if (NETWORKLESS.has(suite) && namespace) {
    guard = egressGuardEnv(root, suite);
    if ("prefix" in namespace) {
      prefix = namespace.prefix;
      console.log(`(${suite}: network cut off with ${namespace.how}; in-process egress guard on)`);
    } else {
      console.log(`(${suite}: NOT network-less: ${namespace.unavailable}. The in-process egress guard still fails the run on any outbound attempt.)`);
    }
  }
  const started = Date.now();
  const [command = "npm", ...args] = [...prefix, "npm", "run", `test:${suite}`];
  const run = spawnSync(command, args, {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      ...guard?.env,
      ...(suite === "resilience" ? { BEDSIDE_RESILIENCE_FAST: process.env.BEDSIDE_RESILIENCE_FAST ?? "1" } : {}),
      BEDSIDE_RESULTS_FILE: file,
    },
  });
  const exitCode = run.status ?? 1;
  let counts: Counts = { passed: 0, failed: 0, skipped: 0, skips: [] };
  if (existsSync(file)) counts = { skipped: 0, skips: [], ...(JSON.parse(readFileSync(file, "utf8")) as Partial<Counts>) } as Counts;
  // A skip counted without its title and reason still shows up (and is unexpected on CI).
  for (let i = counts.skips.length; i < counts.skipped; i++) counts.skips.push({ title: `(${suite}: a skipped test that was not named)`, reason: "not reported by the suite" });
  counts.skipped = counts.skips.length;
  // A suite that crashed or exited non-zero without recording a failure still failed.
  if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
  // Any outbound attempt is one more failure, whatever the tests said.
  const attempts = guard ? readEgressAttempts(guard.log) : [];
  if (attempts.length > 0) {
    console.error(`\n${suite}: ${attempts.length} outbound connection attempt(s) other than loopback:\n${attempts.map(describeAttempt).join("\n\n")}`);
    counts.failed += 1;
  }
  rows.push({ suite, counts, exitCode, seconds: Math.round((Date.now() - started) / 1000) });
}

console.log("\nsuite         passed  failed  skipped  seconds");
for (const r of rows) {
  console.log(
    `${r.suite.padEnd(12)}  ${String(r.counts.passed).padStart(6)}  ${String(r.counts.failed).padStart(6)}  ${String(r.counts.skipped).padStart(7)}  ${String(r.seconds).padStart(7)}`,
  );
}
const passed = rows.reduce((n, r) => n + r.counts.passed, 0);
const failed = rows.reduce((n, r) => n + r.counts.failed, 0);

// Every skipped test and why, so a skip is never mistaken for a pass. On CI (BEDSIDE_CI=1 from .ci/run,
// or CI set by the CI service) every tool is installed: a skip test/expectedSkips.json does not list means
// a setup step is missing, and counts as a failure.
const expected = (JSON.parse(readFileSync(join(root, "test", "expectedSkips.json"), "utf8")) as { skips: ExpectedSkip[] }).skips;
const skipReport = skipTable(
  rows.map((r) => ({ suite: r.suite, skips: r.counts.skips })),
  expected,
  onCi(),
);
for (const line of skipReport.lines) console.log(line);
if (skipReport.unexpected > 0) console.log(`\n${skipReport.message}`);
const unexpected = skipReport.unexpected;
console.log(`${passed} passed, ${failed + unexpected} failed`);
process.exit(failed + unexpected > 0 ? 1 : 0);
