/**
 * `npm run test:lint`, the lint suite of `npm test`: ESLint over the repository with the house rules of
 * eslint.config.mjs (import boundaries between folders, `vscode` only in adapters, `node-llama-cpp` only in the
 * engine's worker, settings only through src/config), and Prettier's check of the same files (.prettierrc.json;
 * `npm run format` rewrites them). Each file linted counts as one test: passed when ESLint reports no error in it
 * and Prettier finds it formatted. Counts go to $BEDSIDE_RESULTS_FILE like the mocha suites' (test/support/countingReporter.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ESLint } from "eslint";
import * as prettier from "prettier";

async function main(): Promise<number> {
  const root = resolve(__dirname, "..", "..");
  const eslint = new ESLint({ cwd: root });
  const results = await eslint.lintFiles(["."]);
  const formatter = await eslint.loadFormatter("stylish");
  const text = await formatter.format(results);
  if (text) console.log(text);
  const unformatted = new Set<string>();
  for (const r of results) {
    if (!/\.(ts|mts|mjs|cjs)$/.test(r.filePath)) continue;
    const info = await prettier.getFileInfo(r.filePath, { ignorePath: resolve(root, ".prettierignore") });
    if (info.ignored) continue;
    const options = (await prettier.resolveConfig(r.filePath)) ?? {};
    if (!(await prettier.check(readFileSync(r.filePath, "utf8"), { ...options, filepath: r.filePath }))) unformatted.add(r.filePath);
  }
  for (const f of unformatted) console.log(`${f}: not formatted as .prettierrc.json says (npm run format)`);
  const failed = results.filter((r) => r.errorCount > 0 || r.fatalErrorCount > 0 || unformatted.has(r.filePath)).length;
  const passed = results.length - failed;
  console.log(`lint: ${results.length} files, ${passed} clean, ${failed} with errors or unformatted (${unformatted.size} unformatted)`);
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
