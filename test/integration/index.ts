// Extension-side test runner: VS Code loads this file (bundled to dist/test/integration/index.js) in the
// extension host named by extensionTestsPath and calls run(). The same file serves code-server and
// @vscode/test-electron.
//
// Suites are bundled with this file, so they cannot be found on disk by a glob. They are imported
// lazily, after mocha has put describe/it on globalThis, because a suite calls describe() the moment
// it is evaluated. To add a suite, add one line to `suites` below.
import * as fs from "node:fs";
import Mocha from "mocha";
import * as vscode from "vscode";
import { installEgressGuardFromEnv } from "../support/noEgressGuard";
import { collectSkips, type SkippedTest } from "../support/skip";

const suites: ReadonlyArray<() => Promise<unknown>> = [
  () => import("./smoke.test"),
  () => import("./engine.test"),
  () => import("./completion.test"),
  () => import("./ddx.test"),
  () => import("./documents.test"),
  () => import("./models.test"),
  () => import("./privacy.test"),
  () => import("../resilience/editor.vscode"),
  () => import("./chat.test"),
  () => import("./literature.test"),
  () => import("./remote.test"),
  () => import("./gpt2Model.test"),
];

/** The line the host-side harness parses for counts; keep its shape in sync with test/support/vscodeHost. */
export const RESULTS_PREFIX = "BEDSIDE_RESULTS ";

/**
 * Under the code-server harness the extension host's console reaches the test runner mixed into the
 * workbench's own log. The harness sets BEDSIDE_TEST_LOG_MARKER and the runner's own lines start with
 * it, which tells the harness where the suite's output begins and ends. (Console methods cannot be
 * wrapped instead: VS Code's extension host defines them with a setter that ignores assignments.)
 */
const marker = process.env.BEDSIDE_TEST_LOG_MARKER ?? "";

function say(line: string): void {
  console.log(`${marker}${line}`);
}

/**
 * The counts, as a console line (code-server harness: the console comes back through the page) and,
 * when BEDSIDE_RUNNER_RESULTS_FILE is set, as a JSON file (@vscode/test-electron only passes stdout through).
 */
function reportResults(results: { passed: number; failed: number; skips?: SkippedTest[] }): void {
  say(`${RESULTS_PREFIX}${JSON.stringify(results)}`);
  const file = process.env.BEDSIDE_RUNNER_RESULTS_FILE;
  if (file) fs.writeFileSync(file, `${JSON.stringify(results)}\n`);
}

const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } = Mocha.Runner.constants;

/** Spec-like lines through console.log, which the extension host forwards to whoever launched VS Code. */
class ConsoleSpecReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    let depth = 0;
    let passed = 0;
    const failures: Array<{ title: string; error: unknown }> = [];
    const skips = collectSkips(runner);
    const indent = (): string => "  ".repeat(depth);

    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (suite.root) return;
      say(`${indent()}${suite.title}`);
      depth++;
    });
    runner.on(EVENT_SUITE_END, (suite: Mocha.Suite) => {
      if (!suite.root) depth--;
    });
    runner.on(EVENT_TEST_PASS, (test: Mocha.Test) => {
      passed++;
      say(`${indent()}✓ ${test.title} (${test.duration ?? 0} ms)`);
    });
    runner.on(EVENT_TEST_PENDING, (test: Mocha.Test) => {
      say(`${indent()}- ${test.title} (skipped: ${skips.at(-1)?.reason ?? "no reason given"})`);
    });
    runner.on(EVENT_TEST_FAIL, (test: Mocha.Runnable, error: unknown) => {
      failures.push({ title: test.fullTitle(), error });
      say(`${indent()}✗ ${failures.length}) ${test.title}`);
    });
    runner.once(EVENT_RUN_END, () => {
      failures.forEach(({ title, error }, index) => {
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        say(`\n${index + 1}) ${title}\n${detail}`);
      });
      say(`\n${passed} passing, ${failures.length} failing, ${skips.length} skipped`);
      reportResults({ passed, failed: failures.length, skips });
    });
  }
}

function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export function run(): Promise<void> {
  return runSuites(suites);
}

/** Runs the given suites in this extension host (the installed-.vsix smoke runner passes its own). */
export async function runSuites(suites: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  // Under `npm test`: record and block any non-loopback connection from the extension host and its workers.
  installEgressGuardFromEnv();
  say(`Bedside integration suite (VS Code ${vscode.version}, Node ${process.version})`);
  const mocha = new Mocha({
    ui: "bdd",
    color: false,
    reporter: ConsoleSpecReporter,
    // A real editor, a model worker and webviews: generous by default, BEDSIDE_TEST_TIMEOUT_MS to tune.
    timeout: numberFromEnv("BEDSIDE_TEST_TIMEOUT_MS", 60_000),
    slow: 5_000,
  });
  if (process.env.BEDSIDE_TEST_GREP) mocha.grep(process.env.BEDSIDE_TEST_GREP);

  mocha.suite.emit(Mocha.Suite.constants.EVENT_FILE_PRE_REQUIRE, globalThis, "bedside-integration", mocha);
  try {
    for (const load of suites) await load();
  } catch (error) {
    console.error("A suite failed to load:", error);
    reportResults({ passed: 0, failed: 1 });
    throw error;
  }

  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}
