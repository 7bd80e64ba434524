/**
 * `npm run test:lint`, the lint suite of `npm test`: ESLint over the repository with the house rules of
 * eslint.config.mjs (import boundaries between folders, `vscode` only in adapters, `node-llama-cpp` only in the
 * engine's worker, settings only through src/config). Each file linted counts as one test: passed when ESLint
 * reports no error in it. Counts go to $BEDSIDE_RESULTS_FILE like the mocha suites' (test/support/countingReporter.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ESLint } from "eslint";

async function main(): Promise<number> {
  const root = resolve(__dirname, "..", "..");
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(["."]);
  const formatter = await eslint.loadFormatter("stylish");
  const text = await formatter.format(results);
  if (text) console.log(text);
  const failed = results.filter((r) => r.errorCount > 0 || r.fatalErrorCount > 0).length;
  const passed = results.length - failed;
  console.log(`lint: ${results.length} files, ${passed} clean, ${failed} with errors`);
  const file = process.env.BEDSIDE_RESULTS_FILE;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ passed, failed, skipped: 0, skips: [] }));
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
