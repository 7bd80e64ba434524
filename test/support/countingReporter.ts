/**
 * Mocha's spec output, plus the suite's counts and its skipped tests (full title and reason, see
 * test/support/skip.ts) written to $BEDSIDE_RESULTS_FILE so `npm test` can add up every suite into one
 * "N passed, N failed" line and list what was skipped and why.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Mocha from "mocha";
import { collectSkips } from "./skip";

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    const skips = collectSkips(runner);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (skips.length > 0) {
        console.log(`\n  skipped (${skips.length}):`);
        for (const s of skips) console.log(`    - ${s.title}: ${s.reason}`);
      }
      const file = process.env.BEDSIDE_RESULTS_FILE;
      if (!file) return;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ passed, failed, skipped: skips.length, skips }));
    });
  }
}

export default CountingReporter;
