/**
 * Mocha's spec output, plus the suite's counts written to $BEDSIDE_RESULTS_FILE so `npm test` can add up
 * every suite into one "N passed, N failed" line.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import Mocha from "mocha";

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, () => skipped++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.BEDSIDE_RESULTS_FILE;
      if (!file) return;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ passed, failed, skipped }));
    });
  }
}

export default CountingReporter;
