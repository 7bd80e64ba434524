/**
 * Skips that say why. A test (or a `before`/`beforeEach` hook) that cannot check what its name promises
 * on this machine calls `skipBecause(this, "reason")` instead of passing: the reason travels with the
 * skipped tests to the results file of its suite, `npm test` prints every skipped test with its reason
 * before the totals, and on CI a skip that test/expectedSkips.json does not list counts as a failure.
 *
 * Pure: imports only mocha's types and constants, so the extension-host runner (test/integration/index.ts)
 * bundles it as well.
 */
import Mocha from "mocha";

/** One skipped test: its full title (suites and test, as mocha's fullTitle()) and why it was skipped. */
export interface SkippedTest {
  title: string;
  reason: string;
}

/** Said when a test was skipped without skipBecause (a bare this.skip(), it.skip, describe.skip). */
export const NO_REASON = "no reason given (skipped without skipBecause)";

/**
 * The reason is kept on the runnable or suite itself under a registry symbol, so it survives however the
 * reporter and the tests were loaded (CommonJS or ESM copies of this module, a bundle in the extension host).
 */
const REASON = Symbol.for("bedside.skipReason");
type WithReason = { [REASON]?: string };

/**
 * Records `reason` and skips: in a test, that test; in a `before` hook, every test of the suite (mocha's
 * own rule); in a `beforeEach` hook, the current test. Never returns.
 */
export function skipBecause(ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test;
  if ((runnable as { type?: string } | undefined)?.type === "hook") {
    // `before`: all tests of this suite and the suites in it; `beforeEach`: the test about to run.
    const isEach = /"before each"/.test(runnable!.title);
    const target = (isEach ? ctx.currentTest : runnable!.parent) as WithReason | undefined;
    if (target) target[REASON] = reason;
  } else if (runnable) {
    (runnable as WithReason)[REASON] = reason;
  }
  ctx.skip();
}

/** Why a skipped test was skipped: its own reason, else its nearest suite's, else NO_REASON. */
export function skipReasonOf(test: Mocha.Runnable): string {
  const own = (test as WithReason)[REASON];
  if (own) return own;
  for (let suite: Mocha.Suite | undefined = test.parent; suite; suite = suite.parent) {
    const reason = (suite as WithReason)[REASON];
    if (reason) return reason;
  }
  return NO_REASON;
}

/** Collects every skipped test of a run, with its reason, as mocha reports them. */
export function collectSkips(runner: Mocha.Runner): SkippedTest[] {
  const skips: SkippedTest[] = [];
  runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test: Mocha.Test) => {
    skips.push({ title: test.fullTitle(), reason: skipReasonOf(test) });
  });
  return skips;
}

/** An entry of test/expectedSkips.json: a test (or a suite: every test under it) that may skip on CI. */
export interface ExpectedSkip {
  /** Full title of the test (mocha's fullTitle()), or of a suite when `suite` is true. */
  title: string;
  /** The title names a suite: every test under it may skip (its full title starts with the title and a space). */
  suite?: boolean;
  /** Why a CI machine cannot run it (no GPU, no desktop VS Code download, ...). */
  why: string;
}

/** Whether `skip` is one of the expected ones. */
export function isExpectedSkip(skip: SkippedTest, expected: readonly ExpectedSkip[]): boolean {
  return expected.some((e) => (e.suite ? skip.title.startsWith(`${e.title} `) : skip.title === e.title));
}

/**
 * Whether this run is CI: BEDSIDE_CI=1 (what .ci/run exports), or the CI variable most CI services set
 * (GitHub Actions, GitLab, Buildkite, ...), unless it says "false" or "0".
 */
export function onCi(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.BEDSIDE_CI !== undefined && env.BEDSIDE_CI !== "") return env.BEDSIDE_CI !== "0" && env.BEDSIDE_CI.toLowerCase() !== "false";
  const ci = env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/**
 * The table `npm test` prints before its last line: every skipped test by suite, with its reason. On CI,
 * each skip that `expected` does not list is marked and counted in `unexpected` (a failure in the totals).
 */
export function skipTable(
  suites: ReadonlyArray<{ suite: string; skips: readonly SkippedTest[] }>,
  expected: readonly ExpectedSkip[],
  ci: boolean,
): { lines: string[]; unexpected: number; message: string } {
  const all = suites.flatMap((s) => s.skips.map((skip) => ({ suite: s.suite, skip })));
  const lines: string[] = [];
  let unexpected = 0;
  if (all.length === 0) return { lines, unexpected, message: "" };
  lines.push("", `skipped tests (${all.length})${ci ? "; on CI, a skip test/expectedSkips.json does not list counts as a failure" : ""}`);
  const titleWidth = Math.min(100, Math.max(4, ...all.map((a) => a.skip.title.length)));
  const suiteWidth = Math.max(5, ...all.map((a) => a.suite.length));
  lines.push(`${"suite".padEnd(suiteWidth)}  ${"test".padEnd(titleWidth)}  reason`);
  for (const { suite, skip } of all) {
    const allowed = isExpectedSkip(skip, expected);
    if (ci && !allowed) unexpected++;
    const title = skip.title.length > titleWidth ? `${skip.title.slice(0, titleWidth - 1)}…` : skip.title;
    lines.push(`${suite.padEnd(suiteWidth)}  ${title.padEnd(titleWidth)}  ${skip.reason}${ci && !allowed ? "  <- UNEXPECTED ON CI: counted as a failure" : ""}`);
  }
  lines.push(`${all.length} skipped`);
  const message =
    unexpected > 0
      ? `${unexpected} test(s) skipped on CI without being listed in test/expectedSkips.json: a setup step is missing ` +
        `(.ci/run installs every tool; see each reason above), or the skip is expected there and belongs in that list with why.`
      : "";
  return { lines, unexpected, message };
}
